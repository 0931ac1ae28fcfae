"""The fake exchange's book-keeping, shared by both dialects: accounts, positions, orders, fills."""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from decimal import Decimal

from tests.fake_exchange.market import Market

BUY, SELL, LONG, SHORT = "Buy", "Sell", "Long", "Short"
OPEN_STATUSES = ("New", "PartiallyFilled")
# Fee rates as the exchanges publish for the base tier (taker, maker).
FEES = {
    "bybit": (Decimal("0.00055"), Decimal("0.0002")),
    "phemex": (Decimal("0.0006"), Decimal("0.0001")),
}
POST_ONLY_REASON = "EC_PostOnlyWillTakeLiquidity"


class Reject(Exception):
    """An order or setting refused; ``kind`` is translated into each dialect's own code."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind
        self.message = message


@dataclass
class Order:
    """One order as the fake exchange keeps it (statuses in Bybit spelling)."""

    exchange: str
    api_key: str
    order_id: str
    client_id: str
    symbol: str
    side: str
    position_side: str
    order_type: str  # Market / Limit
    qty: Decimal
    price: Decimal | None
    time_in_force: str
    reduce_only: bool
    created_ms: int
    status: str = "New"
    filled_qty: Decimal = Decimal(0)
    filled_value: Decimal = Decimal(0)
    fee: Decimal = Decimal(0)
    updated_ms: int = 0
    reject_reason: str = ""

    @property
    def is_open(self) -> bool:
        """Still on the book."""
        return self.status in OPEN_STATUSES

    @property
    def avg_price(self) -> Decimal | None:
        """Average fill price, None before any fill."""
        return self.filled_value / self.filled_qty if self.filled_qty else None

    @property
    def grows(self) -> bool:
        """Whether fills grow the position (a buy for Long, a sell for Short)."""
        return (self.side == BUY) == (self.position_side == LONG)


@dataclass
class PositionState:
    """One side of one symbol."""

    size: Decimal = Decimal(0)
    entry: Decimal = Decimal(0)
    realised: Decimal = Decimal(0)


@dataclass
class Account:
    """An API key's account: USDT balance, per-symbol modes and leverage, positions, orders."""

    exchange: str
    api_key: str
    secret: str
    balance: Decimal
    hedged: dict[str, bool] = field(default_factory=dict)
    leverage: dict[tuple[str, str], Decimal] = field(default_factory=dict)
    positions: dict[tuple[str, str], PositionState] = field(default_factory=dict)
    orders: dict[str, Order] = field(default_factory=dict)  # by client id
    # What Bybit's /v5/user/query-api reports: a trading key with no IP whitelist by default.
    key_permissions: dict[str, list[str]] = field(
        default_factory=lambda: {"ContractTrade": ["Order", "Position"]}
    )
    key_ips: list[str] = field(default_factory=lambda: ["*"])
    key_read_only: bool = False

    def position(self, symbol: str, side: str) -> PositionState:
        """The position of one side, created empty on first use."""
        return self.positions.setdefault((symbol, side), PositionState())

    def lev(self, symbol: str, side: str) -> Decimal:
        """Leverage of one side: 10 by default (Phemex writes cross margin as negative)."""
        default = Decimal(-10) if self.exchange == "phemex" else Decimal(10)
        return self.leverage.get((symbol, side), default)


