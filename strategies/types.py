"""Value types passed between the exchange layer, the strategies and the workflows.

The per-decision types (Snapshot, Indicators, Volatility, Position) are plain slotted dataclasses:
a backtest builds ~100,000 of each per year, and frozen construction costs several times more.
Treat them as read-only all the same; ``decide`` never changes its input (tests check it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

LONG = "Long"
SHORT = "Short"
SIDES = (LONG, SHORT)
BUY = "Buy"
SELL = "Sell"


class ActionKind(StrEnum):
    """What an order does to the position."""

    OPEN = "OPEN"
    ADD = "ADD"
    REDUCE = "REDUCE"
    CLOSE = "CLOSE"

    @property
    def reduces(self) -> bool:
        """True for orders that make the position smaller."""
        return self in (ActionKind.REDUCE, ActionKind.CLOSE)


def entry_side(side: str) -> str:
    """Order side that grows a position of this side (Buy for Long)."""
    return BUY if side == LONG else SELL


def exit_side(side: str) -> str:
    """Order side that shrinks a position of this side (Sell for Long)."""
    return SELL if side == LONG else BUY


@dataclass(frozen=True, slots=True)
class Candle:
    """One closed candle; ``ts_ms`` is its open time in UTC milliseconds."""

    ts_ms: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal


@dataclass(frozen=True, slots=True)
class InstrumentRules:
    """An instrument's trading rules as the exchange publishes them."""

    symbol: str
    qty_step: Decimal
    min_qty: Decimal
    max_qty: Decimal
    tick_size: Decimal
    min_notional: Decimal = Decimal(0)
    max_leverage: Decimal = Decimal(100)
    maint_margin_rate: Decimal = Decimal("0.005")
    # Risk-limit tiers as ((notional cap, maintenance rate), ...) rising; empty: one rate.
    maint_tiers: tuple = ()


@dataclass(slots=True)
class Position:
    """An open position of one side, as the exchange reports it (unrounded).

    ``margin`` is the position's assigned margin, which the existing bot calls
    "positionValue"; ``margin_level`` follows section 3.6 of the spec and is None
    only when the exchange reports no maintenance margin.
    """

    symbol: str
    side: str
    size: Decimal
    entry_price: Decimal
    margin: Decimal
    unrealised_pnl: Decimal
    margin_level: Decimal | None
    mark_price: Decimal
    leverage: Decimal = Decimal(10)
    liquidation_price: Decimal | None = None
    margin_mode: str | None = None  # "cross" or "isolated" as the exchange reports it


@dataclass(slots=True)
class Balance:
    """Account balance in USDT: wallet balance and margin in use."""

    wallet: Decimal
    used: Decimal

    @property
    def available(self) -> Decimal:
        """What new orders may still use."""
        return self.wallet - self.used


@dataclass(slots=True)
class Ticker:
    """Best bid and ask."""

    bid: Decimal
    ask: Decimal


@dataclass(slots=True)
class Volatility:
    """The volatility and decline-velocity reading of section 4 of the spec."""

    is_high: bool = False
    trigger: str | None = None
    value: float = 0.0
    threshold: float = 0.0
    atr: float | None = None
    atr_threshold: float | None = None
    bb_width: float | None = None
    hist_volatility: float | None = None
    decline_type: str = "UNKNOWN"
    decline_score: float = 0.0
    roc_5: float | None = None
    roc_15: float | None = None
    roc_30: float | None = None
    smoothness: float | None = None
    volume_ratio: float | None = None


@dataclass(slots=True)
class Indicators:
    """Indicator values computed from closed candles only."""

    ema50: float
    ema200: float
    ema100_1h: float
    volatility: Volatility = field(default_factory=Volatility)


@dataclass(slots=True)
class Snapshot:
    """Everything ``decide`` may look at for one (symbol, side); it reads nothing else."""

    now: datetime
    symbol: str
    side: str
    auto: bool
    leverage: Decimal
    bid: Decimal
    ask: Decimal
    balance: Decimal
    position: Position | None
    indicators: Indicators
    instrument: InstrumentRules
    account_positions: tuple[Position, ...] = ()

    @property
    def price(self) -> Decimal:
        """The passive entry price: bid for Long, ask for Short."""
        return self.bid if self.side == LONG else self.ask


@dataclass(frozen=True, slots=True)
class Action:
    """One order the strategy wants placed; quantity is already on the step."""

    kind: ActionKind
    side: str
    order_side: str
    qty: Decimal
    price: Decimal | None
    reduce_only: bool
    post_only: bool
    reason: str

    @property
    def is_market(self) -> bool:
        """A market order carries no price."""
        return self.price is None


@dataclass(frozen=True, slots=True)
class Alert:
    """Something the owner should hear about; ``key`` names the condition for de-duplication."""

    kind: str
    key: str
    fields: dict


class Decision:
    """What ``decide`` returns: orders to place, alerts to send and a one-line conclusion.

    The conclusion may instead be given as ``explain=(function, *args)``: it is then formatted on
    first read, so a backtest that never reads its ~100,000 conclusions does not format them.
    """

    __slots__ = ("actions", "alerts", "_text", "_explain")

    def __init__(self, actions=(), alerts=(), conclusion: str = "", *, explain=None):
        self.actions: tuple[Action, ...] = tuple(actions)
        self.alerts: tuple[Alert, ...] = tuple(alerts)
        self._text = conclusion
        self._explain = explain

    @property
    def conclusion(self) -> str:
        """The one-line explanation, formatted once when first needed."""
        if self._explain is not None:
            function, *args = self._explain
            self._text, self._explain = function(*args), None
        return self._text

    def __eq__(self, other) -> bool:
        if not isinstance(other, Decision):
            return NotImplemented
        return (self.actions, self.alerts, self.conclusion) == (
            other.actions,
            other.alerts,
            other.conclusion,
        )

    __hash__ = None

    def __repr__(self) -> str:
        return (
            f"Decision(actions={self.actions!r}, alerts={self.alerts!r}, "
            f"conclusion={self.conclusion!r})"
        )
