"""Scripted market data of the fake exchange: prices, instrument rules and candles."""

from __future__ import annotations

import hashlib
import math
import threading
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal

from clients.market import default_instrument
from strategies.types import Candle, InstrumentRules

MINUTE_MS = 60_000


def default_rules(symbol: str) -> InstrumentRules:
    """BTC-like rules for BTCUSDT, ETH-like for ETHUSDT, a small-cap contract otherwise."""
    base = symbol.removesuffix("USDT")
    listed = default_instrument(f"{base[:3]}USDT") if base[:3] in ("BTC", "ETH") else None
    return replace(listed, symbol=symbol) if listed else default_instrument(symbol)


@dataclass
class _Symbol:
    price: Decimal
    rules: InstrumentRules
    anchor: Decimal  # the price generated candle history is drawn around
    bid: Decimal | None = None
    ask: Decimal | None = None


class Market:
    """Prices, rules and candles per symbol; unknown symbols are refused by the dialects."""

    def __init__(self, clock):
        self.clock = clock
        self._lock = threading.RLock()
        self._symbols: dict[str, _Symbol] = {}
        self._candles: dict[tuple[str, int], list[Candle]] = {}

    def listed(self, symbol: str) -> bool:
        """Whether the symbol trades here."""
        return symbol in self._symbols

    def symbols(self) -> list[str]:
        """Every listed symbol."""
        return list(self._symbols)

    def set_price(self, symbol: str, price: Decimal, bid=None, ask=None) -> None:
        """Script the last/mark price (and optionally the touch) of a symbol, listing it if new."""
        with self._lock:
            entry = self._symbols.get(symbol)
            if entry is None:
                entry = _Symbol(price, default_rules(symbol), price)
                self._symbols[symbol] = entry
            entry.price, entry.bid, entry.ask = Decimal(price), bid, ask

    def set_rules(self, symbol: str, rules: InstrumentRules) -> None:
        """Replace a listed symbol's rules."""
        self._symbols[symbol].rules = rules

    def price(self, symbol: str) -> Decimal:
        """The scripted last and mark price."""
        return self._symbols[symbol].price

    def rules(self, symbol: str) -> InstrumentRules:
        """The symbol's instrument rules."""
        return self._symbols[symbol].rules

    def touch(self, symbol: str) -> tuple[Decimal, Decimal]:
        """Best bid and ask: one tick either side of the price unless scripted."""
        entry = self._symbols[symbol]
        tick = entry.rules.tick_size
        return entry.bid or entry.price - tick, entry.ask or entry.price + tick

    def set_candles(self, symbol: str, interval_minutes: int, candles: list[Candle]) -> None:
        """Replace the generated history of one interval with these candles."""
        self._candles[(symbol, interval_minutes)] = sorted(candles, key=lambda c: c.ts_ms)

    def candles(
        self,
        symbol: str,
        interval_minutes: int,
        start_ms: int | None,
        end_ms: int | None,
        limit: int,
    ) -> list[Candle]:
        """The newest ``limit`` candles opening in [start_ms, end_ms], not after now, oldest first.

        The newest one is still forming when ``end_ms`` reaches the current period.
        """
        step = interval_minutes * MINUTE_MS
        now_ms = int(self.clock() * 1000)
        upper = now_ms if end_ms is None else min(end_ms, now_ms)
        scripted = self._candles.get((symbol, interval_minutes))
        if scripted is not None:
            rows = [
                c
                for c in scripted
                if c.ts_ms <= upper and (start_ms is None or c.ts_ms >= start_ms)
            ]
            return rows[-limit:] if limit > 0 else []
        last = upper // step * step
        first = last - (limit - 1) * step
        if start_ms is not None:
            first = max(first, -(-start_ms // step) * step)
        return [self._generated(symbol, step, ts) for ts in range(first, last + 1, step)]

    def _generated(self, symbol: str, step: int, ts_ms: int) -> Candle:
        entry = self._symbols[symbol]
        tick = entry.rules.tick_size
        open_, close = _wave(symbol, entry.anchor, ts_ms), _wave(symbol, entry.anchor, ts_ms + step)
        wiggle = _noise(symbol, ts_ms, 1) * Decimal("0.0008") * entry.anchor
        high = max(open_, close) + wiggle
        low = min(open_, close) - wiggle
        volume = (Decimal(1) + _noise(symbol, ts_ms, 2) * 20).quantize(Decimal("0.001"))
        return Candle(
            ts_ms,
            _on_tick(open_, tick),
            _on_tick(high, tick),
            _on_tick(low, tick),
            _on_tick(close, tick),
            volume,
        )


def _noise(symbol: str, ts_ms: int, salt: int) -> Decimal:
    digest = hashlib.sha256(f"{symbol}:{ts_ms}:{salt}".encode()).digest()
    return Decimal(int.from_bytes(digest[:4], "big")) / Decimal(2**32)


def _wave(symbol: str, anchor: Decimal, ts_ms: int) -> Decimal:
    """A smooth deterministic path: a daily and an hourly swing around the anchor."""
    minutes = ts_ms / MINUTE_MS
    swing = 0.03 * math.sin(minutes / 1440 * 2 * math.pi) + 0.005 * math.sin(minutes / 60 * math.pi)
    return anchor * (1 + Decimal(str(round(swing, 8))))


def _on_tick(value: Decimal, tick: Decimal) -> Decimal:
    return (value / tick).quantize(Decimal(1), rounding=ROUND_HALF_UP) * tick