class Engine:
    """Order matching and position accounting against scripted prices; all access under ``lock``."""

    def __init__(self, market: Market, clock):
        self.market = market
        self.clock = clock
        self.lock = threading.RLock()
        self.accounts: dict[tuple[str, str], Account] = {}

    def now_ms(self) -> int:
        """The fake exchange's clock in milliseconds."""
        return int(self.clock() * 1000)

    def account(self, exchange: str, api_key: str) -> Account | None:
        """The account of a key, or None."""
        return self.accounts.get((exchange, api_key))

    # Margin.
    def upnl(self, account: Account, symbol: str, side: str) -> Decimal:
        """Unrealised PnL of one side at the scripted price."""
        pos = account.position(symbol, side)
        diff = self.market.price(symbol) - pos.entry
        return (diff if side == LONG else -diff) * pos.size

    def position_margin(self, account: Account, symbol: str, side: str) -> Decimal:
        """Initial margin of one side: size x entry / leverage."""
        pos = account.position(symbol, side)
        return pos.size * pos.entry / abs(account.lev(symbol, side))

    def used_margin(self, account: Account) -> Decimal:
        """Margin held by positions and by open orders that would grow them."""
        used = sum(
            (self.position_margin(account, sym, side) for (sym, side) in account.positions),
            Decimal(0),
        )
        for order in account.orders.values():
            if order.is_open and order.grows and order.price is not None:
                remaining = order.qty - order.filled_qty
                used += (
                    remaining * order.price / abs(account.lev(order.symbol, order.position_side))
                )
        return used

    # Orders.
    def place(self, account: Account, order: Order) -> Order:
        """Validate, record and match one new order; Reject when refused outright."""
        rules = self.market.rules(order.symbol)
        self._validate(account, order, rules)
        account.orders[order.client_id] = order
        price = self.market.price(order.symbol)
        bid, ask = self.market.touch(order.symbol)
        crosses = order.price is None or (
            order.price >= ask if order.side == BUY else order.price <= bid
        )
        if crosses and order.time_in_force in ("PostOnly",) and order.price is not None:
            order.status = "Cancelled" if account.exchange == "bybit" else "Rejected"
            order.reject_reason = POST_ONLY_REASON
        elif crosses:
            self._fill(account, order, price, maker=False)
        elif order.time_in_force in ("ImmediateOrCancel", "FillOrKill", "FOK"):
            order.status = "Cancelled"  # nothing to take right now, and it may not rest
        order.updated_ms = self.now_ms()
        return order

    def _validate(self, account: Account, order: Order, rules) -> None:
        if order.client_id in account.orders:
            raise Reject("duplicate", f"client order id {order.client_id} already used")
        if not account.hedged.get(order.symbol, False):
            raise Reject("mode", "position side given but the symbol is not in hedge mode")
        if order.qty <= 0 or order.qty % rules.qty_step or order.qty < rules.min_qty:
            raise Reject("qty", f"quantity {order.qty} is not a multiple of {rules.qty_step}")
        if order.qty > rules.max_qty:
            raise Reject("qty", f"quantity {order.qty} above the maximum {rules.max_qty}")
        if order.price is not None and (order.price <= 0 or order.price % rules.tick_size):
            raise Reject("price", f"price {order.price} is not on the tick {rules.tick_size}")
        reference = order.price or self.market.price(order.symbol)
        if order.qty * reference < rules.min_notional:
            raise Reject("notional", f"order value under the minimum {rules.min_notional}")
        pos = account.position(order.symbol, order.position_side)
        if order.reduce_only and (order.grows or pos.size <= 0):
            raise Reject("reduce_only", "reduce-only order would not reduce a position")
        if order.grows:
            lev = abs(account.lev(order.symbol, order.position_side))
            taker = FEES[account.exchange][0]
            needed = order.qty * reference * (1 / lev + taker)
            if needed > account.balance - self.used_margin(account):
                raise Reject("funds", "insufficient available balance")

    def _fill(self, account: Account, order: Order, price: Decimal, *, maker: bool) -> None:
        pos = account.position(order.symbol, order.position_side)
        qty = order.qty - order.filled_qty
        if order.grows:
            total = pos.size + qty
            pos.entry = (pos.entry * pos.size + price * qty) / total
            pos.size = total
        else:
            qty = min(qty, pos.size)
            pnl = (price - pos.entry) * qty * (1 if order.position_side == LONG else -1)
            pos.size -= qty
            pos.realised += pnl
            account.balance += pnl
            if pos.size == 0:
                pos.entry = Decimal(0)
        fee = price * qty * FEES[account.exchange][1 if maker else 0]
        account.balance -= fee
        order.fee += fee
        order.filled_qty += qty
        order.filled_value += price * qty
        order.status = "Filled" if order.filled_qty == order.qty else "Cancelled"
        order.updated_ms = self.now_ms()

    def match(self, symbol: str) -> None:
        """Fill resting limit orders the new touch crosses, at their own price."""
        bid, ask = self.market.touch(symbol)
        for account in self.accounts.values():
            for order in list(account.orders.values()):
                if order.symbol != symbol or not order.is_open or order.price is None:
                    continue
                if (
                    order.side == BUY
                    and ask <= order.price
                    or order.side == SELL
                    and (bid >= order.price)
                ):
                    self._fill(account, order, order.price, maker=True)

    def cancel(self, account: Account, symbol: str, *, client_id=None, order_id=None) -> Order:
        """Cancel one open order by client id or order id; Reject("not_found") otherwise."""
        for order in account.orders.values():
            if order.symbol == symbol and (
                order.client_id == client_id or (order_id and order.order_id == order_id)
            ):
                if not order.is_open:
                    raise Reject("not_found", "order already filled or cancelled")
                order.status = "Cancelled"
                order.updated_ms = self.now_ms()
                return order
        raise Reject("not_found", "order does not exist")

    def new_order(self, account: Account, **fields) -> Order:
        """An Order of this account with a fresh exchange id and timestamp."""
        return Order(
            exchange=account.exchange,
            api_key=account.api_key,
            order_id=str(uuid.uuid4()),
            created_ms=self.now_ms(),
            **fields,
        )
