"""What a bot's owner does from the web: create, edit, delete, replace keys, start, pause, stop.

Every function takes the acting user and looks the bot up through the owner-scoped helpers, so
another user's bot is a NotFound (a 404) and never touched. Plan limits are checked in the same
transaction as the write (saas.services.bots.limits). Functions flush; the caller commits, or rolls
back on a BotError. Key changes, starts, pauses, stops and setting changes write an audit row
with the settings before and after: never a key or a secret.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from saas.models import (
    BOT_ERROR,
    BOT_PAUSED,
    BOT_RUNNING,
    EXCHANGES,
    Bot,
    BotLog,
    BotRun,
    TradingPair,
)
from saas.security import DecryptionError, KeyRing, bot_credentials, set_bot_keys
from saas.services.bots import lifecycle, limits
from saas.services.runs.scheduling import next_slot

MAX_NAME_LENGTH = 100
MIN_INTERVAL_MINUTES = 1
MAX_INTERVAL_MINUTES = 1440
MAX_KEY_LENGTH = 512
RECENT_RUNS = 10
RECENT_LOGS = 20
UNCONFIRMED_EMAIL = (
    "Confirm your e-mail address before starting a bot: open the link we sent to {email}, or "
    "send it again from this page."
)


class BotError(ValueError):
    """A request the services refuse; ``field`` names the form field at fault, if any."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True)
class NewBot:
    """What the create form asks for; the keys stay out of the repr."""

    name: str
    exchange: str
    testnet: bool = True
    api_key: str = field(default="", repr=False)
    api_secret: str = field(default="", repr=False)


@dataclass(frozen=True)
class BotSettings:
    """What the edit form changes."""

    name: str
    testnet: bool
    run_interval_minutes: int


@dataclass(frozen=True)
class BotRow:
    """One line of the bot list."""

    bot: Bot
    pairs: int
    active_pairs: int


@dataclass(frozen=True)
class KeyHints:
    """The last four characters of a stored key: all the pages ever show of it (of the secret,
    nothing)."""

    key_last4: str


@dataclass(frozen=True)
class BotActivity:
    """A bot's last runs and log lines, newest first."""

    runs: list[BotRun]
    logs: list[BotLog]


def bot_settings(bot: Bot) -> dict:
    """The audited view of a bot: its settings, never its keys."""
    return {
        "name": bot.name,
        "exchange": bot.exchange,
        "testnet": bot.testnet,
        "run_interval_minutes": bot.run_interval_minutes,
        "status": bot.status,
    }


def audit(user, action: str, *, target=None, before=None, after=None, ip=None) -> None:
    """An audit_logs row (services.accounts.audit); callers pass settings only, never secrets."""
    from saas.services.accounts.audit import record_audit  # noqa: PLC0415 - the web app's module

    record_audit(user, action, target=target, before=before, after=after, ip=ip)


def owned_bot(session: Session, user, bot_id) -> Bot:
    """The user's bot; NotFound (404) for a missing bot or another user's."""
    return Bot.get_owned_or_404(bot_id, user, session)


def _clean_name(session: Session, user, name: str, bot_id: int | None = None) -> str:
    """A trimmed, non-empty name no other bot of this user has."""
    name = (name or "").strip()
    if not name:
        raise BotError("Give the bot a name.", "name")
    if len(name) > MAX_NAME_LENGTH:
        raise BotError(f"The name is longer than {MAX_NAME_LENGTH} characters.", "name")
    taken = select(Bot.id).where(Bot.user_id == user.id, Bot.name == name)
    if bot_id is not None:
        taken = taken.where(Bot.id != bot_id)
    if session.scalar(taken) is not None:
        raise BotError(f"You already have a bot called {name!r}.", "name")
    return name


def _check_keys(exchange: str, api_key: str, api_secret: str) -> tuple[str, str]:
    """Both keys trimmed; a real exchange needs both."""
    api_key, api_secret = (api_key or "").strip(), (api_secret or "").strip()
    if not api_key:
        raise BotError(f"A {exchange.capitalize()} bot needs its API key.", "api_key")
    if not api_secret:
        raise BotError(f"A {exchange.capitalize()} bot needs its API secret.", "api_secret")
    if len(api_key) > MAX_KEY_LENGTH or len(api_secret) > MAX_KEY_LENGTH:
        raise BotError("That key is too long to be an exchange API key.", "api_key")
    return api_key, api_secret


