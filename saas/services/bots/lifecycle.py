"""Bot lifecycle services: create, start, stop, pause, resume, record a run, find due bots.

They take a session and ``now`` and never touch a request, so the web app, the runner, the CLI
and main.py share them. Callers commit.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from notifications.base import BOT_PAUSED as BOT_PAUSED_EVENT
from notifications.base import Event, Notifier
from saas.models import BOT_PAUSED, BOT_RUNNING, BOT_STOPPED, Bot, BotLog

AUTH_FAILED = "auth_error"  # workflows.trading.AUTH_FAILED, without importing the workflow
LOCKED = "locked"
MAX_ERROR_LENGTH = 2000


def create_bot(
    session: Session,
    user,
    *,
    ring=None,
    api_key: str = "",
    api_secret: str = "",
    **fields,
) -> Bot:
    """A new bot of ``user`` with its keys encrypted (bound to its id); flushed, not committed.

    ``fields`` are Bot columns (name, exchange, testnet, status, run_interval_minutes, ...). A
    real-exchange bot needs ``ring`` (saas.security.KeyRing) and both keys.
    """
    from saas.security import set_bot_keys  # noqa: PLC0415

    status = fields.pop("status", BOT_STOPPED)
    bot = Bot(user_id=user.id, status=BOT_STOPPED, **fields)
    session.add(bot)
    session.flush()  # the id the keys are bound to
    if api_key or api_secret:
        if ring is None:
            raise ValueError("a key ring is needed to store API keys")
        set_bot_keys(bot, ring, api_key, api_secret)
    bot.status = status
    session.flush()
    return bot


def _log(session: Session, bot: Bot, level: str, message: str, now: datetime) -> None:
    """A bot_logs line the owner sees on the bot's page."""
    session.add(BotLog(bot_id=bot.id, level=level, message=message, fields={}, created_at=now))


def start_bot(session: Session, bot: Bot, *, now: datetime) -> None:
    """Mark the bot running and due now."""
    bot.status, bot.last_error, bot.next_run_at = BOT_RUNNING, None, now
    _log(session, bot, "info", "bot started", now)


def stop_bot(session: Session, bot: Bot, *, now: datetime) -> None:
    """Stop the bot; it is no longer scheduled."""
    bot.status, bot.next_run_at = BOT_STOPPED, None
    _log(session, bot, "info", "bot stopped", now)


def pause_bot(
    session: Session, bot: Bot, reason: str, *, now: datetime, notifier: Notifier | None = None
) -> None:
    """Pause the bot with the reason as its last error; tell the owner when a notifier is given."""
    bot.status, bot.next_run_at = BOT_PAUSED, None
    bot.last_error = reason[:MAX_ERROR_LENGTH]
    _log(session, bot, "error", f"bot paused: {reason}", now)
    if notifier is not None:
        notifier.send(Event(BOT_PAUSED_EVENT, {"reason": reason}))


def resume_bot(session: Session, bot: Bot, *, now: datetime) -> None:
    """Run a paused (or stopped) bot again from now, clearing its last error."""
    start_bot(session, bot, now=now)


def record_run(
    session: Session,
    bot: Bot,
    outcome: str,
    error: str = "",
    *,
    now: datetime,
) -> bool:
    """Store a finished run on the bot and schedule the next; True when it paused the bot.

    An authentication error pauses the bot (its keys need the owner; the caller tells them after
    committing); any other error leaves it running so a temporary outage heals by itself. A run
    that found the bot locked changes nothing: the run holding the lock records itself.
    """
    if outcome == LOCKED:
        return False
    bot.last_run_at, bot.last_outcome = now, outcome
    bot.last_error = error[:MAX_ERROR_LENGTH] or None
    if outcome == AUTH_FAILED:
        pause_bot(session, bot, error or "authentication failed", now=now)
        return True
    if bot.status == BOT_RUNNING and (bot.next_run_at is None or bot.next_run_at <= now):
        # Only a run nobody scheduled (a manual BOT_ID=n run) moves the bot; a runner's claim
        # already put it on its spread slot, which must be kept.
        from saas.services.runs.scheduling import next_slot  # noqa: PLC0415 - avoid an import cycle

        bot.next_run_at = next_slot(now, bot.run_interval_minutes, bot.id)
    return False


def run_error_summary(result) -> str:
    """One line out of a BotRunResult's pair errors ("" when every pair ran)."""
    return "; ".join(f"{p.symbol} {p.side}: {p.error}" for p in result.pairs if p.error)


def due_bot_ids(session: Session, now: datetime, limit: int | None = None) -> list[int]:
    """Running bots whose next run is due, never-run first (on the (status, next_run_at) index)."""
    query = (
        select(Bot.id)
        .where(Bot.status == BOT_RUNNING)
        .where((Bot.next_run_at.is_(None)) | (Bot.next_run_at <= now))
        .order_by(Bot.next_run_at.is_not(None), Bot.next_run_at, Bot.id)
    )
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def record_margin_modes(session, bot: Bot, result) -> None:
    """Keep the margin mode the exchange reported for each pair's position (never change it)."""
    seen = {p.pair_key: p.margin_mode for p in result.pairs if getattr(p, "margin_mode", None)}
    for pair in bot.pairs:
        mode = seen.get(str(pair.id))
        if mode is not None and pair.exchange_margin_mode != mode:
            pair.exchange_margin_mode = mode


def record_run_result(config, result, *, now: datetime, env) -> bool:
    """Record a BotRunResult for a loaded BotConfig; after committing, tell the owner of a pause."""
    from saas.db import session_scope  # noqa: PLC0415

    with session_scope(config.sessions) as session:
        bot = session.get(Bot, config.bot_id)
        if bot is None:
            return False  # deleted while it ran; nothing left to record on
        paused = record_run(session, bot, result.outcome, run_error_summary(result), now=now)
        record_margin_modes(session, bot, result)
        reason = bot.last_error or ""
    if paused:
        from notifications import build_notifier  # noqa: PLC0415 - only when there is news

        token, chat = config.telegram
        notifier = build_notifier(token, chat, api_base=(env or {}).get("TELEGRAM_API_BASE"))
        notifier.send(Event(BOT_PAUSED_EVENT, {"reason": reason}))
    return paused
