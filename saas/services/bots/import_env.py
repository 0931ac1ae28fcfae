"""A bot from the single-user bot's `.env`: read with config_loader's own grammar, then created.

The text is parsed as main.py reads its `.env` (python-dotenv, then config_loader's
EnvConfigSource: the SYMBOL grammar, the truthy sets, EMA_INTERVAL, LEVERAGE, STRATEGY_PARAMS,
USE_POSTONLY, Telegram), so one grammar serves both. Keys are handed to the encryption and never
put in a message, a repr or the preview; nothing is created unless everything is valid.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from dotenv import dotenv_values
from sqlalchemy.orm import Session

from config_loader import ConfigError, EnvConfigSource, PairConfig
from saas.security import KeyRing
from saas.services.bots import edit, pairs
from saas.services.bots.edit import BotError, NewBot
from saas.services.bots.pairs import PairInput
from strategies import StrategyParamError, get_strategy

MAX_ENV_BYTES = 64 * 1024


class ImportEnvError(ValueError):
    """The file cannot be imported; one line saying what to fix."""


@dataclass(frozen=True)
class ImportedBot:
    """What a `.env` describes; the keys and the Telegram token stay out of the repr."""

    exchange: str
    testnet: bool
    pairs: tuple[PairConfig, ...]
    telegram_chat_id: str | None
    api_key: str = field(default="", repr=False)
    api_secret: str = field(default="", repr=False)
    telegram_bot_token: str = field(default="", repr=False)

    @property
    def has_keys(self) -> bool:
        """Whether the file carried both API key and secret."""
        return bool(self.api_key and self.api_secret)

    def summary(self) -> dict:
        """What the preview shows: everything but the secrets (only whether they were found)."""
        return {
            "exchange": self.exchange,
            "testnet": self.testnet,
            "keys_found": self.has_keys,
            "telegram_chat_id": self.telegram_chat_id,
            "telegram_bot_token_found": bool(self.telegram_bot_token),
            "pairs": [
                {
                    "symbol": p.symbol,
                    "side": p.side,
                    "automatic_mode": p.auto,
                    "leverage": format(p.leverage, "f"),
                    "ema_interval": p.ema_interval,
                    "strategy": p.strategy,
                    "params": {k: _plain(v) for k, v in p.params.items()},
                }
                for p in self.pairs
            ],
        }


def _plain(value):
    """A parameter as JSON keeps it (Decimals as text)."""
    return value if isinstance(value, bool | int | str) or value is None else str(value)


def read_env_text(text: str) -> dict[str, str]:
    """The variables of a `.env` (or of a bare `SYMBOL=...` line), as main.py would see them."""
    if len(text.encode()) > MAX_ENV_BYTES:
        raise ImportEnvError(f"The file is larger than {MAX_ENV_BYTES // 1024} KB; is it a .env?")
    values = dotenv_values(stream=io.StringIO(text))
    found = {k: v for k, v in values.items() if v is not None}
    if not found:
        raise ImportEnvError("No settings found: paste lines like SYMBOL=BTCUSDT:Long:True.")
    return found


def parse_env(text: str) -> ImportedBot:
    """The bot a `.env` describes; ImportEnvError naming the first bad setting."""
    source = EnvConfigSource(read_env_text(text))
    try:
        exchange = source.get_exchange()
        found_pairs = tuple(source.get_pairs())
        for pair in found_pairs:
            get_strategy(pair.strategy, pair.params)  # the strategy checks its parameters
        key, secret = source.get("API_KEY", ""), source.get("API_SECRET", "")
        token, chat = source.get_telegram_config()
        return ImportedBot(
            exchange=exchange,
            testnet=source.is_testnet(),
            pairs=found_pairs,
            telegram_chat_id=chat,
            api_key=key or "",
            api_secret=secret or "",
            telegram_bot_token=token or "",
        )
    except (ConfigError, StrategyParamError) as exc:
        raise ImportEnvError(str(exc)) from None


def _pair_input(pair: PairConfig) -> PairInput:
    """The pair service's input for an imported pair (parameters as the form's texts)."""
    return PairInput(
        pair.symbol,
        pair.side,
        pair.leverage,
        pair.ema_interval,
        pair.auto,
        True,
        pair.strategy,
        pairs.param_texts(pair.params),
    )


def create_imported_bot(
    session: Session,
    user,
    imported: ImportedBot,
    name: str,
    *,
    ring: KeyRing | None,
    now: datetime,
    ip: str | None = None,
    plans: Mapping | None = None,
):
    """Create the stopped bot, its pairs and the Telegram settings through the same services
    as the pages (audited, plan limits checked); BotError leaves the caller to roll back."""
    bot = edit.create_user_bot(
        session,
        user,
        NewBot(name, imported.exchange, imported.testnet, imported.api_key, imported.api_secret),
        ring=ring,
        ip=ip,
        plans=plans,
    )
    for pair in imported.pairs:
        pairs.add_pair(session, user, bot.id, _pair_input(pair), ip=ip, plans=plans)
    if imported.telegram_chat_id:
        from saas.services.notifications import settings  # noqa: PLC0415

        change = settings.SettingsChange(
            telegram_enabled=True,
            telegram_chat_id=imported.telegram_chat_id,
            telegram_bot_token=imported.telegram_bot_token or None,
        )
        try:
            settings.update_notification_settings(session, user, change, now=now, ring=ring, ip=ip)
        except settings.SettingsError as exc:
            raise BotError(str(exc)) from None
    return bot
