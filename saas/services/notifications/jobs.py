"""Reading claimed deliveries into jobs, and marking what happened to each try."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from notifications import events as catalogue
from notifications.base import Event
from saas.models import (
    NotificationAttempt,
    NotificationDelivery,
    NotificationOutbox,
    NotificationSetting,
    User,
    WebhookEndpoint,
)
from saas.models.notifications import DEAD, PENDING, SENT
from saas.plans import limits_for, load_plans
from saas.security import DecryptionError, user_context
from saas.services.notifications.outbox import enqueue
from saas.services.notifications.preferences import in_quiet_hours
from saas.services.notifications.senders import Job, Outcome
from saas.services.notifications.webhooks import endpoint_secret

logger = logging.getLogger("dcabot.notifications.worker")
PLAN_GATED = {"telegram": "telegram", "webhook": "webhooks"}
CHANNEL_NAMES = {"telegram": "Telegram", "webhook": "Webhook"}


def _telegram_token(setting: NotificationSetting, ctx) -> str:
    """The user's own bot token, else the platform's."""
    if setting.telegram_bot_token_encrypted:
        if ctx.ring is None:
            return ""
        try:
            return ctx.ring.decrypt(
                user_context(setting.user_id, "telegram"), setting.telegram_bot_token_encrypted
            )
        except DecryptionError:
            return ""
    return ctx.config.get("TELEGRAM_BOT_TOKEN") or ""


def load_jobs(session: Session, ctx, ids: list[int], now: datetime) -> list[Job]:
    """The claimed deliveries with their event, owner, settings and endpoint."""
    rows = session.execute(
        select(NotificationDelivery, NotificationOutbox)
        .join(NotificationOutbox, NotificationDelivery.outbox_id == NotificationOutbox.id)
        .where(NotificationDelivery.id.in_(ids))
        .order_by(NotificationDelivery.id)
    ).all()
    user_ids = {d.user_id for d, _ in rows if d.user_id is not None}
    users = {u.id: u for u in session.scalars(select(User).where(User.id.in_(user_ids)))}
    settings = {
        s.user_id: s
        for s in session.scalars(
            select(NotificationSetting).where(NotificationSetting.user_id.in_(user_ids))
        )
    }
    plans = ctx.plans or load_plans()
    jobs = []
    for delivery, event in rows:
        job = Job(
            delivery_id=delivery.id,
            channel=delivery.channel,
            event_id=event.event_id,
            event=Event(event.kind, dict(event.fields or {})),
            created_at=event.created_at,
            severity=event.severity,
            user_id=delivery.user_id,
            bot_id=event.bot_id,
            endpoint_id=delivery.endpoint_id,
        )
        user, setting = users.get(delivery.user_id), settings.get(delivery.user_id)
        if delivery.channel == "ops_webhook":
            job.url = ctx.config.get("OPS_ALERT_WEBHOOK_URL") or ""
            job.secret = ctx.config.get("OPS_ALERT_WEBHOOK_SECRET") or ""
        if user is not None:
            job.email = user.email
            gate = PLAN_GATED.get(delivery.channel)
            job.allowed = gate is None or bool(getattr(limits_for(user, plans, now), gate))
        if setting is not None:
            job.digest_minutes = setting.email_digest_minutes or 0
            job.last_email_at = setting.last_email_at
            job.quiet_until = in_quiet_hours(setting, now)
            if delivery.channel == "telegram":
                job.telegram_token = _telegram_token(setting, ctx)
                job.telegram_chat_id = setting.telegram_chat_id or ""
        if delivery.channel == "webhook" and delivery.endpoint_id is not None:
            endpoint = session.get(WebhookEndpoint, delivery.endpoint_id)
            if endpoint is not None and endpoint.enabled and ctx.ring is None:
                job.skip_reason = "ENCRYPTION_KEY is not set: the secret cannot be read"
            elif endpoint is not None and endpoint.enabled:
                job.url = endpoint.url
                job.secret = endpoint_secret(endpoint, ctx.ring)
            else:
                job.skip_reason = "endpoint disabled"
        jobs.append(job)
    return jobs


def stop_channel(session: Session, job: Job, now: datetime) -> None:
    """The plan no longer includes the channel: switch it off and tell the owner once."""
    setting = session.scalar(
        select(NotificationSetting).where(NotificationSetting.user_id == job.user_id)
    )
    if setting is None:
        return
    flag = "telegram_enabled" if job.channel == "telegram" else "webhooks_enabled"
    if not getattr(setting, flag):
        return  # already stopped (and told) by an earlier delivery
    setattr(setting, flag, False)
    name = CHANNEL_NAMES.get(job.channel, job.channel)
    enqueue(
        session,
        catalogue.CHANNEL_STOPPED,
        {"channel": name, "reason": f"your plan no longer includes {name} notifications"},
        now=now,
        user_id=job.user_id,
    )


def _disable_endpoint(session: Session, endpoint: WebhookEndpoint, now: datetime) -> None:
    """Past the retry window: the endpoint is off, its pending deliveries dead, its owner told."""
    endpoint.enabled = False
    endpoint.disabled_reason = (
        f"every delivery failed since {endpoint.failing_since:%Y-%m-%d %H:%M} UTC"
    )
    session.execute(
        update(NotificationDelivery)
        .where(
            NotificationDelivery.endpoint_id == endpoint.id,
            NotificationDelivery.status == PENDING,
        )
        .values(status=DEAD, lease_until=None)
    )
    enqueue(
        session,
        catalogue.WEBHOOK_DISABLED,
        {"url": endpoint.url, "reason": endpoint.disabled_reason},
        now=now,
        user_id=endpoint.user_id,
    )


def _record_attempt(session: Session, job: Job, outcome: Outcome, now: datetime) -> None:
    """One row of the delivery log."""
    session.execute(
        insert(NotificationAttempt).values(
            delivery_id=job.delivery_id,
            user_id=job.user_id,
            channel=job.channel,
            at=now,
            ok=outcome.ok,
            response_code=outcome.response_code,
            latency_ms=outcome.latency_ms,
            error=outcome.error or None,
        )
    )


def _mark_sent(session: Session, job: Job, outcome: Outcome, now: datetime) -> str:
    """The common case in plain statements (no objects loaded): sent, logged, failures forgotten."""
    done = session.execute(
        update(NotificationDelivery)
        .where(NotificationDelivery.id == job.delivery_id)
        .values(
            status=SENT,
            sent_at=now,
            lease_until=None,
            last_error=None,
            response_code=outcome.response_code,
            attempts=NotificationDelivery.attempts + 1,
        )
    )
    if not done.rowcount:
        return "gone"
    _record_attempt(session, job, outcome, now)
    if job.endpoint_id is not None:
        session.execute(
            update(WebhookEndpoint)
            .where(
                WebhookEndpoint.id == job.endpoint_id, WebhookEndpoint.failing_since.is_not(None)
            )
            .values(failing_since=None)
        )
    if job.channel == "email" and job.user_id is not None:
        session.execute(
            update(NotificationSetting)
            .where(NotificationSetting.user_id == job.user_id)
            .values(last_email_at=now)
        )
    return SENT


def mark(
    session: Session, ctx, job: Job, outcome: Outcome | None, now: datetime, *, status=None
) -> str:
    """Record the try and move the delivery on: sent, retried later, dead or skipped."""
    if outcome is not None and outcome.ok:
        return _mark_sent(session, job, outcome, now)
    delivery = session.get(NotificationDelivery, job.delivery_id)
    if delivery is None:
        return "gone"
    delivery.lease_until = None
    if outcome is None:
        delivery.status = status
        return status
    from saas.services.notifications.worker import backoff  # noqa: PLC0415 - one cycle

    _record_attempt(session, job, outcome, now)
    delivery.attempts += 1
    delivery.response_code = outcome.response_code
    delivery.last_error = outcome.error[:300]
    logger.warning(
        "delivery failed",
        extra={"channel": job.channel, "delivery": job.delivery_id, "error": outcome.error},
    )
    endpoint = session.get(WebhookEndpoint, job.endpoint_id) if job.endpoint_id else None
    if endpoint is not None and endpoint.enabled:
        endpoint.failing_since = endpoint.failing_since or now
        if now - endpoint.failing_since >= ctx.retry_window:
            _disable_endpoint(session, endpoint, now)
            delivery.status = DEAD
            return DEAD
    if now - job.created_at >= ctx.retry_window:
        delivery.status = DEAD
        return DEAD
    delivery.next_attempt_at = now + backoff(delivery.attempts)
    return "retry"
