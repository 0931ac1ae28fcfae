"""The delivery worker: fan out new events, claim due deliveries, send them, mark each try.

A claim is a lease (``lease_until``) committed before anything is sent; the outcome is marked in
a new transaction after. A worker killed between the two leaves its lease to expire, and the
next worker sends again: at most one duplicate, with the same event id for receivers to drop.
Failures retry with exponential backoff for WEBHOOK_RETRY_HOURS (24); a webhook endpoint that
failed for that long is disabled and its owner told. Nothing here can affect trading.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import requests
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from notifications.ssrf import Resolver
from saas.db import session_scope
from saas.models import NotificationDelivery
from saas.models.notifications import PENDING, SKIPPED
from saas.services.notifications import ops
from saas.services.notifications.dispatch import dispatch
from saas.services.notifications.jobs import load_jobs, mark, stop_channel
from saas.services.notifications.senders import (
    Job,
    Outcome,
    send_email,
    send_telegram,
    send_webhook,
)
from saas.services.notifications.summaries import daily_summaries

logger = logging.getLogger("dcabot.notifications.worker")
LEASE = timedelta(seconds=60)
FIRST_RETRY_S = 30
MAX_RETRY_S = 3600
DEFAULT_RATES = {"telegram": 25.0, "email": 10.0, "webhook": 100.0}


@dataclass
class DeliveryContext:
    """What a pass needs: sessions, settings, the key ring, the mail backend, injectables."""

    sessions: sessionmaker[Session]
    config: Mapping
    ring: object
    send_mail: Callable
    plans: object | None = None
    resolver: Resolver | None = None
    sleep: Callable[[float], None] = time.sleep
    monotonic: Callable[[], float] = time.monotonic
    http: object | None = None
    _last_send: dict = field(default_factory=dict)

    @property
    def allow_loopback(self) -> bool:
        """HTTP to loopback receivers outside production (or when the operator says so)."""
        from saas.config import PRODUCTION  # noqa: PLC0415

        return self.config.get("ENV") != PRODUCTION or bool(
            self.config.get("WEBHOOK_ALLOW_LOOPBACK")
        )

    @property
    def retry_window(self) -> timedelta:
        """How long a failing delivery (and endpoint) is retried."""
        return timedelta(hours=float(self.config.get("WEBHOOK_RETRY_HOURS") or 24))

    def throttle(self, channel: str) -> None:
        """Per-channel rate limit: space sends of a channel at least 1/rate apart."""
        rate = float(self.config.get(f"DELIVER_RATE_{channel.upper()}") or 0) or DEFAULT_RATES.get(
            channel.removeprefix("ops_"), 10.0
        )
        gap = 1.0 / rate
        last = self._last_send.get(channel)
        now = self.monotonic()
        if last is not None and now - last < gap:
            self.sleep(gap - (now - last))
        self._last_send[channel] = self.monotonic()


def context_from_app(app, **overrides) -> DeliveryContext:
    """A context over a Flask app's engine, settings and mail backend."""
    from saas.db import make_session_factory  # noqa: PLC0415
    from saas.extensions import db  # noqa: PLC0415
    from saas.mail import send_message  # noqa: PLC0415

    with app.app_context():
        engine = db.engine
    values = {
        "sessions": make_session_factory(engine),
        "config": app.config,
        "ring": _ring(app.config.get("ENCRYPTION_KEY")),
        "send_mail": lambda message: send_message(app, message),
        "http": requests.Session(),  # keep-alive to receivers across a pass
        **overrides,
    }
    return DeliveryContext(**values)


