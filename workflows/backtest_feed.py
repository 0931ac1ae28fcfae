"""What each decision of a backtest sees: the decision grid, its validity and indicator values.

For every decision time t and symbol this works out, once and with numpy, exactly what a live run
at t reads: the candles closed before t on the EMA interval, on 1 hour and on 5 minutes, the close
of the last closed base candle (the touch), and whether every window is complete. A window that
spans a gap or the start of the data is not complete, and no decision is made on it.
"""

from __future__ import annotations

import gc
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from clients.candle_market import CandleMarket, CandleSeries
from clients.market import MINUTE_MS
from strategies.indicator_series import (
    DECLINE_TYPES,
    TRIGGERS,
    volatility_series,
    windowed_ema,
)
from strategies.indicators import (
    EMA_CANDLES,
    EMA_FAST,
    EMA_HOURLY,
    EMA_SLOW,
    HOURLY_CANDLES,
    HOURLY_INTERVAL,
    VOLATILITY_CANDLES,
    VOLATILITY_INTERVAL,
)
from strategies.types import InstrumentRules


@contextmanager
def paused_gc():
    """No cyclic collection inside: a replay allocates ~10^6 objects and keeps ~10^5 alive, and
    collector passes over them cost 10-20 % of the run (nothing here makes reference cycles)."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            # Re-enabling with a huge allocation count would start a full pass over every object
            # the replay keeps (~0.1 s); frozen, they are skipped (refcounting still frees them).
            gc.freeze()
            gc.enable()


@dataclass(frozen=True, slots=True)
class FeedPlan:
    """The candle intervals a symbol's decisions read, and what had to be adapted to the data."""

    base_minutes: int
    ema_interval: int
    volatility_interval: int
    notes: tuple[str, ...] = ()

    @property
    def warmup_minutes(self) -> int:
        """Closed, gap-free history a decision needs: the longest of the three windows."""
        return max(
            EMA_CANDLES * self.ema_interval,
            HOURLY_CANDLES * HOURLY_INTERVAL,
            VOLATILITY_CANDLES * self.volatility_interval,
        )


def plan_intervals(base_minutes: int, ema_interval: int | None, decision_minutes: int) -> FeedPlan:
    """Check the intervals against the data; ValueError says what does not fit."""
    notes = []
    ema = ema_interval or base_minutes
    if ema % base_minutes:
        raise ValueError(
            f"--ema-interval {ema} is not a multiple of the data's {base_minutes}-minute candles"
        )
    if HOURLY_INTERVAL % base_minutes:
        raise ValueError(
            f"{base_minutes}-minute candles cannot make the 1-hour candles of the 1h EMA100 "
            "(use data of 1 hour or finer that divides the hour)"
        )
    if decision_minutes % base_minutes:
        raise ValueError(
            f"--interval-minutes {decision_minutes} is not a multiple of the data's "
            f"{base_minutes}-minute candles"
        )
    if base_minutes > VOLATILITY_INTERVAL:
        volatility = base_minutes
        notes.append(
            f"the data's {base_minutes}-minute candles are coarser than the 5-minute candles of "
            f"the volatility reading; it uses the last {VOLATILITY_CANDLES} {base_minutes}-minute "
            "candles instead"
        )
    elif VOLATILITY_INTERVAL % base_minutes:
        raise ValueError(f"{base_minutes}-minute candles cannot make 5-minute candles")
    else:
        volatility = VOLATILITY_INTERVAL
    return FeedPlan(base_minutes, ema, volatility, tuple(notes))


def run_lengths(series: CandleSeries) -> np.ndarray:
    """How many complete, back-to-back candles end at each index (0 for an incomplete one)."""
    n = len(series.ts)
    good = series.complete()
    joined = np.zeros(n, dtype=bool)
    if n > 1:
        joined[1:] = good[1:] & good[:-1] & (np.diff(series.ts) == series.interval_ms)
    index = np.arange(n)
    starts = np.maximum.accumulate(np.where(joined, 0, index))
    return np.where(good, index - starts + 1, 0)


