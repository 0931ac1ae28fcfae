"""Read a bot's run configuration from the database: checks, pairs, decrypted keys, Telegram.

``load_bot_config`` does every check that can stop a run before any exchange call; each failure
is a BotConfigError whose message is the single line the operator reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import Engine, select
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from saas.db import (
    DatabaseURLError,
    database_url,
    make_engine,
    make_session_factory,
    safe_url,
    sqlite_path,
)
from saas.models import (
    BOT_PAUSED,
    BOT_RUNNING,
    BOT_STOPPED,
    USER_ACTIVE,
    Bot,
    NotificationSetting,
)
from saas.schema_version import SchemaError, check_current
from saas.security import (
    DecryptionError,
    EncryptionKeyError,
    KeyRing,
    bot_credentials,
    user_context,
)

INIT_HINT = "create it with: flask --app saas db upgrade"


class BotConfigError(ValueError):
    """The bot cannot run as configured; one line for the operator."""


class BotIdle(BotConfigError):
    """The bot has nothing to do now (stopped, paused, or its slot already ran): not an error."""


class Credentials:
    """A decrypted key and secret that never show in a repr, a log line or a traceback."""

    __slots__ = ("key", "secret")

    def __init__(self, key: str, secret: str):
        self.key, self.secret = key, secret

    def __repr__(self) -> str:
        return "<Credentials hidden>"


@dataclass(frozen=True)
class PairSnapshot:
    """An active trading pair as the run needs it."""

    pair_id: int
    symbol: str
    side: str
    auto: bool
    leverage: Decimal
    ema_interval: int
    strategy: str
    params: dict = field(default_factory=dict)
    margin_mode: str = "cross"


@dataclass
class BotConfig:
    """Everything a run of one bot reads from the database, read once, before the run."""

    engine: Engine
    sessions: sessionmaker[Session]
    bot_id: int
    name: str
    exchange: str
    testnet: bool
    pairs: list[PairSnapshot]
    credentials: Credentials = field(repr=False)
    telegram: tuple[str | None, str | None] = (None, None)
    owner_id: int = 0

    def close(self) -> None:
        """Close the database connections."""
        self.engine.dispose()


def one_line(text: str) -> str:
    """Collapse a multi-line message (driver errors span several lines)."""
    return " ".join(str(text).split())


class DatabaseUnavailableError(BotConfigError):
    """The database could not be reached or used: transient (exit 1), not a configuration error."""


def _connect_error(url, exc: Exception) -> BotConfigError:
    """The driver's first line, never its full multi-line report or the password."""
    original = getattr(exc, "orig", None) or exc
    reason = str(original).strip().splitlines()[0] if str(original).strip() else type(exc).__name__
    return DatabaseUnavailableError(
        f"cannot use the database at {safe_url(url)}: {one_line(reason)}"
    )


def open_database(env: Mapping[str, str]) -> Engine:
    """The engine of DATABASE_URL (reachability and tables are checked by the first query)."""
    raw = database_url(env)
    try:
        # One short-lived process: checking connections before use would only add round trips.
        engine = make_engine(raw, pool_pre_ping=False)
    except DatabaseURLError as exc:
        raise BotConfigError(str(exc)) from None
    path = sqlite_path(engine.url)
    if path is not None and not path.exists():
        engine.dispose()
        raise BotConfigError(f"no database at {path} ({INIT_HINT})")
    return engine


def _database_error(engine: Engine, exc: Exception) -> BotConfigError:
    """A missing table means an uninitialised database; anything else, an unusable one."""
    text = str(getattr(exc, "orig", exc))
    if "no such table" in text or ("relation" in text and "does not exist" in text):
        return BotConfigError(
            f"the database at {safe_url(engine.url)} has no dcabot tables ({INIT_HINT})"
        )
    return _connect_error(engine.url, exc)


def _check_runnable(bot: Bot | None, bot_id: int) -> Bot:
    """The bot, if it exists, is running, has an active owner and active pairs."""
    if bot is None:
        raise BotConfigError(f"bot {bot_id} does not exist")
    if bot.status != BOT_RUNNING:
        why = f" (last error: {one_line(bot.last_error)})" if bot.last_error else ""
        message = f"bot {bot_id} is {bot.status}, not running{why}; nothing to do"
        if bot.status in (BOT_STOPPED, BOT_PAUSED):
            raise BotIdle(message)
        raise BotConfigError(message)
    if bot.user.status != USER_ACTIVE:
        raise BotConfigError(f"bot {bot_id} belongs to a {bot.user.status} user; nothing to do")
    if not bot.active_pairs:
        raise BotConfigError(f"bot {bot_id} has no active trading pairs; nothing to do")
    return bot


