"""A bot's trading pairs from the web: add, edit, delete, and the strategy parameters' checks.

As in saas.services.bots.edit: the acting user scopes every lookup (another user's bot or pair is
a 404), the plan's pair limit is checked in the same transaction, changes are audited, and the
caller commits. Symbol and side identify a pair's history, so they are fixed once it exists.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from config_loader import ALLOWED_EMA_INTERVALS
from saas.models import BOT_RUNNING, Bot, TradingPair
from saas.models.trading import MARGIN_MODES, MAX_LEVERAGE, SIDES
from saas.services.bots import limits
from saas.services.bots.edit import BotError, audit, owned_bot
from strategies import DEFAULT_STRATEGY, STRATEGIES, StrategyParamError
from strategies.base import BOOL, CHOICE
from strategies.types import InstrumentRules

MIN_LEVERAGE = Decimal(1)
PARAM_PREFIX = "param_"


@dataclass(frozen=True)
class PairInput:
    """What the pair form asks for; ``params`` are raw texts by name, blank meaning the default."""

    symbol: str
    side: str
    leverage: Decimal
    ema_interval: int
    automatic_mode: bool = True
    is_active: bool = True
    strategy: str = DEFAULT_STRATEGY
    params: Mapping[str, str] = field(default_factory=dict)
    margin_mode: str = "cross"


def param_field(name: str) -> str:
    """The form field of a strategy parameter."""
    return f"{PARAM_PREFIX}{name}"


def pair_settings(pair: TradingPair) -> dict:
    """The audited view of a pair."""
    return {
        "symbol": pair.symbol,
        "side": pair.side,
        "leverage": str(pair.leverage),
        "ema_interval": pair.ema_interval,
        "automatic_mode": pair.automatic_mode,
        "is_active": pair.is_active,
        "strategy": pair.strategy,
        "strategy_params": dict(pair.strategy_params or {}),
        "margin_mode": pair.margin_mode,
    }


def _json_value(value):
    """Decimals kept as text so JSON keeps every digit; switches and words as they are."""
    return str(value) if isinstance(value, Decimal) else value


def clean_strategy_params(strategy: str, raw: Mapping[str, str]) -> dict:
    """The overrides of the filled-in parameters, checked; BotError naming the parameter."""
    strategy_class = STRATEGIES.get(strategy)
    if strategy_class is None:
        raise BotError(f"Choose one of the strategies: {', '.join(STRATEGIES)}.", "strategy")
    overrides = {}
    for info in strategy_class.describe_params():
        value = raw.get(info.name)
        if value is None or (isinstance(value, str) and not value.strip()):
            continue  # blank: the strategy's default applies
        try:
            overrides[info.name] = _json_value(info.coerce(value))
        except StrategyParamError as exc:
            raise BotError(str(exc), param_field(info.name)) from None
    try:
        strategy_class.validate_params(overrides)
    except StrategyParamError as exc:
        raise BotError(str(exc), "strategy") from None
    return overrides


def param_texts(params: Mapping | None) -> dict[str, str]:
    """A pair's stored overrides as the form shows them (bools as "true" / "false")."""
    texts = {}
    for name, value in (params or {}).items():
        texts[name] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return texts


def _check_leverage(leverage, rules: InstrumentRules | None) -> Decimal:
    """1..125 and at most the instrument's maximum when the exchange told us."""
    try:
        leverage = Decimal(leverage)
    except (TypeError, ValueError, ArithmeticError):
        raise BotError("Leverage must be a number.", "leverage") from None
    if not leverage.is_finite() or not MIN_LEVERAGE <= leverage <= MAX_LEVERAGE:
        raise BotError(f"Leverage must be between 1 and {MAX_LEVERAGE}.", "leverage")
    if rules is not None and leverage > rules.max_leverage:
        raise BotError(
            f"{rules.symbol} allows at most {rules.max_leverage.normalize():f}x leverage.",
            "leverage",
        )
    return leverage


def _check_common(data: PairInput, rules: InstrumentRules | None) -> tuple[Decimal, dict]:
    """Side, interval, leverage and strategy parameters of a pair form."""
    if data.side not in SIDES:
        raise BotError("Choose Long or Short.", "side")
    if int(data.ema_interval) not in ALLOWED_EMA_INTERVALS:
        allowed = ", ".join(map(str, ALLOWED_EMA_INTERVALS))
        raise BotError(f"The EMA interval must be one of {allowed} minutes.", "ema_interval")
    if data.margin_mode not in MARGIN_MODES:
        raise BotError("Choose cross or isolated margin.", "margin_mode")
    leverage = _check_leverage(data.leverage, rules)
    return leverage, clean_strategy_params(data.strategy, data.params)