def window_at(series: CandleSeries, grid: np.ndarray, need: int) -> tuple[np.ndarray, np.ndarray]:
    """For each time: the last candle closed by it, and whether ``need`` complete candles end
    there with no gap between it and the time."""
    size = series.interval_ms
    if len(series) == 0:
        return np.zeros(len(grid), dtype=np.int64), np.zeros(len(grid), dtype=bool)
    index = np.searchsorted(series.ts, grid - size, side="right") - 1
    safe = np.maximum(index, 0)
    expected = (grid // size) * size - size
    ok = (index >= 0) & (series.ts[safe] == expected) & (run_lengths(series)[safe] >= need)
    return safe, ok


def _names(codes: np.ndarray, names: tuple) -> list:
    """Code arrays as the strings the live Volatility carries."""
    table = np.array(names + (names[0],), dtype=object)  # code -1 never reaches a decision
    return table[codes].tolist()


def _optional(values: np.ndarray) -> list:
    """Floats, with NaN as None (a reading the live code leaves out)."""
    if not np.isnan(values).any():
        return values.tolist()
    return [None if v != v else v for v in values.tolist()]


@dataclass(eq=False)
class SymbolFeed:
    """One symbol's data prepared for the replay.

    ``slot[g]`` is -1 where grid time g allows no decision, else the row j of the per-decision
    lists: ``ema50[j]``, ``ema200[j]``, ``ema100_1h[j]`` and ``volatility[j]`` (the arguments
    of ``Volatility``), ``base_index[j]`` (the last closed base candle).
    """

    symbol: str
    series: CandleSeries
    rules: InstrumentRules
    plan: FeedPlan
    valid: np.ndarray
    slot: list
    base_index: list
    ema50: list
    ema200: list
    ema100_1h: list
    volatility: list

    @property
    def decisions(self) -> int:
        """How many grid times this symbol can decide at."""
        return len(self.ema50)

    def grid_values(self, values: list) -> np.ndarray:
        """A per-decision list spread over the grid (NaN where no decision is made)."""
        out = np.full(len(self.valid), np.nan)
        out[self.valid] = values
        return out


def build_feed(market: CandleMarket, symbol: str, grid: np.ndarray, plan: FeedPlan) -> SymbolFeed:
    """Indicator values of every grid time, computed once over the whole series."""
    with paused_gc():
        return _build_feed(market, symbol, grid, plan)


def _build_feed(market: CandleMarket, symbol: str, grid: np.ndarray, plan: FeedPlan):
    """build_feed without the collector."""
    base = market.series(symbol, plan.base_minutes)
    ema_series = market.series(symbol, plan.ema_interval)
    hourly = market.series(symbol, HOURLY_INTERVAL)
    five = market.series(symbol, plan.volatility_interval)

    base_index, base_ok = window_at(base, grid, 1)
    ema_index, ema_ok = window_at(ema_series, grid, EMA_CANDLES)
    hour_index, hour_ok = window_at(hourly, grid, HOURLY_CANDLES)
    five_index, five_ok = window_at(five, grid, VOLATILITY_CANDLES)
    valid = base_ok & ema_ok & hour_ok & five_ok
    at = np.flatnonzero(valid)

    closes = ema_series.close
    ema_at, hour_at, pick = ema_index[at], hour_index[at], five_index[at]
    vol = volatility_series(five.high, five.low, five.close, five.volume, VOLATILITY_CANDLES)
    dec = vol.decline
    volatility = list(
        zip(
            vol.is_high[pick].tolist(),
            _names(vol.trigger[pick], TRIGGERS),
            vol.value[pick].tolist(),
            vol.threshold[pick].tolist(),
            _optional(vol.atr[pick]),
            _optional(vol.atr_threshold[pick]),
            _optional(vol.bb_width[pick]),
            _optional(vol.hist_volatility[pick]),
            _names(dec.code[pick], DECLINE_TYPES),
            dec.score[pick].tolist(),
            _optional(dec.roc_5[pick]),
            _optional(dec.roc_15[pick]),
            _optional(dec.roc_30[pick]),
            _optional(dec.smoothness[pick]),
            _optional(dec.volume_ratio[pick]),
            strict=True,
        )
    )
    slot = np.full(len(grid), -1, dtype=np.int64)
    slot[at] = np.arange(len(at))
    return SymbolFeed(
        symbol=symbol,
        series=base,
        rules=market.instrument(symbol),
        plan=plan,
        valid=valid,
        slot=slot.tolist(),
        base_index=base_index[at].tolist(),
        ema50=windowed_ema(closes, EMA_FAST)[ema_at].tolist(),
        ema200=windowed_ema(closes, EMA_SLOW)[ema_at].tolist(),
        ema100_1h=windowed_ema(hourly.close, EMA_HOURLY)[hour_at].tolist(),
        volatility=volatility,
    )


def decision_grid(start_ms: int, end_ms: int, every_minutes: int) -> np.ndarray:
    """Decision times on the cron grid (multiples of the cadence since the epoch), start..end."""
    step = every_minutes * MINUTE_MS
    first = -(-start_ms // step) * step
    if end_ms < first:
        return np.empty(0, dtype=np.int64)
    return np.arange(first, end_ms + 1, step, dtype=np.int64)


class TooFewCandlesError(ValueError):
    """A symbol's candles never hold a full indicator window before a decision time."""

    def __init__(self, symbol: str, message: str):
        super().__init__(message)
        self.symbol = symbol


@dataclass(eq=False)
class Prepared:
    """Candles turned into feeds on a decision grid."""

    feeds: dict[str, SymbolFeed]
    grid: np.ndarray
    plans: dict[str, FeedPlan]
    every: int


def prepare_series(
    series: dict[str, CandleSeries],
    every: int,
    ema_interval: int | None = None,
    start_ms: int | None = None,
    instruments: dict[str, InstrumentRules] | None = None,
) -> Prepared:
    """Plan each symbol's intervals, build its feed and start the grid at the first decision.

    ValueError names what does not fit; a symbol that can never decide is an error too.
    """
    market = CandleMarket(series, instruments)
    plans = {
        sym: plan_intervals(s.interval_minutes, ema_interval, every) for sym, s in series.items()
    }
    start = min(int(s.ts[0]) for s in series.values() if len(s))
    start = max(start, start_ms or start)
    end = max(int(s.ts[-1]) for s in series.values() if len(s))
    grid = decision_grid(start, end, every)
    feeds = {sym: build_feed(market, sym, grid, plans[sym]) for sym in series}
    for sym, feed in feeds.items():
        if not feed.valid.any():
            need = plans[sym].warmup_minutes
            raise TooFewCandlesError(
                sym,
                f"too few candles for the indicators: a decision needs {need // 60} hours of "
                f"closed, gap-free candles before it ({need // series[sym].interval_minutes} "
                f"rows); there are {len(series[sym])} rows",
            )
    first = int(min(np.argmax(feed.valid) for feed in feeds.values()))
    for feed in feeds.values():
        feed.slot, feed.valid = feed.slot[first:], feed.valid[first:]
    return Prepared(feeds, grid[first:], plans, every)
