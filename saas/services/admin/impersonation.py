"""Viewing as a user ("impersonation"): the audit rows of its start and end.

The session side lives in saas.admin.impersonation; here only what is recorded, so the trail
shows who looked at whose account, when and for how long.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from saas.services.accounts.audit import record_audit
from saas.services.admin.accounts import Actor, AdminActionError


def start_impersonation(session: Session, target, *, now: datetime, actor: Actor) -> None:
    """Audit the start of a read-only view as ``target``."""
    if target.id == actor.user.id:
        raise AdminActionError("You are already yourself.")
    if target.is_staff and not actor.user.is_admin:
        raise AdminActionError("Support cannot view as another member of staff.")
    record_audit(
        actor.user,
        "admin.impersonation_started",
        target=target,
        after={"mode": "read-only", "email": target.email},
        ip=actor.ip,
        session=session,
        now=now,
    )


def end_impersonation(
    session: Session, target_id: int, started_at: datetime, *, now: datetime, actor: Actor
) -> None:
    """Audit the end of a view as a user, with how long it lasted."""
    record_audit(
        actor.user,
        "admin.impersonation_ended",
        target=("user", target_id),
        after={"seconds": max(0, int((now - started_at).total_seconds()))},
        ip=actor.ip,
        session=session,
        now=now,
    )