def create_user_bot(
    session: Session,
    user,
    data: NewBot,
    *,
    ring: KeyRing | None,
    ip: str | None = None,
    plans: Mapping | None = None,
    key_check: Mapping | None = None,
) -> Bot:
    """A new stopped bot of ``user``; its keys (real exchanges only) encrypted bound to its id.

    ``key_check`` is what the exchange said of the key's permissions (stored to show it).
    """
    if data.exchange not in EXCHANGES:
        raise BotError(f"Choose one of {', '.join(EXCHANGES)}.", "exchange")
    name = _clean_name(session, user, data.name)
    api_key = api_secret = ""
    if data.exchange != "paper":
        api_key, api_secret = _check_keys(data.exchange, data.api_key, data.api_secret)
    try:
        limits.check_can_create_bot(
            user, exchange=data.exchange, testnet=data.testnet, session=session, table=plans
        )
    except limits.LimitError as exc:
        raise BotError(str(exc)) from None
    bot = lifecycle.create_bot(
        session,
        user,
        ring=ring,
        api_key=api_key,
        api_secret=api_secret,
        name=name,
        exchange=data.exchange,
        testnet=bool(data.testnet),
    )
    if data.exchange != "paper" and key_check is not None:
        bot.key_check = dict(key_check)
    audit(user, "bot.create", target=bot, after=bot_settings(bot), ip=ip)
    return bot


def update_bot_settings(
    session: Session,
    user,
    bot_id,
    data: BotSettings,
    *,
    now: datetime,
    ip: str | None = None,
    plans: Mapping | None = None,
) -> Bot:
    """Rename the bot, switch testnet or change its interval (a running bot is rescheduled)."""
    bot = owned_bot(session, user, bot_id)
    name = _clean_name(session, user, data.name, bot.id)
    interval = int(data.run_interval_minutes)
    if not MIN_INTERVAL_MINUTES <= interval <= MAX_INTERVAL_MINUTES:
        raise BotError(
            f"Run every {MIN_INTERVAL_MINUTES} to {MAX_INTERVAL_MINUTES} minutes.",
            "run_interval_minutes",
        )
    testnet = bool(data.testnet)
    if testnet != bot.testnet:
        if bot.status == BOT_RUNNING:
            raise BotError("Stop the bot before switching between testnet and mainnet.", "testnet")
        try:
            limits.check_mainnet(user, bot.exchange, testnet, plans)
        except limits.LimitError as exc:
            raise BotError(str(exc), "testnet") from None
    before = bot_settings(bot)
    bot.name, bot.testnet = name, testnet
    if interval != bot.run_interval_minutes:
        bot.run_interval_minutes = interval
        if bot.status == BOT_RUNNING:
            bot.next_run_at = next_slot(now, interval, bot.id)
    session.flush()
    after = bot_settings(bot)
    if after != before:
        audit(user, "bot.update", target=bot, before=before, after=after, ip=ip)
    return bot


def replace_bot_keys(
    session: Session,
    user,
    bot_id,
    api_key: str,
    api_secret: str,
    *,
    ring: KeyRing,
    ip: str | None = None,
    key_check: Mapping | None = None,
) -> Bot:
    """Store new keys for a real-exchange bot; the audit row says only that they changed."""
    bot = owned_bot(session, user, bot_id)
    if bot.exchange == "paper":
        raise BotError("A paper bot trades a simulated account and has no keys.")
    api_key, api_secret = _check_keys(bot.exchange, api_key, api_secret)
    had_keys = bool(bot.api_key_encrypted)
    set_bot_keys(bot, ring, api_key, api_secret)
    bot.key_check = dict(key_check) if key_check is not None else None
    session.flush()
    audit(
        user,
        "bot.keys_replaced" if had_keys else "bot.keys_set",
        target=bot,
        before={"keys": "stored" if had_keys else "none"},
        after={"keys": "stored", "api_key_last4": api_key[-4:]},
        ip=ip,
    )
    return bot


def record_key_check(session: Session, user, bot_id, key_check: Mapping | None) -> Bot:
    """Store what the exchange said of the bot's key at the last check."""
    bot = owned_bot(session, user, bot_id)
    bot.key_check = dict(key_check) if key_check is not None else None
    session.flush()
    return bot


def delete_user_bot(session: Session, user, bot_id, *, ip: str | None = None) -> None:
    """Delete the bot with its pairs, orders, trades, runs and logs (the audit row remains)."""
    bot = owned_bot(session, user, bot_id)
    audit(user, "bot.delete", target=bot, before=bot_settings(bot), ip=ip)
    session.delete(bot)
    session.flush()


