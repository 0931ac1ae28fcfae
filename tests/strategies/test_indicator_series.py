"""Vectorised indicators give, at every index, what the live functions give for that window."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from clients.candle_market import CandleMarket
from strategies import indicator_series as series
from strategies.indicators import (
    EMA_CANDLES,
    HOURLY_CANDLES,
    VOLATILITY_CANDLES,
    ema_last,
    ema_series,
    indicators_from_candles,
    volatility,
)
from workflows.backtest_data import load_candles

RTOL = 1e-9
VOLATILITY_FIELDS = (
    "is_high",
    "trigger",
    "value",
    "threshold",
    "atr",
    "atr_threshold",
    "bb_width",
    "hist_volatility",
    "decline_type",
    "decline_score",
    "roc_5",
    "roc_15",
    "roc_30",
    "smoothness",
    "volume_ratio",
)


def random_candles(n: int, seed: int, vol: float = 0.004):
    """A random walk of OHLCV rows with occasional zero-volume bars and sharp drops."""
    rng = np.random.default_rng(seed)
    steps = rng.normal(0, vol, n)
    crashes = rng.integers(0, n, n // 50)
    steps[crashes] -= rng.choice([0.02, 0.07], len(crashes))  # so every decline type occurs
    close = 100 * np.exp(np.cumsum(steps))
    opens = np.r_[close[0], close[:-1]]
    high = np.maximum(opens, close) * (1 + np.abs(rng.normal(0, vol / 2, n)))
    low = np.minimum(opens, close) * (1 - np.abs(rng.normal(0, vol / 2, n)))
    volume = rng.gamma(2.0, 10.0, n) * (rng.random(n) > 0.02)
    volume[crashes] *= 12
    volume[n // 2 : n // 2 + 20] = 0.0  # a maintenance stretch: no volume ratio there
    return high, low, close, volume


def same(a, b) -> bool:
    """Equal within RTOL; None and NaN count as the same missing reading."""
    if a is None or (isinstance(a, float) and np.isnan(a)):
        return b is None or (isinstance(b, float) and np.isnan(b))
    if isinstance(a, bool | str) or b is None or isinstance(b, bool | str):
        return a == b
    return bool(np.isclose(a, b, rtol=RTOL, atol=0.0))


@pytest.mark.parametrize(
    "n, span", [(1, 14), (127, 14), (128, 50), (1000, 200), (3001, 100), (50, 1)]
)
def test_the_blocked_ema_equals_the_live_recursive_one(n, span):
    """The block-wise matrix form of the recursion gives the loop's values."""
    values = np.random.default_rng(n).normal(100, 5, n)
    np.testing.assert_allclose(series.ema_full(values, span), ema_series(values, span), rtol=1e-12)


@pytest.mark.parametrize("period", [50, 100, 200])
def test_the_windowed_ema_is_the_live_ema_of_the_window_ending_at_each_index(period):
    """W_t = E_t - keep^(N-1) (E_s - c_s) reproduces an EMA seeded at the window's first close."""
    close = random_candles(2000, period)[2]
    windowed = series.windowed_ema(close, period)
    assert np.isnan(windowed[: period - 1]).all()
    live = [
        ema_last(close[t - period + 1 : t + 1].tolist(), period)
        for t in range(period - 1, len(close))
    ]
    np.testing.assert_allclose(windowed[period - 1 :], live, rtol=RTOL)


def live_reading(high, low, close, volume, t: int, window: int = VOLATILITY_CANDLES):
    """The live volatility() of the window ending at index t."""
    part = slice(t - window + 1, t + 1)
    return volatility(
        high[part].tolist(), low[part].tolist(), close[part].tolist(), volume[part].tolist()
    )


def reading_at(vol: series.VolatilitySeries, t: int) -> dict:
    """The series' values at index t under the live field names."""
    dec = vol.decline
    return {
        "is_high": bool(vol.is_high[t]),
        "trigger": series.TRIGGERS[vol.trigger[t]],
        "value": vol.value[t],
        "threshold": vol.threshold[t],
        "atr": vol.atr[t],
        "atr_threshold": vol.atr_threshold[t],
        "bb_width": vol.bb_width[t],
        "hist_volatility": vol.hist_volatility[t],
        "decline_type": series.DECLINE_TYPES[dec.code[t]],
        "decline_score": dec.score[t],
        "roc_5": dec.roc_5[t],
        "roc_15": dec.roc_15[t],
        "roc_30": dec.roc_30[t],
        "smoothness": dec.smoothness[t],
        "volume_ratio": dec.volume_ratio[t],
    }


