"""Replay state of one symbol: the next unprocessed candle and funding event, the touch, scans."""

from __future__ import annotations

from decimal import Decimal

import numpy as np

from clients.candle_market import touch_prices
from strategies.types import LONG, SHORT
from workflows.backtest_data import FundingSeries
from workflows.backtest_feed import SymbolFeed

SHORT_SCAN = 24  # candle runs up to this long are scanned in Python, longer ones with numpy
LONG_SCAN = 8192  # numpy scans go in chunks so a hit near the start costs little
TOUCH_CACHE = 50_000  # bid/ask by close price, cleared when full


class SymbolCursor:
    """Replay state of one symbol: the next unprocessed candle and funding event."""

    __slots__ = (
        "feed",
        "symbol",
        "ts",
        "low",
        "high",
        "close",
        "lows",
        "highs",
        "next",
        "funding_ts",
        "funding_rates",
        "funding_next",
        "funding_closed",
        "tick",
        "touch_at",
        "touch_value",
        "touches",
        "last",
        "keys",
        "grid_closed",
        "levels",
        "funding_due",
        "epoch",
        "ticks",
    )

    def __init__(self, feed: SymbolFeed, funding: FundingSeries | None):
        series = feed.series
        self.feed = feed
        self.symbol = feed.symbol
        self.ts, self.low, self.high, self.close = series.ts, series.low, series.high, series.close
        # Python lists: the scan between two decisions reads a handful of candles, and list
        # indexing is ten times cheaper than numpy scalar access.
        self.lows, self.highs = series.low.tolist(), series.high.tolist()
        self.next = 0
        self.funding_ts = [] if funding is None else funding.ts.tolist()
        self.funding_rates = () if funding is None else funding.rates
        self.funding_closed = self.closed_by(self.funding_ts) if self.funding_ts else []
        # Events before the first candle cannot find a position: start at the data.
        self.funding_next = (
            0
            if funding is None or not len(series)
            else int(np.searchsorted(funding.ts, int(series.ts[0])))
        )
        self.funding_due = self._next_funding()
        self.tick = feed.rules.tick_size
        self.ticks = _tick_counts(series.close, self.tick)
        self.touch_at = -1
        self.touch_value: tuple[Decimal, Decimal] | None = None
        self.touches: dict[float, tuple[Decimal, Decimal]] = {}  # prices recur often
        self.last: dict[str, tuple | None] = {LONG: None, SHORT: None}
        self.keys = ((self.symbol, LONG), (self.symbol, SHORT))
        self.grid_closed: list[int] = []
        # The engine's trigger prices as floats; None after anything may have moved them.
        self.levels: tuple[float, float] | None = None
        self.epoch = -1  # the engine's epoch the levels were computed at

    def _next_funding(self) -> float:
        """Time of the next funding event (infinity when there is none)."""
        if self.funding_next < len(self.funding_ts):
            return self.funding_ts[self.funding_next]
        return float("inf")

    def closed_by(self, times) -> list[int]:
        """For each time, how many candles had closed by then."""
        size = self.feed.series.interval_ms
        return np.searchsorted(self.ts, np.asarray(times) - size, side="right").tolist()

    def quote(self) -> tuple[Decimal, Decimal]:
        """(bid, ask) from the last processed candle's close, cached per candle."""
        index = self.next - 1
        if index != self.touch_at:
            count = self.ticks[index]
            if count is not None:
                bid = Decimal(count) * self.tick
                value = (bid, bid + self.tick)
            else:
                close = self.close.item(index)
                value = self.touches.get(close)
                if value is None:
                    if len(self.touches) >= TOUCH_CACHE:
                        self.touches.clear()
                    value = self.touches[close] = touch_prices(close, self.tick)
            self.touch_value = value
            self.touch_at = index
        return self.touch_value

    def mid(self) -> Decimal:
        """The touch mid, the paper exchange's mark."""
        bid, ask = self.quote()
        return (bid + ask) / 2

    def find_trigger(self, start: int, stop: int, low_at: float, high_at: float) -> int:
        """First candle in [start, stop) whose range reaches a trigger price, or -1."""
        if stop - start <= SHORT_SCAN:
            lows, highs = self.lows, self.highs
            for index in range(start, stop):
                if lows[index] <= low_at or highs[index] >= high_at:
                    return index
            return -1
        for chunk in range(start, stop, LONG_SCAN):
            end = min(chunk + LONG_SCAN, stop)
            hit = (self.low[chunk:end] <= low_at) | (self.high[chunk:end] >= high_at)
            first = int(hit.argmax())
            if hit[first]:
                return chunk + first
        return -1


def _tick_counts(close: np.ndarray, tick: Decimal) -> list[int | None]:
    """Each close as a whole number of ticks where numpy's rounding is surely the exact one.

    ``touch_prices`` rounds the close's decimal text to the tick, half to even; a float quotient
    agrees with it except within a hair of a half tick, and those closes (None) take the exact
    path. Prices off the usual range (repr with an exponent) take it too, and so does every
    close when the tick has two or more decimals: a close such as 30000.1 would then print as
    30000.1 exactly, not 30000.10.
    """
    if tick.as_tuple().exponent < -1:
        return [None] * len(close)
    ratio = close / float(tick)
    counts = np.rint(ratio)
    unsure = (
        (np.abs(np.abs(ratio - np.trunc(ratio)) - 0.5) < 1e-6) | (close >= 1e15) | (close < 1e-4)
    )
    out: list[int | None] = counts.astype(np.int64).tolist()
    for index in np.flatnonzero(unsure).tolist():
        out[index] = None
    return out


def exact(value: float) -> Decimal:
    """A candle value as the exact decimal the CSV held."""
    return Decimal(repr(value))
