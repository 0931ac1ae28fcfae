"""The simulated exchange's matching and margin engine, shared by paper trading and backtests."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from clients.base import (
    CANCELLED,
    FILLED,
    NEW,
    POST_ONLY,
    OrderRequest,
    OrderResult,
    margin_level,
    unrealised_pnl,
)
from clients.errors import (
    DuplicateOrderIdError,
    InsufficientFundsError,
    InvalidOrderError,
)
from clients.paper_liquidation import Fill, MarginModes
from clients.paper_margin import CROSS, ISOLATED, check_margin_mode, liquidation_price, tier_rate
from strategies.types import BUY, LONG, SHORT, Balance, InstrumentRules, Position

__all__ = ["CROSS", "ISOLATED", "Fill", "PaperEngine", "liquidation_price"]

ZERO = Decimal(0)
ONE = Decimal(1)
FUNDING_PERIOD_MS = 8 * 3600 * 1000
NUDGE = Decimal("1e-12")


@dataclass(slots=True)
class PaperPosition:
    """One side's open position inside the engine."""

    size: Decimal
    entry: Decimal
    margin: Decimal
    leverage: Decimal
    maint_rate: Decimal
    liq_price: Decimal = ZERO


@dataclass(slots=True)
class PaperOrder:
    """One order inside the engine; resting until filled or cancelled."""

    request: OrderRequest
    status: str
    ts_ms: int
    leverage: Decimal
    filled_qty: Decimal = ZERO
    avg_price: Decimal | None = None
    fee: Decimal = ZERO


