"""A user's own account trail (Account → Account activity): scoped to that user alone."""

from __future__ import annotations

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, aliased

from saas.models import AuditLog, User
from saas.services.admin.common import DEFAULT_PER_PAGE, Page, page_of, paginate


def account_trail(session: Session, user, page: int = 1, per_page: int = DEFAULT_PER_PAGE) -> Page:
    """The user's own account trail: what they did, and what staff did to their account.

    Staff actors are shown by role, not by address; rows about other users never appear.
    """
    actor = aliased(User)
    mine = or_(
        AuditLog.user_id == user.id,
        and_(AuditLog.target_type == "user", AuditLog.target_id == user.id),
    )
    query = (
        select(AuditLog, actor.id, actor.role)
        .outerjoin(actor, actor.id == AuditLog.user_id)
        .where(mine)
        .order_by(AuditLog.created_at.desc(), AuditLog.id.desc())
    )
    rows, total, more, page = paginate(
        session, query, select(AuditLog.id).where(mine), page, per_page
    )
    items = []
    for row, actor_id, role in rows:
        who = "you" if actor_id == user.id else (f"an {role}" if role == "admin" else "support")
        items.append((row, who if actor_id is not None else "the system"))
    return page_of(items, page, per_page, total, more)
