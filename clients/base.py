"""The one interface every exchange implements, with its order types and Decimal rules."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from clients.errors import ExchangeDataError
from strategies.rounding import (  # noqa: F401 - re-exported: clients round with the same rules
    ceil_to_step,
    floor_to_step,
    meets_minimums,
    round2,
    round_price,
    smallest_order_qty,
)
from strategies.types import (
    Balance,
    Candle,
    InstrumentRules,
    Position,
    Ticker,
)

# Order statuses as every client reports them.
NEW = "new"
PARTIALLY_FILLED = "partially_filled"
FILLED = "filled"
CANCELLED = "cancelled"
REJECTED = "rejected"
FINAL_STATUSES = frozenset({FILLED, CANCELLED, REJECTED})

POST_ONLY = "PostOnly"
GOOD_TILL_CANCEL = "GoodTillCancel"
IMMEDIATE_OR_CANCEL = "ImmediateOrCancel"


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """An order as the workflow asks for it; ``price`` None means a market order."""

    symbol: str
    side: str  # Buy / Sell
    position_side: str  # Long / Short
    qty: Decimal
    price: Decimal | None
    client_order_id: str
    reduce_only: bool = False
    time_in_force: str = GOOD_TILL_CANCEL


@dataclass(frozen=True, slots=True)
class OrderResult:
    """What the exchange says about one order."""

    client_order_id: str
    symbol: str
    side: str
    position_side: str
    qty: Decimal
    price: Decimal | None
    status: str
    filled_qty: Decimal = Decimal(0)
    avg_price: Decimal | None = None
    fee: Decimal = Decimal(0)
    exchange_order_id: str = ""
    reduce_only: bool = False
    updated_at: datetime | None = None

    @property
    def is_final(self) -> bool:
        """No further fills can happen."""
        return self.status in FINAL_STATUSES

    def with_status(self, status: str) -> OrderResult:
        """A copy with another status."""
        return replace(self, status=status)


class ExchangeClient(ABC):
    """What the workflow needs from an exchange; every method raises ``clients.errors`` types."""

    name: str = "exchange"
    # Candle intervals (minutes) the exchange serves; None when any interval can be built.
    candle_intervals: frozenset[int] | None = None

    @abstractmethod
    def get_candles(self, symbol: str, interval_minutes: int, limit: int) -> list[Candle]:
        """The last ``limit`` closed candles, oldest first (never the forming one)."""

    @abstractmethod
    def get_ticker(self, symbol: str) -> Ticker:
        """Best bid and ask."""

    @abstractmethod
    def get_balance(self) -> Balance:
        """USDT wallet balance and margin in use."""

    @abstractmethod
    def get_positions(self) -> list[Position]:
        """Every open USDT-perpetual position of the account (size > 0)."""

    def get_position(self, symbol: str, side: str) -> Position | None:
        """The open position of one side of a symbol, or None."""
        for position in self.get_positions():
            if position.symbol == symbol and position.side == side and position.size > 0:
                return position
        return None

    @abstractmethod
    def get_instrument(self, symbol: str) -> InstrumentRules:
        """Quantity step, minimums, tick and maximum leverage of a symbol."""

    @abstractmethod
    def set_leverage(self, symbol: str, leverage: Decimal) -> None:
        """Set both sides' leverage; "not modified" is success."""

    @abstractmethod
    def ensure_hedge_mode(self, symbol: str) -> None:
        """Switch the symbol to hedge (two-sided) mode; "already" is success."""

    @abstractmethod
    def place_order(self, order: OrderRequest) -> OrderResult:
        """Place one order; a timeout or 5xx raises OutcomeUnknownError, never a re-send."""

    @abstractmethod
    def get_order(self, symbol: str, client_order_id: str) -> OrderResult | None:
        """Look an order up by our client order id, open or historical; None if it never existed."""

    @abstractmethod
    def cancel_orders(self, symbol: str, client_id_prefix: str) -> list[str]:
        """Cancel our open orders on a symbol whose client id starts with the prefix; their ids."""

    def close(self) -> None:  # noqa: B027 - optional hook, most clients hold nothing
        """Release connections."""


def margin_level(
    margin: Decimal, upnl: Decimal, size: Decimal, mark: Decimal, maint_rate: Decimal
) -> Decimal:
    """Margin level of spec section 3.6: (margin + uPnL) / maintenance margin, two decimals."""
    maintenance = size * mark * maint_rate
    if maintenance <= 0:
        raise ExchangeDataError("maintenance margin is zero; cannot compute the margin level")
    return round2((margin + upnl) / maintenance)


def unrealised_pnl(side: str, size: Decimal, entry: Decimal, mark: Decimal) -> Decimal:
    """Unrealised PnL of a linear USDT position."""
    diff = mark - entry
    return diff * size if side == "Long" else -diff * size