def start_user_bot(
    session: Session,
    user,
    bot_id,
    *,
    now: datetime,
    ip: str | None = None,
    plans: Mapping | None = None,
) -> Bot:
    """Run the bot from its next slot; refused without a confirmed e-mail address, an active
    pair, keys or plan room."""
    bot = owned_bot(session, user, bot_id)
    if not user.email_verified:
        raise BotError(UNCONFIRMED_EMAIL.format(email=user.email))
    if bot.status == BOT_RUNNING:
        raise BotError("The bot is already running.")
    try:
        limits.check_can_start(bot, session=session, table=plans)
    except limits.LimitError as exc:
        raise BotError(str(exc)) from None
    before = bot_settings(bot)
    lifecycle.start_bot(session, bot, now=now)
    bot.next_run_at = next_slot(now, bot.run_interval_minutes, bot.id)
    session.flush()
    audit(user, "bot.start", target=bot, before=before, after=bot_settings(bot), ip=ip)
    return bot


def pause_user_bot(session: Session, user, bot_id, *, now: datetime, ip: str | None = None) -> Bot:
    """Pause a running bot: it keeps its pairs and positions and runs no more until started."""
    bot = owned_bot(session, user, bot_id)
    if bot.status != BOT_RUNNING:
        raise BotError("Only a running bot can be paused.")
    before = bot_settings(bot)
    bot.status, bot.next_run_at = BOT_PAUSED, None
    session.add(
        BotLog(
            bot_id=bot.id,
            level="info",
            message="bot paused by its owner",
            fields={},
            created_at=now,
        )
    )
    session.flush()
    audit(user, "bot.pause", target=bot, before=before, after=bot_settings(bot), ip=ip)
    return bot


def stop_user_bot(session: Session, user, bot_id, *, now: datetime, ip: str | None = None) -> Bot:
    """Stop the bot; open positions stay on the exchange as they are."""
    bot = owned_bot(session, user, bot_id)
    if bot.status not in (BOT_RUNNING, BOT_PAUSED, BOT_ERROR):
        raise BotError("The bot is already stopped.")
    before = bot_settings(bot)
    lifecycle.stop_bot(session, bot, now=now)
    session.flush()
    audit(user, "bot.stop", target=bot, before=before, after=bot_settings(bot), ip=ip)
    return bot


def list_bots(session: Session, user) -> list[BotRow]:
    """The user's bots with their pair counts, in creation order, in one query."""
    counts = (
        select(
            TradingPair.bot_id,
            func.count(TradingPair.id).label("pairs"),
            func.count(TradingPair.id).filter(TradingPair.is_active.is_(True)).label("active"),
        )
        .group_by(TradingPair.bot_id)
        .subquery()
    )
    query = (
        Bot.owned_by(user)
        .add_columns(func.coalesce(counts.c.pairs, 0), func.coalesce(counts.c.active, 0))
        .outerjoin(counts, counts.c.bot_id == Bot.id)
        .order_by(Bot.id)
    )
    return [BotRow(bot, pairs, active) for bot, pairs, active in session.execute(query)]


def bot_activity(
    session: Session, user, bot: Bot, runs: int = RECENT_RUNS, logs: int = RECENT_LOGS
) -> BotActivity:
    """The bot's latest runs and log lines, through the owner-scoped queries."""
    run_rows = session.scalars(
        BotRun.owned_by(user)
        .where(BotRun.bot_id == bot.id)
        .order_by(BotRun.started_at.desc(), BotRun.id.desc())
        .limit(runs)
    ).all()
    log_rows = session.scalars(
        BotLog.owned_by(user)
        .where(BotLog.bot_id == bot.id)
        .order_by(BotLog.created_at.desc(), BotLog.id.desc())
        .limit(logs)
    ).all()
    return BotActivity(list(run_rows), list(log_rows))


def key_hints(bot: Bot, ring: KeyRing) -> KeyHints | None:
    """The last four characters of the stored key; None without keys."""
    if not bot.api_key_encrypted or not bot.api_secret_encrypted:
        return None
    try:
        key, _secret = bot_credentials(bot, ring)
    except DecryptionError:
        return KeyHints("????")
    return KeyHints(key[-4:])


def stored_credentials(session: Session, user, bot_id, ring: KeyRing) -> tuple[Bot, str, str]:
    """The user's bot with its decrypted keys, for a connection test; never for display."""
    bot = owned_bot(session, user, bot_id)
    if bot.exchange == "paper":
        return bot, "", ""
    if not bot.api_key_encrypted or not bot.api_secret_encrypted:
        raise BotError("This bot has no stored keys yet.")
    try:
        key, secret = bot_credentials(bot, ring)
    except DecryptionError as exc:
        raise BotError(str(exc)) from None
    return bot, key, secret