def mismatches(vol, high, low, close, volume, indices) -> list:
    """(index, field, series value, live value) wherever the two disagree."""
    bad = []
    for t in indices:
        live = live_reading(high, low, close, volume, t)
        for name, value in reading_at(vol, t).items():
            if not same(value, getattr(live, name)):
                bad.append((t, name, value, getattr(live, name)))
    return bad


def test_every_volatility_reading_matches_the_live_function_on_every_window():
    """ATR, its baseline, Bollinger width, historical volatility and the decline velocity."""
    high, low, close, volume = random_candles(1500, 3)
    vol = series.volatility_series(high, low, close, volume)
    full = VOLATILITY_CANDLES - 1
    assert not vol.valid[:full].any() and vol.valid[full:].all()
    assert mismatches(vol, high, low, close, volume, range(VOLATILITY_CANDLES - 1, 1500)) == []
    # The sample exercises the branches being compared (the historical-volatility trigger needs
    # returns so wild that the Bollinger width, checked first, always fires before it).
    assert {0, 1, 2} <= set(vol.trigger[99:].tolist())
    assert set(vol.decline.code[99:].tolist()) == {0, 1, 2, 3}
    assert np.isnan(vol.decline.volume_ratio[99:]).any()


def test_a_value_never_depends_on_later_candles():
    """Changing candles after index k leaves every reading at or before k untouched."""
    high, low, close, volume = random_candles(800, 9)
    before = series.volatility_series(high, low, close, volume)
    ema_before = series.windowed_ema(close, 200)
    k = 500
    for array in (high, low, close, volume):
        array[k + 1 :] *= 1.7
    after = series.volatility_series(high, low, close, volume)
    for name in ("atr", "atr_threshold", "bb_width", "hist_volatility", "value"):
        np.testing.assert_array_equal(getattr(after, name)[: k + 1], getattr(before, name)[: k + 1])
        assert not np.array_equal(getattr(after, name)[k + 1 :], getattr(before, name)[k + 1 :])
    np.testing.assert_array_equal(after.decline.score[: k + 1], before.decline.score[: k + 1])
    np.testing.assert_array_equal(series.windowed_ema(close, 200)[: k + 1], ema_before[: k + 1])


@pytest.mark.parametrize(
    "filename, rows",
    [
        ("BTCUSDT-PERP-5m-2023-01_2024-05.csv", 20_000),
        ("BTCUSDT-SPOT-1m-2021-04_2021-05.csv", 12_000),
    ],
)
def test_on_real_candles_the_series_equal_what_decide_sees_live(ohlcv_dir, filename, rows):
    """At sampled decision times the live path (closed candles from a CandleMarket, then
    indicators_from_candles) and the vectorised series agree to 1e-9."""
    base = load_candles(ohlcv_dir / filename).series.slice(0, rows)
    market = CandleMarket({"BTCUSDT": base})
    interval = base.interval_minutes
    ema_candles, hourly, five = (market.series("BTCUSDT", m) for m in (interval, 60, 5))
    ema50 = series.windowed_ema(ema_candles.close, 50)
    ema200 = series.windowed_ema(ema_candles.close, 200)
    ema100 = series.windowed_ema(hourly.close, 100)
    vol = series.volatility_series(five.high, five.low, five.close, five.volume)
    rng = np.random.default_rng(1)
    hour = 3_600_000
    start = int(base.ts[0]) + (HOURLY_CANDLES + 2) * hour
    picks = rng.integers(start // 300_000, int(base.ts[-1]) // 300_000, 60) * 300_000
    for t in picks.tolist():
        now = datetime.fromtimestamp(t / 1000, tz=UTC)
        live = indicators_from_candles(
            market.candles("BTCUSDT", interval, EMA_CANDLES, now),
            market.candles("BTCUSDT", 60, HOURLY_CANDLES, now),
            market.candles("BTCUSDT", 5, VOLATILITY_CANDLES, now),
        )
        e, h, f = (s.closed_before(t) - 1 for s in (ema_candles, hourly, five))
        assert same(ema50[e], live.ema50) and same(ema200[e], live.ema200)
        assert same(ema100[h], live.ema100_1h)
        got = reading_at(vol, f)
        assert all(same(got[name], getattr(live.volatility, name)) for name in VOLATILITY_FIELDS), (
            now,
            got,
            live.volatility,
        )
