"""Where a run's configuration comes from: the existing bot's environment, or the database."""

from __future__ import annotations

import json
import os
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from strategies.types import SIDES

ALLOWED_EMA_INTERVALS = (1, 5, 15, 30, 60, 240, 1440, 10080, 43200, 129600, 518400)
EXCHANGES = ("phemex", "bybit", "paper")
TESTNET_TRUTHY = {"true", "1", "t"}
AUTO_TRUTHY = {"true", "1", "yes"}
POSTONLY_TRUTHY = {"true", "1", "t", "yes"}
DEFAULT_LEVERAGE = Decimal(10)
MAX_LEVERAGE = Decimal(125)


class ConfigError(ValueError):
    """A configuration problem, worded as the one line the operator will read."""


class NothingToDo(Exception):  # not a ConfigError: nothing to do is not an error
    """The bot is stopped or paused, or its slot already ran: exit 0 with one info line."""


# Set by run-due on the runs it starts (it claimed their slots); BOT_FORCE=1 runs regardless.
RUNNER_CLAIM_VARIABLE = "DCABOT_RUN_CLAIMED"
FORCE_VARIABLE = "BOT_FORCE"


def claims_own_slot(env: Mapping[str, str]) -> bool:
    """Whether a BOT_ID run must take its slot itself (cron line or by hand, not run-due)."""
    return not truthy(env.get(RUNNER_CLAIM_VARIABLE), TESTNET_TRUTHY) and not truthy(
        env.get(FORCE_VARIABLE), TESTNET_TRUTHY
    )


class SourceUnavailableError(RuntimeError):
    """The configuration could not be read right now (database unreachable): try again later."""


@dataclass(frozen=True)
class PairConfig:
    """One trading pair as configured: what the workflow needs to run it."""

    pair_key: str
    symbol: str
    side: str
    auto: bool
    leverage: Decimal = DEFAULT_LEVERAGE
    ema_interval: int = 1
    strategy: str = "martingale"
    params: dict = field(default_factory=dict)


class ConfigSource(ABC):
    """The quick-start's interface, plus exchange, pairs and start-up flags."""

    @abstractmethod
    def get_api_credentials(self) -> tuple[str, str]:
        """API key and secret (empty strings for the paper exchange)."""

    @abstractmethod
    def get_symbols(self) -> list[tuple[str, str, bool]]:
        """(symbol, side, automatic) for each configured pair."""

    @abstractmethod
    def get_ema_interval(self) -> int:
        """Candle interval in minutes for EMA50/EMA200."""

    @abstractmethod
    def is_testnet(self) -> bool:
        """Whether to trade on the exchange's testnet."""

    @abstractmethod
    def get_telegram_config(self) -> tuple[str | None, str | None]:
        """Telegram bot token and chat id, or Nones."""

    @abstractmethod
    def get_exchange(self) -> str:
        """phemex, bybit or paper."""

    @abstractmethod
    def get_pairs(self) -> list[PairConfig]:
        """Every pair with its leverage, EMA interval and strategy parameters."""

    @property
    def bot_key(self) -> str:
        """The bot's id in client order ids ("0" for a standalone bot)."""
        return "0"

    def send_startup_message(self) -> bool:
        """Whether to announce the start (BOT_STARTUP)."""
        return False


def truthy(value: str | None, accepted: set[str]) -> bool:
    """The existing bot's truthiness: the lower-cased value is in its accepted set."""
    return (value or "").strip().lower() in accepted


def parse_symbols(raw: str) -> list[tuple[str, str, bool]]:
    """Parse ``SYMBOL:SIDE:AUTO,...``; a malformed item is an error that names it."""
    items = []
    seen = set()
    for item in raw.split(","):
        if not item.strip():
            continue
        parts = [p.strip() for p in item.split(":")]
        if len(parts) != 3 or not parts[0]:
            raise ConfigError(f"SYMBOL item {item.strip()!r} must look like BTCUSDT:Long:True")
        symbol, side, auto = parts
        if side not in SIDES:
            raise ConfigError(f"SYMBOL item {item.strip()!r}: side must be Long or Short")
        if (symbol, side) in seen:
            raise ConfigError(f"SYMBOL item {item.strip()!r} is listed twice")
        seen.add((symbol, side))
        items.append((symbol, side, truthy(auto, AUTO_TRUTHY)))
    return items


def parse_leverage(raw: str | None) -> Decimal:
    """Leverage as a positive number up to 125."""
    if raw is None or not raw.strip():
        return DEFAULT_LEVERAGE
    try:
        value = Decimal(raw.strip())
    except InvalidOperation:
        raise ConfigError(f"LEVERAGE must be a number, got {raw!r}") from None
    if not value.is_finite() or value <= 0 or value > MAX_LEVERAGE:
        raise ConfigError(f"LEVERAGE must be above 0 and at most {MAX_LEVERAGE}, got {raw}")
    return value


