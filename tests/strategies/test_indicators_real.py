"""Indicators on real Binance candles (../shared/data/ohlcv) against independent pandas code."""

from __future__ import annotations

import csv
from decimal import Decimal
from itertools import islice
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from strategies.indicators import (
    ema_last,
    indicators_from_candles,
    volatility,
)
from strategies.types import Candle

FIVE_MINUTE = "BTCUSDT-PERP-5m-2023-01_2024-05.csv"
HOURLY = "BTCUSDT-PERP-1h-2019-09_2026-05.csv"
# 2023-01-01 .. 2023-03-14 in 5-minute rows: a quiet start and the March 2023 banking scare.
FIVE_MINUTE_ROWS = 21_000
HOURLY_ROWS = 3_000


def read_candles(path: Path, rows: int, skip: int = 0) -> list[Candle]:
    """``rows`` candles after the first ``skip`` of a candle CSV (the shared data format)."""
    with path.open(newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        assert header == ["timestamp_ms", "open", "high", "low", "close", "volume"]
        return [
            Candle(int(ts), Decimal(o), Decimal(h), Decimal(lo), Decimal(c), Decimal(v))
            for ts, o, h, lo, c, v in islice(reader, skip, skip + rows)
        ]


@pytest.fixture(scope="module")
def five_minute(ohlcv_dir) -> pd.DataFrame:
    """The first 21,000 five-minute BTCUSDT perpetual candles as floats."""
    return frame(read_candles(ohlcv_dir / FIVE_MINUTE, FIVE_MINUTE_ROWS))


@pytest.fixture(scope="module")
def hourly_candles(ohlcv_dir) -> list[Candle]:
    """3,000 hourly BTCUSDT perpetual candles from 2022 (after the file's first flat rows)."""
    return read_candles(ohlcv_dir / HOURLY, HOURLY_ROWS, skip=20_000)


def frame(candles: list[Candle]) -> pd.DataFrame:
    """Candles as a float DataFrame."""
    return pd.DataFrame(
        {
            "high": [float(c.high) for c in candles],
            "low": [float(c.low) for c in candles],
            "close": [float(c.close) for c in candles],
            "volume": [float(c.volume) for c in candles],
        }
    )


def reference_volatility(window: pd.DataFrame) -> dict:
    """Spec section 4 written independently with pandas, on one 100-candle window."""
    h, lo, c, v = window["high"], window["low"], window["close"], window["volume"]
    prev = c.shift(1)
    tr = pd.concat([h - lo, (h - prev).abs(), (lo - prev).abs()], axis=1).max(axis=1)
    atr = tr.ewm(span=14, adjust=False).mean()
    baseline = 1.5 * atr.iloc[13:50].mean()  # ATR of prefixes 14..50 = the series' rows 13..49
    last20 = c.iloc[-20:]
    bb = (4 * last20.std(ddof=1)) / last20.mean() * 100
    hv = np.log(c).diff().iloc[-20:].std(ddof=1) * 100
    if atr.iloc[-1] > baseline:
        trigger = "atr"
    elif bb > 8:
        trigger = "bb_width"
    elif hv > 5:
        trigger = "historical_volatility"
    else:
        trigger = None
    roc_5 = (c.iloc[-1] / c.iloc[-6] - 1) * 100
    roc_15 = (c.iloc[-1] / c.iloc[-16] - 1) * 100
    smooth = abs(roc_5 / roc_15) if roc_15 != 0 else 1.0
    earlier = v.iloc[-21:-5].mean()
    ratio = v.iloc[-5:].mean() / earlier if earlier > 0 else None
    score = (40 if roc_5 < -5 else 25 if roc_5 < -3 else 10 if roc_5 < -1 else 0) + (
        30 if smooth > 2.5 else 15 if smooth > 1.5 else 0
    )
    if ratio is not None:
        score += 30 if ratio > 3 else 15 if ratio > 2 else 0
    label = (
        "CRASH" if score >= 70 else "FAST_DECLINE" if score >= 40 else
        "MODERATE_DECLINE" if score >= 20 else "SLOW_DECLINE"
    )  # fmt: skip
    return {
        "atr": atr.iloc[-1],
        "atr_threshold": baseline,
        "bb_width": bb,
        "hist_volatility": hv,
        "trigger": trigger,
        "roc_5": roc_5,
        "roc_15": roc_15,
        "roc_30": (c.iloc[-1] / c.iloc[-31] - 1) * 100,
        "smoothness": smooth,
        "volume_ratio": ratio,
        "decline_score": float(min(score, 100)),
        "decline_type": label,
    }


def test_volatility_matches_the_reference_on_real_windows(five_minute):
    """Every 100th 100-candle window of 21,000 real 5-minute candles agrees field by field."""
    triggers: dict[str | None, int] = {}
    labels: dict[str, int] = {}
    for end in range(100, len(five_minute) + 1, 100):
        window = five_minute.iloc[end - 100 : end].reset_index(drop=True)
        got = volatility(*(window[col].tolist() for col in ("high", "low", "close", "volume")))
        want = reference_volatility(window)
        for key in ("atr", "atr_threshold", "bb_width", "hist_volatility", "roc_5", "roc_15"):
            assert getattr(got, key) == pytest.approx(want[key], rel=1e-9), (end, key)
        for key in ("roc_30", "smoothness", "volume_ratio"):
            assert getattr(got, key) == pytest.approx(want[key], rel=1e-9), (end, key)
        assert (got.trigger, got.is_high) == (want["trigger"], want["trigger"] is not None), end
        assert (got.decline_type, got.decline_score) == (
            want["decline_type"],
            want["decline_score"],
        )
        triggers[got.trigger] = triggers.get(got.trigger, 0) + 1
        labels[got.decline_type] = labels.get(got.decline_type, 0) + 1
    # The sample must exercise both flags and several labels, or the comparison proves little.
    assert triggers.get(None) and triggers.get("atr"), triggers
    assert len(labels) >= 3, labels


def test_hourly_ema100_matches_pandas(hourly_candles):
    """The 1h EMA100 on real hourly candles: pandas ewm(span=100, adjust=False) on the last 100."""
    closes = [float(c.close) for c in hourly_candles]
    for end in range(100, len(closes) + 1, 250):
        window = pd.Series(closes[end - 100 : end])
        want = window.ewm(span=100, adjust=False).mean().iloc[-1]
        assert ema_last(closes[:end], 100) == pytest.approx(want, rel=1e-12)


def test_indicators_from_real_candles(ohlcv_dir, hourly_candles):
    """All readings from real candle lists, each against its pandas reference."""
    five = read_candles(ohlcv_dir / FIVE_MINUTE, 400, skip=19_500)
    result = indicators_from_candles(five[:300], hourly_candles, five)
    ema_closes = pd.Series([float(c.close) for c in five[:300]])
    assert result.ema50 == pytest.approx(
        ema_closes.iloc[-50:].ewm(span=50, adjust=False).mean().iloc[-1], rel=1e-12
    )
    assert result.ema200 == pytest.approx(
        ema_closes.iloc[-200:].ewm(span=200, adjust=False).mean().iloc[-1], rel=1e-12
    )
    hourly = pd.Series([float(c.close) for c in hourly_candles[-100:]])
    assert result.ema100_1h == pytest.approx(
        hourly.ewm(span=100, adjust=False).mean().iloc[-1], rel=1e-12
    )
    want = reference_volatility(frame(five[-100:]))
    assert result.volatility.decline_type == want["decline_type"]
    assert result.volatility.atr == pytest.approx(want["atr"], rel=1e-9)
    assert result.volatility.bb_width == pytest.approx(want["bb_width"], rel=1e-9)
