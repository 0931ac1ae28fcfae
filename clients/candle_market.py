"""A price source over historical candles: closed candles of any multiple interval, and the touch.

The touch convention is shared with the backtester: at time t the bid is the close of the last
base candle closed by t, put on the tick, and the ask is one tick above it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np

from clients.errors import ExchangeDataError
from clients.market import MINUTE_MS, default_instrument, to_tick
from strategies.types import Candle, InstrumentRules, Ticker

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, eq=False)
class CandleSeries:
    """One symbol's candles as arrays, oldest first; ``ts`` are open times in UTC milliseconds.

    ``count`` says how many base candles each candle was built from (None for base candles);
    an aggregate with fewer than ``interval / base`` of them lies on the edge of the data or a gap.
    """

    ts: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    interval_minutes: int
    count: np.ndarray | None = None
    base_minutes: int | None = None

    def __len__(self) -> int:
        return len(self.ts)

    @property
    def interval_ms(self) -> int:
        """The candle length in milliseconds."""
        return self.interval_minutes * MINUTE_MS

    def complete(self) -> np.ndarray:
        """True where a candle holds every base candle of its interval."""
        if self.count is None:
            return np.ones(len(self.ts), dtype=bool)
        return self.count == self.interval_minutes // (self.base_minutes or self.interval_minutes)

    def slice(self, start: int, stop: int) -> CandleSeries:
        """Rows [start, stop) as a new series (views, no copies)."""
        part = slice(start, stop)
        return CandleSeries(
            self.ts[part],
            self.open[part],
            self.high[part],
            self.low[part],
            self.close[part],
            self.volume[part],
            self.interval_minutes,
            None if self.count is None else self.count[part],
            self.base_minutes,
        )

    def closed_before(self, now_ms: int) -> int:
        """How many candles had closed at ``now_ms`` (a candle closes at open + interval)."""
        return int(np.searchsorted(self.ts, now_ms - self.interval_ms, side="right"))


def aggregate(series: CandleSeries, interval_minutes: int) -> CandleSeries:
    """Candles of ``interval_minutes`` (a multiple of the base interval) on the UTC epoch grid.

    Open is the first base open, close the last base close, high/low the extremes and volume the
    sum; buckets with no base candle (inside a gap) do not exist.
    """
    base = series.interval_minutes
    if interval_minutes == base:
        return series
    if interval_minutes < base or interval_minutes % base:
        raise ValueError(
            f"cannot build {interval_minutes}-minute candles from {base}-minute candles "
            "(the interval must be a multiple of the data's interval)"
        )
    n = len(series.ts)
    if n == 0:
        empty = np.empty(0)
        return CandleSeries(
            series.ts[:0],
            empty,
            empty,
            empty,
            empty,
            empty,
            interval_minutes,
            np.empty(0, dtype=np.int64),
            base,
        )
    size = interval_minutes * MINUTE_MS
    bucket = series.ts // size
    starts = np.flatnonzero(np.r_[True, bucket[1:] != bucket[:-1]])
    ends = np.r_[starts[1:], n]
    return CandleSeries(
        ts=bucket[starts] * size,
        open=series.open[starts],
        high=np.maximum.reduceat(series.high, starts),
        low=np.minimum.reduceat(series.low, starts),
        close=series.close[ends - 1],
        volume=np.add.reduceat(series.volume, starts),
        interval_minutes=interval_minutes,
        count=ends - starts,
        base_minutes=base,
    )


def _decimal(value: float) -> Decimal:
    """The shortest decimal that reads back as this float (the CSV's own digits)."""
    return Decimal(repr(value))


def touch_prices(close: float, tick: Decimal) -> tuple[Decimal, Decimal]:
    """The backtest's bid/ask convention: bid = the close on the tick, ask one tick above."""
    bid = to_tick(close, tick)
    return bid, bid + tick


def touch(close: float, tick: Decimal) -> Ticker:
    """``touch_prices`` as a Ticker."""
    bid, ask = touch_prices(close, tick)
    return Ticker(bid=bid, ask=ask)


class CandleMarket:
    """A PriceSource over recorded candles; only candles closed by ``now`` are ever visible."""

    def __init__(
        self,
        series: Mapping[str, CandleSeries],
        instruments: Mapping[str, InstrumentRules] | None = None,
    ):
        self.base = dict(series)
        self.instruments = dict(instruments or {})
        self._aggregates: dict[tuple[str, int], CandleSeries] = {}

    def _base(self, symbol: str) -> CandleSeries:
        """The recorded candles of a symbol."""
        try:
            return self.base[symbol]
        except KeyError:
            raise ExchangeDataError(f"no candle data for {symbol}", exchange="candles") from None

    def series(self, symbol: str, interval_minutes: int) -> CandleSeries:
        """The whole series at an interval, built once and shared with the backtester."""
        key = (symbol, interval_minutes)
        if key not in self._aggregates:
            self._aggregates[key] = aggregate(self._base(symbol), interval_minutes)
        return self._aggregates[key]

    def instrument(self, symbol: str) -> InstrumentRules:
        """The symbol's rules (the simulated market's defaults unless given)."""
        return self.instruments.get(symbol) or default_instrument(symbol)

    def candles(
        self, symbol: str, interval_minutes: int, limit: int, now: datetime
    ) -> list[Candle]:
        """The last ``limit`` candles closed by ``now``, oldest first."""
        series = self.series(symbol, interval_minutes)
        stop = series.closed_before(_ms(now))
        start = max(0, stop - limit)
        rows = zip(
            series.ts[start:stop].tolist(),
            series.open[start:stop].tolist(),
            series.high[start:stop].tolist(),
            series.low[start:stop].tolist(),
            series.close[start:stop].tolist(),
            series.volume[start:stop].tolist(),
            strict=True,
        )
        return [
            Candle(ts, _decimal(o), _decimal(h), _decimal(lo), _decimal(c), _decimal(v))
            for ts, o, h, lo, c, v in rows
        ]

    def ticker(self, symbol: str, now: datetime) -> Ticker:
        """Bid = close of the last base candle closed by ``now`` on the tick; ask one tick up."""
        series = self._base(symbol)
        closed = series.closed_before(_ms(now))
        if closed == 0:
            raise ExchangeDataError(
                f"no {symbol} candle has closed by {now:%Y-%m-%d %H:%M}", exchange="candles"
            )
        return touch(float(series.close[closed - 1]), self.instrument(symbol).tick_size)


def _ms(now: datetime) -> int:
    """Epoch milliseconds of an aware datetime, in integer arithmetic."""
    return (now - EPOCH) // timedelta(milliseconds=1)