def parse_ema_interval(raw: str | None) -> int:
    """EMA_INTERVAL in minutes, one of the exchange's candle intervals."""
    if raw is None or not raw.strip():
        return 1
    try:
        value = int(raw.strip())
    except ValueError:
        raise ConfigError(f"EMA_INTERVAL must be a whole number of minutes, got {raw!r}") from None
    if value not in ALLOWED_EMA_INTERVALS:
        allowed = ", ".join(map(str, ALLOWED_EMA_INTERVALS))
        raise ConfigError(f"EMA_INTERVAL must be one of {allowed}, got {value}")
    return value


class EnvConfigSource(ConfigSource):
    """The existing bot's environment variables, with its truthy sets and SYMBOL grammar."""

    def __init__(self, environ: Mapping[str, str] | None = None):
        self.env = dict(os.environ if environ is None else environ)

    def get(self, name: str, default: str | None = None) -> str | None:
        """One variable, stripped; blank counts as unset."""
        value = self.env.get(name)
        return value.strip() if value and value.strip() else default

    def get_exchange(self) -> str:
        """EXCHANGE, default phemex as before."""
        exchange = (self.get("EXCHANGE") or "phemex").lower()
        if exchange not in EXCHANGES:
            raise ConfigError(f"EXCHANGE must be one of {', '.join(EXCHANGES)}, got {exchange!r}")
        return exchange

    def get_api_credentials(self) -> tuple[str, str]:
        """API_KEY and API_SECRET; required unless the exchange is paper."""
        key, secret = self.get("API_KEY", ""), self.get("API_SECRET", "")
        if self.get_exchange() != "paper":
            if not key:
                raise ConfigError(
                    "API_KEY is not set (needed for EXCHANGE=" + self.get_exchange() + ")"
                )
            if not secret:
                raise ConfigError("API_SECRET is not set")
        return key, secret

    def get_symbols(self) -> list[tuple[str, str, bool]]:
        """SYMBOL, required."""
        raw = self.get("SYMBOL")
        if not raw:
            raise ConfigError("SYMBOL is not set (example: SYMBOL=BTCUSDT:Long:True)")
        symbols = parse_symbols(raw)
        if not symbols:
            raise ConfigError("SYMBOL lists no pairs (example: SYMBOL=BTCUSDT:Long:True)")
        return symbols

    def get_ema_interval(self) -> int:
        """EMA_INTERVAL, default 1."""
        return parse_ema_interval(self.get("EMA_INTERVAL"))

    def is_testnet(self) -> bool:
        """TESTNET in {true, 1, t}."""
        return truthy(self.get("TESTNET"), TESTNET_TRUTHY)

    def get_telegram_config(self) -> tuple[str | None, str | None]:
        """TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_ID."""
        return self.get("TELEGRAM_BOT_TOKEN"), self.get("TELEGRAM_CHAT_ID")

    def send_startup_message(self) -> bool:
        """BOT_STARTUP in {true, 1, t}."""
        return truthy(self.get("BOT_STARTUP"), TESTNET_TRUTHY)

    def strategy_params(self) -> dict:
        """STRATEGY_PARAMS (a JSON object) plus USE_POSTONLY."""
        raw = self.get("STRATEGY_PARAMS")
        params = {}
        if raw:
            try:
                params = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise ConfigError(f"STRATEGY_PARAMS is not valid JSON: {exc.msg}") from None
            if not isinstance(params, dict):
                raise ConfigError("STRATEGY_PARAMS must be a JSON object")
        postonly = self.get("USE_POSTONLY")
        if postonly is not None and "use_postonly" not in params:
            params["use_postonly"] = truthy(postonly, POSTONLY_TRUTHY)
        return params

    def get_pairs(self) -> list[PairConfig]:
        """One PairConfig per SYMBOL item, sharing LEVERAGE, EMA_INTERVAL and STRATEGY_PARAMS."""
        leverage = parse_leverage(self.get("LEVERAGE"))
        interval = self.get_ema_interval()
        strategy = self.get("STRATEGY", "martingale")
        params = self.strategy_params()
        return [
            PairConfig(
                f"{symbol}{side[0]}", symbol, side, auto, leverage, interval, strategy, dict(params)
            )
            for symbol, side, auto in self.get_symbols()
        ]


def parse_bot_id(raw) -> int:
    """BOT_ID as a positive whole number."""
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise ConfigError(f"BOT_ID must be a bot id (a whole number), got {raw!r}") from None
    if value <= 0:
        raise ConfigError(f"BOT_ID must be a positive bot id, got {value}")
    return value


