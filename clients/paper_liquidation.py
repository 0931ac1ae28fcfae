"""Margin modes of the simulated exchange: cross and isolated levels, liquidation, triggers.

A mixin of ``PaperEngine`` (it reads the engine's wallet, positions, marks and orders); the
arithmetic is in ``clients.paper_margin``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from clients.base import CANCELLED, unrealised_pnl
from clients.paper_margin import CROSS, check_margin_mode, cross_level
from strategies.types import BUY, LONG, SHORT

if TYPE_CHECKING:
    from clients.paper_engine import PaperPosition

ZERO = Decimal(0)
NUDGE = Decimal("1e-12")


@dataclass(frozen=True, slots=True)
class Fill:
    """A fill or a liquidation as the engine booked it."""

    ts_ms: int
    symbol: str
    side: str
    kind: str  # OPEN, ADD, REDUCE, CLOSE, LIQUIDATION
    order_side: str
    qty: Decimal
    price: Decimal
    fee: Decimal
    realised_pnl: Decimal
    client_order_id: str
    maker: bool


class MarginModes:
    """Cross and isolated liquidation for ``PaperEngine``."""

    def mode(self, symbol: str) -> str:
        """The margin mode of a symbol's positions."""
        return self.symbol_modes.get(symbol, self.margin_mode)

    def set_mode(self, symbol: str, mode: str) -> None:
        """Put a symbol in cross or isolated mode (the exchanges keep it per symbol)."""
        self.symbol_modes[symbol] = check_margin_mode(mode)
        self.epoch += 1

    def cross_levels(self, symbol: str) -> tuple[Decimal | None, Decimal | None]:
        """(falls to, rises to): the symbol's prices that liquidate the cross wallet."""
        cached = self._levels.get(symbol)
        if cached is not None and cached[0] == self.epoch:
            return cached[1]
        base = self.wallet
        legs = []
        alone = True  # no other symbol's mark takes part, so the result holds until the epoch moves
        for (sym, side), pos in self.positions.items():
            if self.mode(sym) != CROSS:
                base -= pos.margin  # isolated margin is set apart from the cross wallet
            elif sym == symbol:
                legs.append((side, pos.size, pos.entry, pos.maint_rate))
            else:  # other symbols count at their last mark
                alone = False
                mark = self.marks.get(sym, pos.entry)
                upnl = unrealised_pnl(side, pos.size, pos.entry, mark)
                base += upnl - pos.size * mark * pos.maint_rate
        levels = cross_level(base, legs) if legs else (None, None)
        if alone:
            self._levels[symbol] = (self.epoch, levels)
        return levels

    def _liquidation_price(self, symbol: str, side: str, pos: PaperPosition) -> Decimal | None:
        """The price the exchange would show as the position's liquidation price."""
        if self.mode(symbol) != CROSS:
            return pos.liq_price
        falls, rises = self.cross_levels(symbol)
        return falls if falls is not None else rises

    def _liquidate(self, symbol: str, side: str, pos: PaperPosition, ts_ms: int) -> None:
        """Isolated: close the position at its liquidation price; its whole margin is lost."""
        self.wallet -= pos.margin
        self._remove(symbol, side, pos, ts_ms, pos.liq_price, ZERO, -pos.margin)

    def _liquidate_cross(self, symbol: str, price: Decimal, ts_ms: int) -> None:
        """Cross: close every cross position, ``symbol``'s at ``price``, the others at their mark.

        Each pays the liquidation fee on its notional; a loss beyond the wallet is the
        exchange's insurance fund's, so the wallet stops at zero.
        """
        for (sym, side), pos in list(self.positions.items()):
            if self.mode(sym) != CROSS:
                continue
            at = price if sym == symbol else self.marks.get(sym, pos.entry)
            pnl = unrealised_pnl(side, pos.size, pos.entry, at)
            fee = pos.size * at * self.liquidation_fee
            self.wallet += pnl - fee
            self.fees_paid += fee
            self._remove(sym, side, pos, ts_ms, at, fee, pnl)
        self.wallet = max(self.wallet, ZERO)

    def _remove(self, symbol, side, pos, ts_ms, price, fee, pnl) -> None:
        """Book a liquidation fill and drop the position with its reduce-only orders."""
        del self.positions[(symbol, side)]
        self.liquidations += 1
        self.epoch += 1
        for cid in list(self.open_ids.get(symbol, ())):
            order = self.orders[cid]
            if order.request.reduce_only and order.request.position_side == side:
                order.status = CANCELLED
                self.open_ids[symbol].remove(cid)
        self.fills.append(
            Fill(
                ts_ms,
                symbol,
                side,
                "LIQUIDATION",
                "Sell" if side == LONG else "Buy",
                pos.size,
                price,
                fee,
                pnl,
                "",
                False,
            )
        )

    def triggers(self, symbol: str) -> tuple[Decimal | None, Decimal | None]:
        """Prices that make something happen: act when low < the first or high > the second."""
        lows, highs = [], []
        for cid in self.open_ids.get(symbol, ()):
            req = self.orders[cid].request
            (lows if req.side == BUY else highs).append(req.price)
        # "low <= liq" equals "low < liq + tiny"; keep the strict test by nudging the level.
        if self.mode(symbol) == CROSS:
            falls, rises = self.cross_levels(symbol)
            if falls is not None:
                lows.append(falls + NUDGE)
            if rises is not None:
                highs.append(rises - NUDGE)
            return (max(lows) if lows else None, min(highs) if highs else None)
        long_pos = self.positions.get((symbol, LONG))
        if long_pos is not None:
            lows.append(long_pos.liq_price + NUDGE)
        short_pos = self.positions.get((symbol, SHORT))
        if short_pos is not None:
            highs.append(short_pos.liq_price - NUDGE)
        return (max(lows) if lows else None, min(highs) if highs else None)
