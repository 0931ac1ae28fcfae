"""No look-ahead: changing any candle after time T never changes a decision made before T."""

from __future__ import annotations

from decimal import Decimal as D

import numpy as np
import pytest

from benchmarks.backtest_bench import generated_year
from clients.candle_market import CandleSeries, aggregate
from strategies import get_strategy
from workflows.backtest_data import load_candles
from workflows.backtest_engine import BacktestPair, EngineSettings
from workflows.backtest_run import replay_candles


def distorted(series: CandleSeries, after_ms: int, factor: float) -> CandleSeries:
    """The same candles, with every price of candles opening at or after ``after_ms`` scaled."""
    later = series.ts >= after_ms
    scaled = [
        np.where(later, a * factor, a) for a in (series.open, series.high, series.low, series.close)
    ]
    volume = np.where(later, series.volume * 7, series.volume)
    return CandleSeries(
        series.ts, *(np.round(a, 2) for a in scaled), volume, series.interval_minutes
    )


def replay(series: CandleSeries, side: str):
    """Decisions and fills of the default ladder on a small balance."""
    pair = BacktestPair("BTCUSDT", side, get_strategy("martingale", {}), D(10), True, "1")
    every = max(5, series.interval_minutes)
    settings = EngineSettings(balance=D(300), interval_minutes=every)
    result = replay_candles({"BTCUSDT": series}, [pair], settings)
    decisions = [(t, d.actions, d.conclusion, d.alerts) for t, _, d in result.decisions]
    fills = [(f.ts_ms, f.kind, f.qty, f.price, f.fee) for f in result.engine.fills]
    return decisions, fills


def check_no_lookahead(series: CandleSeries, side: str, cut_fraction: float):
    """Distort everything after a cut; what happened before it must be identical."""
    cut = int(series.ts[int(len(series) * cut_fraction)])
    decisions, fills = replay(series, side)
    changed_decisions, changed_fills = replay(distorted(series, cut, 0.9), side)
    before = [d for d in decisions if d[0] <= cut]
    assert len(before) > 100
    assert [d for d in changed_decisions if d[0] <= cut] == before
    assert [f for f in changed_fills if f[0] < cut] == [f for f in fills if f[0] < cut]
    # The distortion is real: decisions after the cut do change.
    assert [d for d in changed_decisions if d[0] > cut] != [d for d in decisions if d[0] > cut]


@pytest.mark.parametrize("side, cut", [("Long", 0.6), ("Short", 0.75)])
def test_a_ten_percent_drop_after_t_changes_nothing_before_t_on_real_candles(ohlcv_dir, side, cut):
    """Real one-minute candles of the August 2024 sell-off, through hourly and 5-minute windows."""
    series = load_candles(ohlcv_dir / "BTCUSDT-SPOT-1m-2024-07_2024-08.csv").series
    check_no_lookahead(series.slice(3000, 17000), side, cut)


@pytest.mark.parametrize("minutes", [1, 5, 60])
def test_no_lookahead_at_any_data_interval(minutes):
    """The same holds for five-minute and hourly data (where the hour is the decision cadence)."""
    base = generated_year(60 * 24 * 40, seed=minutes)
    if minutes > 1:
        base = aggregate(base, minutes)
    check_no_lookahead(base, "Long", 0.7)
