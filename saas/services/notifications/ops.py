"""Operator alerts: runner overdue, failures across many bots, payments, database errors.

They are outbox rows without a user, delivered to OPS_ALERT_EMAIL and the ops webhook. Each kind
is rate-limited by its dedupe key: at most one per kind per OPS_ALERT_MINUTES window.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from notifications import events as catalogue
from notifications.base import Event
from saas.models import BOT_RUNNING, Bot, BotRun, NotificationOutbox
from saas.services.notifications.outbox import enqueue, enqueue_for_bot

logger = logging.getLogger("dcabot.notifications.ops")
DEFAULT_WINDOW_MINUTES = 30
OVERDUE_MINUTES = 10
FAILING_BOTS = 5
FAILURE_WINDOW = timedelta(hours=1)


def alert(
    session: Session,
    kind: str,
    fields: Mapping,
    *,
    now: datetime,
    window_minutes: int = DEFAULT_WINDOW_MINUTES,
) -> bool:
    """An operator alert unless one of this kind was raised in the current window."""
    bucket = int(now.timestamp() // (max(window_minutes, 1) * 60))
    row = enqueue(session, kind, fields, now=now, dedupe_key=f"ops:{kind}:{bucket}")
    return row is not None


def payment_failed(session: Session, user, *, now: datetime) -> None:
    """A customer's payment failed (called by the Stripe webhook handler)."""
    alert(
        session,
        catalogue.OPS_PAYMENT_FAILED,
        {"user_id": user.id, "email": user.email, "plan": user.plan},
        now=now,
    )


def check_health(session: Session, now: datetime, config: Mapping) -> dict:
    """Overdue runs (told to owners and operators) and failures across many bots."""
    overdue_after = timedelta(minutes=int(config.get("RUN_OVERDUE_MINUTES") or OVERDUE_MINUTES))
    window = int(config.get("OPS_ALERT_MINUTES") or DEFAULT_WINDOW_MINUTES)
    late = session.execute(
        select(Bot.id, Bot.next_run_at).where(
            Bot.status == BOT_RUNNING,
            Bot.next_run_at.is_not(None),
            Bot.next_run_at < now - overdue_after,
        )
    ).all()
    for bot_id, due in late:
        minutes = int((now - due).total_seconds() // 60)
        enqueue_for_bot(
            session,
            bot_id,
            Event(catalogue.RUN_OVERDUE, {"minutes_late": minutes, "due": due}),
            now=now,
            dedupe_key=f"overdue:{bot_id}:{due.isoformat()}",
        )
    if late:
        alert(
            session,
            catalogue.OPS_RUNNER_OVERDUE,
            {"overdue_bots": len(late), "oldest_due": min(d for _, d in late)},
            now=now,
            window_minutes=window,
        )
    failing = session.scalar(
        select(func.count(func.distinct(BotRun.bot_id))).where(
            BotRun.started_at >= now - FAILURE_WINDOW, BotRun.outcome == "error"
        )
    )
    threshold = int(config.get("OPS_FAILING_BOTS") or FAILING_BOTS)
    if failing and failing >= threshold:
        alert(
            session,
            catalogue.OPS_REPEATED_FAILURES,
            {"failing_bots": failing, "window_minutes": int(FAILURE_WINDOW.total_seconds() // 60)},
            now=now,
            window_minutes=window,
        )
    return {"overdue": len(late), "failing_bots": failing or 0}


class DatabaseErrorAlarm:
    """When the database itself fails, the alert cannot go through the outbox: mail it directly.

    Rate-limited in the process (one per window); the worker calls it from its error path.
    """

    def __init__(
        self,
        send: Callable[[Event], None],
        window_minutes: int = DEFAULT_WINDOW_MINUTES,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.send = send
        self.window = window_minutes * 60
        self.clock = clock
        self.last: float | None = None

    def __call__(self, error: BaseException) -> bool:
        """Tell the operator unless told within the window; True when sent."""
        now = self.clock()
        if self.last is not None and now - self.last < self.window:
            return False
        self.last = now
        try:
            self.send(Event(catalogue.OPS_DATABASE_ERROR, {"error": type(error).__name__}))
        except Exception:  # noqa: BLE001 - the alarm must not hide the error it reports
            logger.exception("could not send the database error alert")
            return False
        return True


def recent_ops_alerts(session: Session, limit: int = 50) -> list[NotificationOutbox]:
    """The latest operator alerts (admin pages may list them)."""
    return list(
        session.scalars(
            select(NotificationOutbox)
            .where(NotificationOutbox.user_id.is_(None))
            .order_by(NotificationOutbox.id.desc())
            .limit(limit)
        )
    )
