"""The in-app list behind the header bell: the last 50 events and how many are unread."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from saas.models import NotificationAttempt, NotificationDelivery, NotificationOutbox
from saas.models.notifications import PENDING
from saas.services.notifications.preferences import settings_for

INBOX_SIZE = 50
LOG_SIZE = 100


def unread_count(session: Session, user_id: int, seen_at: datetime | None) -> int:
    """Events of the user newer than the last look at the list (at most INBOX_SIZE)."""
    query = select(NotificationOutbox.id).where(NotificationOutbox.user_id == user_id)
    if seen_at is not None:
        query = query.where(NotificationOutbox.created_at > seen_at)
    limited = query.order_by(NotificationOutbox.id.desc()).limit(INBOX_SIZE).subquery()
    return session.scalar(select(func.count()).select_from(limited)) or 0


def recent(session: Session, user_id: int) -> list[NotificationOutbox]:
    """The user's last INBOX_SIZE events, newest first."""
    return list(
        session.scalars(
            NotificationOutbox.owned_by(user_id)
            .order_by(NotificationOutbox.id.desc())
            .limit(INBOX_SIZE)
        )
    )


def mark_seen(session: Session, user_id: int, now: datetime) -> None:
    """Everything up to now is read."""
    settings_for(session, user_id).seen_at = now


def delivery_log(session: Session, user_id: int) -> list[tuple]:
    """The last LOG_SIZE tries: (attempt, delivery, event), newest first."""
    return list(
        session.execute(
            select(NotificationAttempt, NotificationDelivery, NotificationOutbox)
            .join(NotificationDelivery, NotificationAttempt.delivery_id == NotificationDelivery.id)
            .join(NotificationOutbox, NotificationDelivery.outbox_id == NotificationOutbox.id)
            .where(NotificationAttempt.user_id == user_id)
            .order_by(NotificationAttempt.id.desc())
            .limit(LOG_SIZE)
        ).all()
    )


def resend(session: Session, delivery: NotificationDelivery, now: datetime) -> None:
    """Queue the delivery again, now (same event id: receivers may drop it as a duplicate)."""
    delivery.status = PENDING
    delivery.next_attempt_at = now
    delivery.lease_until = None