def _telegram(session: Session, bot: Bot, env: Mapping[str, str], ring) -> tuple:
    """The owner's Telegram chat, with their own bot token or the platform's."""
    setting = session.scalar(
        select(NotificationSetting).where(NotificationSetting.user_id == bot.user_id)
    )
    if setting is None or not setting.telegram_enabled or not setting.telegram_chat_id:
        return None, None
    token = (env.get("TELEGRAM_BOT_TOKEN") or "").strip() or None
    if setting.telegram_bot_token_encrypted:
        token = _ring(ring, env).decrypt(
            user_context(bot.user_id, "telegram"),
            setting.telegram_bot_token_encrypted,
            f"the Telegram token of user {bot.user_id}",
        )
    return token, setting.telegram_chat_id


def _ring(ring: KeyRing | None, env: Mapping[str, str]) -> KeyRing:
    """The key ring, read from ENCRYPTION_KEY the first time it is needed."""
    return ring if ring is not None else KeyRing.from_env(env)


def _snapshot(session: Session, bot: Bot, env: Mapping[str, str]) -> dict:
    """Read the bot's pairs, keys and Telegram settings inside one session."""
    ring = None
    if bot.exchange != "paper" or bot.api_key_encrypted:
        ring = _ring(ring, env)
        # Keys inserted by hand as plain Fernet tokens are bound to the row on first use.
        key, secret = bot_credentials(bot, ring, rebind=True)
        if session.is_modified(bot):
            session.commit()
    else:
        key, secret = "", ""
    pairs = [
        PairSnapshot(
            p.id,
            p.symbol,
            p.side,
            p.automatic_mode,
            p.leverage,
            p.ema_interval,
            p.strategy,
            dict(p.strategy_params or {}),
            p.margin_mode,
        )
        for p in bot.active_pairs
    ]
    return {
        "bot_id": bot.id,
        "name": bot.name,
        "exchange": bot.exchange,
        "testnet": bot.testnet,
        "pairs": pairs,
        "credentials": Credentials(key, secret),
        "owner_id": bot.user_id,
        "telegram": _telegram(session, bot, env, ring),
    }


def _check_plan(session: Session, bot: Bot, env: Mapping[str, str], now: datetime) -> None:
    """The owner's plan must allow this bot now; if not, it is paused (committed) and refused."""
    from saas.plans import PlanConfigError, load_plans  # noqa: PLC0415
    from saas.services.billing.subscriptions import runner_refusal  # noqa: PLC0415

    try:
        plans = load_plans(env)
    except PlanConfigError as exc:
        raise BotConfigError(str(exc)) from None
    reason = runner_refusal(session, bot, plans, now)
    session.commit()  # a lapsed plan or a pause stands even though this run stops
    if reason:
        raise BotConfigError(f"bot {bot.id} cannot run: {one_line(reason)}")


def _claim_slot(session: Session, bot: Bot, now: datetime) -> None:
    """Take the bot's slot as run-due does; BotIdle when it is not due or already taken."""
    from saas.services.runs.scheduling import claim_own_slot  # noqa: PLC0415

    due = bot.next_run_at
    if not claim_own_slot(session, bot, now):
        when = f" until {due:%Y-%m-%d %H:%M:%S} UTC" if due is not None and due > now else ""
        raise BotIdle(f"bot {bot.id} is not due{when} (this slot ran already); nothing to do")


def load_bot_config(
    bot_id: int, env: Mapping[str, str], now: datetime | None = None, *, claim: bool = False
) -> BotConfig:
    """Check and read everything a run of this bot needs; BotConfigError when it cannot run.

    ``claim``: take the bot's slot first, as run-due does for the runs it starts, so a bot
    scheduled both by its own cron line and by run-due runs once per slot.
    """
    engine = open_database(env)
    sessions = make_session_factory(engine)
    now = now or datetime.now(UTC)
    try:
        check_current(engine)
        with sessions() as session:
            bot = _check_runnable(session.get(Bot, bot_id), bot_id)
            _check_plan(session, bot, env, now)
            if claim:
                _claim_slot(session, bot, now)
            values = _snapshot(session, bot, env)
    except DecryptionError as exc:
        engine.dispose()
        hint = f"; store them again with: flask --app saas bots set-keys {bot_id}"
        raise BotConfigError(f"{exc}{hint if 'API keys' in str(exc) else ''}") from None
    except (EncryptionKeyError, SchemaError) as exc:
        engine.dispose()
        raise BotConfigError(str(exc)) from None
    except (DBAPIError, SQLAlchemyError, OSError) as exc:
        engine.dispose()
        raise _database_error(engine, exc) from None
    except BotConfigError:
        engine.dispose()
        raise
    return BotConfig(engine=engine, sessions=sessions, **values)
