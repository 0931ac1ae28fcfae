"""Sending one claimed delivery: the job read from the database, then the channel's call.

Nothing here holds a database transaction while it talks to Telegram, a mail server or a
webhook: the worker reads a ``Job``, sends it, and marks the outcome in a new transaction.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from notifications.base import Event
from notifications.email import build_mail
from notifications.formatting import format_event
from notifications.telegram import DEFAULT_API_BASE, NotificationError, TelegramNotifier
from notifications.webhook import WebhookNotifier, encode, payload
from saas.services.notifications.links import unsubscribe_url


@dataclass
class Job:
    """One delivery with everything needed to send it."""

    delivery_id: int
    channel: str
    event_id: str
    event: Event
    created_at: datetime
    severity: str
    user_id: int | None = None
    bot_id: int | None = None
    email: str = ""
    telegram_token: str = ""
    telegram_chat_id: str = ""
    endpoint_id: int | None = None
    url: str = ""
    secret: str = ""
    allowed: bool = True  # the plan still includes the channel
    digest_minutes: int = 0
    last_email_at: datetime | None = None
    quiet_until: datetime | None = None
    skip_reason: str = ""  # nothing to send to any more (endpoint deleted or disabled)
    extra: dict = field(default_factory=dict)


@dataclass
class Outcome:
    """How a try went."""

    ok: bool
    response_code: int | None = None
    latency_ms: int | None = None
    error: str = ""


def _timed(call) -> Outcome:
    """Run ``call``; a NotificationError (or a mail error) is a failed outcome, not an exception."""
    started = time.perf_counter()
    try:
        code = call()
    except NotificationError as exc:
        latency = int((time.perf_counter() - started) * 1000)
        return Outcome(False, exc.status, latency, str(exc)[:300])
    except Exception as exc:  # noqa: BLE001 - a channel's failure is recorded, never raised
        latency = int((time.perf_counter() - started) * 1000)
        return Outcome(False, None, latency, f"{type(exc).__name__}: {exc}"[:300])
    return Outcome(True, code, int((time.perf_counter() - started) * 1000))


def send_telegram(ctx, job: Job) -> Outcome:
    """sendMessage to the user's chat with their bot or the platform's."""
    if not job.telegram_token or not job.telegram_chat_id:
        return Outcome(False, error="no Telegram bot token or chat")
    api_base = ctx.config.get("TELEGRAM_API_BASE") or DEFAULT_API_BASE
    notifier = TelegramNotifier(job.telegram_token, job.telegram_chat_id, api_base=api_base)
    return _timed(lambda: (notifier.send_text(format_event(job.event)), 200)[1])


def send_webhook(ctx, job: Job) -> Outcome:
    """The signed POST, checked against SSRF now."""
    body = encode(
        payload(
            job.event,
            event_id=job.event_id,
            at=job.created_at,
            bot={"id": job.bot_id} if job.bot_id else None,
        )
    )
    notifier = WebhookNotifier(
        job.url,
        job.secret,
        allow_loopback=ctx.allow_loopback,
        resolver=ctx.resolver,
        timeout=float(ctx.config.get("WEBHOOK_TIMEOUT") or 10),
        session=ctx.http,
    )
    return _timed(lambda: notifier.post(body, job.event_id).status)


def send_email(ctx, jobs: Sequence[Job], to: str) -> Outcome:
    """One mail for one event or a digest of several, with unsubscribe links."""
    config = ctx.config
    user_id = jobs[0].user_id

    def unsubscribe(kind: str) -> str:
        return unsubscribe_url(config.get("BASE_URL", ""), config["SECRET_KEY"], user_id, kind)

    message = build_mail(
        [j.event for j in jobs],
        sender=config.get("MAIL_DEFAULT_SENDER", "dcabot <noreply@localhost>"),
        to=to,
        unsubscribe=unsubscribe if user_id is not None else None,
        footer="Change what you receive: "
        f"{config.get('BASE_URL', '').rstrip('/')}/account/notifications",
    )
    return _timed(lambda: (ctx.send_mail(message), 250)[1])