def _ring(key: str | None):
    """The key ring, or None without ENCRYPTION_KEY (then only secrets need it, not delivery)."""
    from saas.security import EncryptionKeyError, KeyRing  # noqa: PLC0415

    try:
        return KeyRing.from_string(key)
    except EncryptionKeyError:
        return None


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, ... capped at an hour."""
    return timedelta(seconds=min(FIRST_RETRY_S * 2 ** max(attempts - 1, 0), MAX_RETRY_S))


def claim(session: Session, now: datetime, *, limit: int) -> list[int]:
    """Lease up to ``limit`` due deliveries to this worker (the caller commits the lease)."""
    query = (
        select(NotificationDelivery.id)
        .where(
            NotificationDelivery.status == PENDING,
            NotificationDelivery.next_attempt_at <= now,
            or_(
                NotificationDelivery.lease_until.is_(None),
                NotificationDelivery.lease_until < now,
            ),
        )
        .order_by(NotificationDelivery.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    ids = list(session.scalars(query))
    if ids:
        session.execute(
            update(NotificationDelivery)
            .where(NotificationDelivery.id.in_(ids))
            .values(lease_until=now + LEASE)
        )
    return ids


def _send_group(ctx: DeliveryContext, jobs: list[Job], now: datetime) -> list[tuple[Job, Outcome]]:
    """Send jobs of one channel and user; e-mails may become one digest."""
    first = jobs[0]
    if first.channel in ("email", "ops_email"):
        to = first.email or ctx.config.get("OPS_ALERT_EMAIL", "")
        groups = [jobs] if first.digest_minutes > 0 else [[j] for j in jobs]
        results = []
        for group in groups:
            ctx.throttle(first.channel)
            outcome = send_email(ctx, group, to)
            results.extend((j, outcome) for j in group)
        return results
    results = []
    for job in jobs:
        ctx.throttle(job.channel)
        sender = send_telegram if job.channel == "telegram" else send_webhook
        results.append((job, sender(ctx, job)))
    return results


def _deferral(job: Job, now: datetime) -> datetime | None:
    """When a job must wait: quiet hours (not for critical events) or the e-mail digest."""
    if job.channel in ("telegram", "email") and job.quiet_until and job.severity != "critical":
        return job.quiet_until
    if job.channel == "email" and job.digest_minutes > 0 and job.last_email_at is not None:
        ready = job.last_email_at + timedelta(minutes=job.digest_minutes)
        if ready > now:
            return ready
    return None


def process(ctx: DeliveryContext, ids: list[int], now: datetime) -> dict:
    """Send the claimed deliveries and mark every outcome; counts by result."""
    counts: dict[str, int] = defaultdict(int)
    with ctx.sessions() as session:
        jobs = load_jobs(session, ctx, ids, now)
    groups: dict[tuple, list[Job]] = defaultdict(list)
    for job in jobs:
        if job.skip_reason:
            with session_scope(ctx.sessions) as session:
                mark(session, ctx, job, None, now, status=SKIPPED)
            counts[SKIPPED] += 1
            continue
        if not job.allowed:
            with session_scope(ctx.sessions) as session:
                stop_channel(session, job, now)
                mark(session, ctx, job, None, now, status=SKIPPED)
            counts[SKIPPED] += 1
            continue
        wait = _deferral(job, now)
        if wait is not None:
            with session_scope(ctx.sessions) as session:
                session.execute(
                    update(NotificationDelivery)
                    .where(NotificationDelivery.id == job.delivery_id)
                    .values(next_attempt_at=wait, lease_until=None)
                )
            counts["deferred"] += 1
            continue
        groups[(job.channel, job.user_id, job.endpoint_id)].append(job)
    for group in groups.values():
        for job, outcome in _send_group(ctx, group, now):
            with session_scope(ctx.sessions) as session:
                status = mark(session, ctx, job, outcome, now)
            counts[status] += 1
    return dict(counts)


def deliver_pass(ctx: DeliveryContext, now: datetime, *, batch: int = 200) -> dict:
    """One pass: health checks, fan-out, then the due deliveries in batches until none is left."""
    with session_scope(ctx.sessions) as session:
        health = ops.check_health(session, now, ctx.config)
        health["summaries"] = daily_summaries(session, now)
    with session_scope(ctx.sessions) as session:
        fanned = dispatch(session, ctx.config, now=now)
    summary: dict = {"dispatched": fanned, **health}
    while True:
        with session_scope(ctx.sessions) as session:
            ids = claim(session, now, limit=batch)
        if not ids:
            break
        for key, value in process(ctx, ids, now).items():
            summary[key] = summary.get(key, 0) + value
        if len(ids) < batch:
            with session_scope(ctx.sessions) as session:
                fanned = dispatch(session, ctx.config, now=now)  # notices made by this pass
            if not fanned:
                break
    return summary