def _active_pairs(session: Session, bot: Bot, excluding: int | None = None) -> int:
    """How many active pairs the bot has (optionally not counting one)."""
    query = select(func.count(TradingPair.id)).where(
        TradingPair.bot_id == bot.id, TradingPair.is_active.is_(True)
    )
    if excluding is not None:
        query = query.where(TradingPair.id != excluding)
    return session.scalar(query) or 0


def _keep_one_active(session: Session, bot: Bot, pair: TradingPair) -> None:
    """A running bot must keep an active pair: it would fail every run without one."""
    if bot.status == BOT_RUNNING and pair.is_active and not _active_pairs(session, bot, pair.id):
        raise BotError("This is the running bot's last active pair; stop the bot first.")


def owned_pair(session: Session, user, bot_id, pair_id) -> tuple[Bot, TradingPair]:
    """The user's bot and its pair; NotFound for anything else (another bot's pair too)."""
    bot = owned_bot(session, user, bot_id)
    pair = TradingPair.get_owned_or_404(pair_id, user, session)
    if pair.bot_id != bot.id:
        from werkzeug.exceptions import NotFound  # noqa: PLC0415

        raise NotFound()
    return bot, pair


def add_pair(
    session: Session,
    user,
    bot_id,
    data: PairInput,
    *,
    rules: InstrumentRules | None = None,
    ip: str | None = None,
    plans: Mapping | None = None,
) -> TradingPair:
    """A new pair of the user's bot; one per (symbol, side), within the plan's pair limit."""
    bot = owned_bot(session, user, bot_id)
    symbol = (data.symbol or "").strip().upper()
    if not symbol:
        raise BotError("Enter the symbol, for example BTCUSDT.", "symbol")
    leverage, params = _check_common(data, rules)
    try:
        limits.check_can_add_pair(bot, session=session, table=plans)
    except limits.LimitError as exc:
        raise BotError(str(exc)) from None
    duplicate = session.scalar(
        select(TradingPair.id).where(
            TradingPair.bot_id == bot.id,
            TradingPair.symbol == symbol,
            TradingPair.side == data.side,
        )
    )
    if duplicate is not None:
        raise BotError(
            f"This bot already trades {symbol} {data.side}; edit that pair instead.", "symbol"
        )
    pair = TradingPair(
        bot_id=bot.id,
        symbol=symbol,
        side=data.side,
        leverage=leverage,
        ema_interval=int(data.ema_interval),
        automatic_mode=bool(data.automatic_mode),
        is_active=bool(data.is_active),
        strategy=data.strategy,
        strategy_params=params,
        margin_mode=data.margin_mode,
    )
    session.add(pair)
    session.flush()
    audit(user, "pair.create", target=pair, after=pair_settings(pair), ip=ip)
    return pair


def update_pair(
    session: Session,
    user,
    bot_id,
    pair_id,
    data: PairInput,
    *,
    rules: InstrumentRules | None = None,
    ip: str | None = None,
) -> TradingPair:
    """Change a pair's leverage, interval, modes, strategy and parameters."""
    bot, pair = owned_pair(session, user, bot_id, pair_id)
    data = PairInput(
        pair.symbol,
        pair.side,
        data.leverage,
        data.ema_interval,
        data.automatic_mode,
        data.is_active,
        data.strategy,
        data.params,
        data.margin_mode,
    )
    leverage, params = _check_common(data, rules)
    if pair.is_active and not data.is_active:
        _keep_one_active(session, bot, pair)
    before = pair_settings(pair)
    pair.leverage, pair.ema_interval = leverage, int(data.ema_interval)
    pair.automatic_mode, pair.is_active = bool(data.automatic_mode), bool(data.is_active)
    pair.strategy, pair.strategy_params = data.strategy, params
    pair.margin_mode = data.margin_mode
    session.flush()
    after = pair_settings(pair)
    if after != before:
        audit(user, "pair.update", target=pair, before=before, after=after, ip=ip)
    return pair


def delete_pair(session: Session, user, bot_id, pair_id, *, ip: str | None = None) -> None:
    """Remove a pair; its orders and trades stay in the history."""
    bot, pair = owned_pair(session, user, bot_id, pair_id)
    _keep_one_active(session, bot, pair)
    audit(user, "pair.delete", target=pair, before=pair_settings(pair), ip=ip)
    session.delete(pair)
    session.flush()


def strategy_fields(strategy: str) -> list[dict]:
    """The parameters of a strategy as a form shows them: name, kind, default, range, help."""
    strategy_class = STRATEGIES.get(strategy) or STRATEGIES[DEFAULT_STRATEGY]
    fields = []
    for info in strategy_class.describe_params():
        described = info.as_dict()
        if info.kind == BOOL:
            described["default"] = "true" if info.default else "false"
        elif info.kind == CHOICE:
            described["default"] = str(info.default)
        fields.append(described)
    return fields