class PaperEngine(MarginModes):
    """Positions, orders, fees, funding and liquidation for one simulated USDT account."""

    def __init__(
        self,
        balance: Decimal = Decimal("10000"),
        maker_fee: Decimal = Decimal("0.0002"),
        taker_fee: Decimal = Decimal("0.00055"),
        slippage: Decimal = Decimal("0.0005"),
        margin_mode: str = CROSS,
        liquidation_fee: Decimal = Decimal("0.00055"),
    ):
        self.wallet = Decimal(balance)
        # The account's default mode; a symbol may be set apart (exchanges keep it per symbol).
        self.margin_mode = check_margin_mode(margin_mode)
        self.symbol_modes: dict[str, str] = {}
        self.liquidation_fee = Decimal(liquidation_fee)
        self.maint_tiers: dict[str, tuple] = {}
        # Bumped by everything that can move a liquidation price, so callers may cache them.
        self.epoch = 0
        self._levels: dict[str, tuple] = {}  # cross levels by symbol, valid for one epoch
        self.maker_fee = Decimal(maker_fee)
        self.taker_fee = Decimal(taker_fee)
        self.slippage = Decimal(slippage)
        self.positions: dict[tuple[str, str], PaperPosition] = {}
        self.orders: dict[str, PaperOrder] = {}
        self.open_ids: dict[str, list[str]] = {}
        self.leverage: dict[str, Decimal] = {}
        self.marks: dict[str, Decimal] = {}
        self.maint_rates: dict[str, Decimal] = {}
        self.fills: list[Fill] = []
        self.fees_paid = ZERO
        self.funding_paid = ZERO
        self.liquidations = 0
        self.last_ts_ms = 0

    # -- account views -------------------------------------------------------------------------

    def balance(self) -> Balance:
        """Wallet balance and the margin held by positions and resting entry orders."""
        used = sum((p.margin for p in self.positions.values()), ZERO)
        for ids in self.open_ids.values():
            for cid in ids:
                order = self.orders[cid]
                if not order.request.reduce_only:
                    used += order.request.qty * order.request.price / order.leverage
        return Balance(wallet=self.wallet, used=used)

    def position(self, symbol: str, side: str) -> Position | None:
        """The exchange-style view of one side's position at the last mark."""
        pos = self.positions.get((symbol, side))
        if pos is None:
            return None
        mark = self.marks.get(symbol, pos.entry)
        upnl = unrealised_pnl(side, pos.size, pos.entry, mark)
        return Position(
            symbol=symbol,
            side=side,
            size=pos.size,
            entry_price=pos.entry,
            margin=pos.margin,
            unrealised_pnl=upnl,
            margin_level=margin_level(pos.margin, upnl, pos.size, mark, pos.maint_rate),
            mark_price=mark,
            leverage=pos.leverage,
            liquidation_price=self._liquidation_price(symbol, side, pos),
            margin_mode=self.mode(symbol),
        )

    def all_positions(self) -> list[Position]:
        """Every open position."""
        return [self.position(symbol, side) for symbol, side in self.positions]

    def equity(self) -> Decimal:
        """Wallet plus unrealised PnL at the last marks."""
        total = self.wallet
        for (symbol, side), pos in self.positions.items():
            total += unrealised_pnl(side, pos.size, pos.entry, self.marks.get(symbol, pos.entry))
        return total

    # -- orders --------------------------------------------------------------------------------

    def place(
        self, req: OrderRequest, rules: InstrumentRules, bid: Decimal, ask: Decimal, ts_ms: int
    ) -> OrderResult:
        """Accept, fill or refuse an order at the current touch."""
        if req.client_order_id in self.orders:
            raise DuplicateOrderIdError("duplicate client order id", code="duplicate")
        self._validate(req, rules)
        self.maint_rates[req.symbol] = rules.maint_margin_rate
        self.maint_tiers[req.symbol] = rules.maint_tiers
        lev = self.leverage.get(req.symbol, Decimal(10))
        buy = req.side == BUY
        if req.price is None:
            touch = ask if buy else bid
            price = touch * (ONE + self.slippage) if buy else touch * (ONE - self.slippage)
            self._check_funds(req, price, lev)
            order = PaperOrder(req, NEW, ts_ms, lev)
            self.orders[req.client_order_id] = order
            self._fill(order, price, ts_ms, maker=False)
            return self.result(req.client_order_id)
        crosses = req.price >= ask if buy else req.price <= bid
        if crosses and req.time_in_force == POST_ONLY:
            raise InvalidOrderError("post-only order would take liquidity", code="post_only")
        self._check_funds(req, req.price, lev)
        order = PaperOrder(req, NEW, ts_ms, lev)
        self.orders[req.client_order_id] = order
        if crosses:
            self._fill(order, min(req.price, ask) if buy else max(req.price, bid), ts_ms, False)
        else:
            self.open_ids.setdefault(req.symbol, []).append(req.client_order_id)
        return self.result(req.client_order_id)

    def _validate(self, req: OrderRequest, rules: InstrumentRules) -> None:
        """Refuse what a real exchange refuses: off-step sizes, tiny orders, off-tick prices."""
        if req.qty <= 0 or req.qty % rules.qty_step != 0:
            raise InvalidOrderError(f"quantity {req.qty} is not on the step {rules.qty_step}")
        if req.qty < rules.min_qty or req.qty > rules.max_qty:
            raise InvalidOrderError(
                f"quantity {req.qty} outside [{rules.min_qty}, {rules.max_qty}]"
            )
        if req.price is not None:
            if req.price <= 0 or req.price % rules.tick_size != 0:
                raise InvalidOrderError(f"price {req.price} is not on the tick {rules.tick_size}")
            if not req.reduce_only and req.qty * req.price < rules.min_notional:
                raise InvalidOrderError(f"order value below the minimum {rules.min_notional}")
        if req.reduce_only and (req.symbol, req.position_side) not in self.positions:
            raise InvalidOrderError("reduce-only order with no position to reduce")

    def _check_funds(self, req: OrderRequest, price: Decimal, lev: Decimal) -> None:
        """Entry orders need their margin and fee to be available."""
        if req.reduce_only:
            return
        need = req.qty * price / lev + req.qty * price * self.taker_fee
        if need > self.balance().available:
            raise InsufficientFundsError("insufficient available balance", code="funds")

    def cancel(self, symbol: str, prefix: str) -> list[str]:
        """Cancel resting orders of a symbol whose client id starts with the prefix."""
        kept, cancelled = [], []
        for cid in self.open_ids.get(symbol, []):
            if cid.startswith(prefix):
                self.orders[cid].status = CANCELLED
                cancelled.append(cid)
            else:
                kept.append(cid)
        self.open_ids[symbol] = kept
        return cancelled

    def result(self, cid: str) -> OrderResult | None:
        """An order's state as an exchange would report it."""
        order = self.orders.get(cid)
        if order is None:
            return None
        req = order.request
        return OrderResult(
            client_order_id=cid,
            symbol=req.symbol,
            side=req.side,
            position_side=req.position_side,
            qty=req.qty,
            price=req.price,
            status=order.status,
            filled_qty=order.filled_qty,
            avg_price=order.avg_price,
            fee=order.fee,
            exchange_order_id=f"paper-{cid}",
            reduce_only=req.reduce_only,
        )

    # -- market events -------------------------------------------------------------------------

    def on_candle(
        self, symbol: str, ts_ms: int, high: Decimal, low: Decimal, close: Decimal
    ) -> None:
        """Fill resting orders the candle traded through, then liquidate what it reached."""
        self.last_ts_ms = ts_ms
        for cid in list(self.open_ids.get(symbol, ())):
            order = self.orders[cid]
            price = order.request.price
            if (low < price) if order.request.side == BUY else (high > price):
                self.open_ids[symbol].remove(cid)
                self._fill(order, price, ts_ms, maker=True)
        if self.mode(symbol) == CROSS:
            falls, rises = self.cross_levels(symbol)
            if falls is not None and low <= falls:
                self._liquidate_cross(symbol, min(falls, high), ts_ms)
            elif rises is not None and high >= rises:
                self._liquidate_cross(symbol, max(rises, low), ts_ms)
            if len(self.positions) > 1:
                self.epoch += 1  # this mark moves the other symbols' cross levels
        else:
            for side in (LONG, SHORT):
                pos = self.positions.get((symbol, side))
                if pos is not None and (
                    low <= pos.liq_price if side == LONG else high >= pos.liq_price
                ):
                    self._liquidate(symbol, side, pos, ts_ms)
        self.marks[symbol] = close

    def apply_funding(self, symbol: str, rate: Decimal, mark: Decimal, ts_ms: int) -> Decimal:
        """Charge one funding event: Longs pay a positive rate, Shorts receive it; returns paid."""
        paid = ZERO
        for side in (LONG, SHORT):
            pos = self.positions.get((symbol, side))
            if pos is None:
                continue
            amount = pos.size * mark * rate
            amount = amount if side == LONG else -amount
            self.wallet -= amount
            paid += amount
        self.funding_paid += paid
        self.epoch += 1
        return paid

    def _fill(self, order: PaperOrder, price: Decimal, ts_ms: int, maker: bool) -> None:
        """Book a full fill: fee, position change, realised PnL."""
        req = order.request
        key = (req.symbol, req.position_side)
        pos = self.positions.get(key)
        qty = req.qty
        self.epoch += 1
        if req.reduce_only:
            if pos is None:
                order.status = CANCELLED
                return
            qty = min(qty, pos.size)
        fee = qty * price * (self.maker_fee if maker else self.taker_fee)
        self.wallet -= fee
        self.fees_paid += fee
        pnl = ZERO
        if req.reduce_only:
            pnl = unrealised_pnl(req.position_side, qty, pos.entry, price)
            self.wallet += pnl
            remaining = pos.size - qty
            kind = "CLOSE" if remaining == 0 else "REDUCE"
            if remaining == 0:
                del self.positions[key]
            else:
                pos.margin = pos.margin * remaining / pos.size
                pos.size = remaining
                self._rate(req.symbol, pos)
                self._reprice(req.position_side, pos)
        else:
            kind = "OPEN" if pos is None else "ADD"
            self._grow(key, req.position_side, qty, price, order.leverage, req.symbol)
        order.status = FILLED
        order.filled_qty = qty
        order.avg_price = price
        order.fee = fee
        self.fills.append(
            Fill(
                ts_ms,
                req.symbol,
                req.position_side,
                kind,
                req.side,
                qty,
                price,
                fee,
                pnl,
                req.client_order_id,
                maker,
            )
        )

    def _grow(self, key, side, qty, price, lev, symbol) -> None:
        """Add to (or open) a position at a price with its margin."""
        pos = self.positions.get(key)
        margin = qty * price / lev
        maint = self.maint_rates.get(symbol, Decimal("0.005"))
        if pos is None:
            pos = PaperPosition(qty, price, margin, lev, maint)
            self.positions[key] = pos
        else:
            pos.entry = (pos.entry * pos.size + price * qty) / (pos.size + qty)
            pos.size += qty
            pos.margin += margin
        self._rate(symbol, pos)
        self._reprice(side, pos)

    def _rate(self, symbol: str, pos: PaperPosition) -> None:
        """The maintenance rate of the risk-limit tier the position's entry value is in."""
        tiers = self.maint_tiers.get(symbol)
        if tiers:
            pos.maint_rate = tier_rate(tiers, pos.size * pos.entry, pos.maint_rate)

    @staticmethod
    def _reprice(side: str, pos: PaperPosition) -> None:
        """Recompute the liquidation price after the position changed."""
        pos.liq_price = liquidation_price(side, pos.size, pos.entry, pos.margin, pos.maint_rate)
