"""The audit trail of every tenant for the admin page (cross-tenant)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from saas.models import AuditLog, User
from saas.services.admin.common import (
    DEFAULT_PER_PAGE,
    Page,
    email_matches,
    page_of,
    paginate,
    valid_id,
)


@dataclass(frozen=True)
class AuditFilters:
    """What the audit page is narrowed to (all optional)."""

    actor: str = ""  # e-mail or part of it
    action: str = ""  # a prefix such as "admin." or "login"
    target_type: str = ""
    target_id: int | None = None
    day_from: date | None = None
    day_to: date | None = None


def _day(value: date) -> datetime:
    """Midnight UTC."""
    return datetime.combine(value, time(), tzinfo=UTC)


def all_audit_rows(
    session: Session, filters: AuditFilters, page: int = 1, per_page: int = DEFAULT_PER_PAGE
) -> Page:
    """A page of every audit row (cross-tenant), newest first, with the actor's address."""
    actor = aliased(User)
    query = select(AuditLog, actor.email).outerjoin(actor, actor.id == AuditLog.user_id)
    count = select(AuditLog.id).outerjoin(actor, actor.id == AuditLog.user_id)
    conditions = []
    if filters.actor.strip():
        conditions.append(email_matches(actor.email, filters.actor))
    if filters.action.strip():
        conditions.append(AuditLog.action.like(f"{filters.action.strip()}%"))
    if filters.target_type:
        conditions.append(AuditLog.target_type == filters.target_type)
    if valid_id(filters.target_id):
        conditions.append(AuditLog.target_id == filters.target_id)
    if filters.day_from:
        conditions.append(AuditLog.created_at >= _day(filters.day_from))
    if filters.day_to:
        conditions.append(AuditLog.created_at < _day(filters.day_to) + timedelta(days=1))
    query = query.where(*conditions).order_by(AuditLog.created_at.desc(), AuditLog.id.desc())
    rows, total, more, page = paginate(session, query, count.where(*conditions), page, per_page)
    return page_of([tuple(row) for row in rows], page, per_page, total, more)