class DatabaseConfigSource(ConfigSource):
    """A bot of the database (BOT_ID=n): its pairs, keys and owner's Telegram, read before the run.

    DATABASE_URL (default: the web app's SQLite file) and ENCRYPTION_KEY come from ``env``. The
    database, the bot's state and its keys are all checked here, so a bot that cannot run stops
    with one line before any exchange call. Pair keys are pair ids; the bot key is the bot id.
    """

    def __init__(self, bot_id, env: Mapping[str, str]):
        from saas.services.bots.config import (  # noqa: PLC0415
            BotConfigError,
            BotIdle,
            load_bot_config,
        )

        self.env = dict(env)
        self.bot_id = parse_bot_id(bot_id)
        from saas.services.bots.config import DatabaseUnavailableError  # noqa: PLC0415

        try:
            self.config = load_bot_config(self.bot_id, self.env, claim=claims_own_slot(self.env))
        except BotIdle as exc:
            raise NothingToDo(str(exc)) from None
        except DatabaseUnavailableError as exc:
            raise SourceUnavailableError(str(exc)) from None
        except BotConfigError as exc:
            raise ConfigError(str(exc)) from None
        self._clock = None

    def __repr__(self) -> str:
        return f"<DatabaseConfigSource bot={self.bot_id}>"

    @property
    def bot_key(self) -> str:
        """The bot's id, so client order ids name the bot."""
        return str(self.bot_id)

    def get_api_credentials(self) -> tuple[str, str]:
        """The decrypted key and secret ("" for a paper bot)."""
        creds = self.config.credentials
        return creds.key, creds.secret

    def get_symbols(self) -> list[tuple[str, str, bool]]:
        """(symbol, side, automatic) of each active pair."""
        return [(p.symbol, p.side, p.auto) for p in self.config.pairs]

    def get_ema_interval(self) -> int:
        """The first active pair's EMA interval (each pair has its own, see get_pairs)."""
        return self.config.pairs[0].ema_interval

    def is_testnet(self) -> bool:
        """The bot's testnet switch."""
        return self.config.testnet

    def get_telegram_config(self) -> tuple[str | None, str | None]:
        """The owner's Telegram settings (their own bot token, else TELEGRAM_BOT_TOKEN)."""
        return self.config.telegram

    def get_exchange(self) -> str:
        """The bot's exchange."""
        return self.config.exchange

    def notifier(self):
        """The outbox: events are written for the owner and sent by `python main.py deliver`."""
        from notifications.base import FanOut  # noqa: PLC0415
        from saas.services.notifications.outbox import OutboxNotifier  # noqa: PLC0415

        # The fan-out logs a failed write instead of raising: notifying never stops trading.
        return FanOut([OutboxNotifier(self.config.sessions, self.bot_id, self._now_clock())])

    def get_pairs(self) -> list[PairConfig]:
        """Every active pair with its own leverage, EMA interval, strategy and parameters."""
        return [
            PairConfig(
                str(p.pair_id),
                p.symbol,
                p.side,
                p.auto,
                p.leverage,
                p.ema_interval,
                p.strategy,
                dict(p.params),
            )
            for p in self.config.pairs
        ]

    def make_client(self, env: Mapping[str, str], clock):
        """The bot's exchange client; a paper bot's account lives in paper_accounts."""
        from clients.factory import real_client  # noqa: PLC0415

        self._clock = clock
        if self.config.exchange == "paper":
            from saas.services.bots.paper import open_paper_client  # noqa: PLC0415

            modes = {p.symbol: p.margin_mode for p in self.config.pairs}
            return open_paper_client(
                self.config.sessions, self.bot_id, env, clock, self.config.testnet, modes
            )
        key, secret = self.get_api_credentials()
        return real_client(self.config.exchange, key, secret, self.config.testnet, env)

    def journal(self):
        """The database journal of this bot, with its per-bot lock."""
        from saas.services.runs.journal import DatabaseJournal  # noqa: PLC0415

        return DatabaseJournal(
            self.config.engine,
            self.bot_id,
            clock=self._now_clock(),
            session_factory=self.config.sessions,
        )

    def _now_clock(self):
        """The run's clock (given to make_client), else the wall clock."""
        return self._clock if self._clock is not None else (lambda: datetime.now(UTC))

    def record_result(self, result) -> None:
        """Record the run on the bot; an authentication error pauses it and tells the owner."""
        from saas.services.bots.lifecycle import record_run_result  # noqa: PLC0415

        try:
            record_run_result(self.config, result, now=self._now_clock()(), env=self.env)
        finally:
            self.close()

    def close(self) -> None:
        """Release the database connections."""
        self.config.close()


def get_config_source(environ: Mapping[str, str] | None = None) -> ConfigSource:
    """The database source when BOT_ID is set, otherwise the environment."""
    env = os.environ if environ is None else environ
    bot_id = (env.get("BOT_ID") or "").strip()
    if bot_id:
        return DatabaseConfigSource(bot_id, env)
    return EnvConfigSource(env)
