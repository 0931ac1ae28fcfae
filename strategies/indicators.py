"""The existing bot's indicators (spec sections 2 and 4) as pure functions over closed candles."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from strategies.types import Candle, Indicators, Volatility

# How many closed candles the workflow fetches for each reading.
EMA_CANDLES = 200  # on the pair's EMA_INTERVAL; EMA200 uses all, EMA50 the last 50
HOURLY_CANDLES = 100  # 60-minute candles for the 1h EMA100 entry filter
HOURLY_INTERVAL = 60
VOLATILITY_CANDLES = 100  # section 4 reads 100 candles of 5 minutes
VOLATILITY_INTERVAL = 5

EMA_FAST = 50
EMA_SLOW = 200
EMA_HOURLY = 100

ATR_SPAN = 14
ATR_BASELINE_ROWS = 50  # the baseline is taken over the OLDEST 50 candles of the window (Q12)
ATR_THRESHOLD_FACTOR = 1.5
BB_PERIOD = 20
BB_K = 2
BB_WIDTH_THRESHOLD = 8.0
HV_PERIOD = 20
HV_THRESHOLD = 5.0
DECLINE_MIN_ROWS = 30

ATR = "atr"
BB_WIDTH = "bb_width"
HISTORICAL_VOLATILITY = "historical_volatility"

SLOW_DECLINE = "SLOW_DECLINE"
MODERATE_DECLINE = "MODERATE_DECLINE"
FAST_DECLINE = "FAST_DECLINE"
CRASH = "CRASH"
UNKNOWN = "UNKNOWN"


def ema_last(closes: Sequence[float], period: int) -> float | None:
    """The bot's EMA: last ``period`` closes, alpha 2/(period+1), seeded with the window's first."""
    if period < 1:
        raise ValueError(f"EMA period must be at least 1, got {period}")
    window = closes[-period:]
    if len(window) == 0:
        return None
    alpha = 2.0 / (period + 1)
    keep = 1.0 - alpha
    value = float(window[0])
    for close in window[1:]:
        value = alpha * float(close) + keep * value
    return value


def true_range(high: Sequence[float], low: Sequence[float], close: Sequence[float]) -> np.ndarray:
    """True range per row; the first row has no previous close, so it is high - low."""
    h = np.asarray(high, dtype=float)
    lo = np.asarray(low, dtype=float)
    c = np.asarray(close, dtype=float)
    tr = h - lo
    if len(tr) > 1:
        prev = c[:-1]
        tr[1:] = np.maximum.reduce([tr[1:], np.abs(h[1:] - prev), np.abs(lo[1:] - prev)])
    return tr


def ema_series(values: np.ndarray, span: int) -> np.ndarray:
    """Recursive EMA seeded with the first value (pandas ``ewm(span, adjust=False)``)."""
    out = np.empty(len(values), dtype=float)
    if len(values) == 0:
        return out
    alpha = 2.0 / (span + 1)
    keep = 1.0 - alpha
    value = float(values[0])
    out[0] = value
    # A Python loop over 100 floats beats a numpy-ufunc scan at this size.
    for i, item in enumerate(values[1:].tolist(), start=1):
        value = alpha * item + keep * value
        out[i] = value
    return out


def atr_series(
    high: Sequence[float], low: Sequence[float], close: Sequence[float], span: int = ATR_SPAN
) -> np.ndarray:
    """ATR per row: EMA (span 14, seeded with the first TR, not Wilder's) of the true range."""
    return ema_series(true_range(high, low, close), span)


def atr_last(
    high: Sequence[float], low: Sequence[float], close: Sequence[float], span: int = ATR_SPAN
) -> float | None:
    """The current ATR; None with fewer than ``span`` rows, as the existing bot."""
    if len(close) < span:
        return None
    return float(atr_series(high, low, close, span)[-1])


def atr_threshold(
    high: Sequence[float], low: Sequence[float], close: Sequence[float]
) -> float | None:
    """1.5 x the mean ATR over prefixes 14..50 of the window (the oldest 50 rows); needs 50 rows."""
    if len(close) < ATR_BASELINE_ROWS:
        return None
    # The recursive ATR of a prefix equals the full series at the prefix's last row.
    series = atr_series(
        high[:ATR_BASELINE_ROWS], low[:ATR_BASELINE_ROWS], close[:ATR_BASELINE_ROWS]
    )
    return ATR_THRESHOLD_FACTOR * float(series[ATR_SPAN - 1 :].mean())


def bollinger_width(
    closes: Sequence[float], period: int = BB_PERIOD, k: float = BB_K
) -> float | None:
    """Band width in % of the middle band: (upper - lower) / SMA x 100, sample std (ddof 1)."""
    if len(closes) < period or period < 2:
        return None
    window = np.asarray(closes[-period:], dtype=float)
    middle = float(window.mean())
    if middle == 0:
        return None
    return 2 * k * float(window.std(ddof=1)) / middle * 100


def historical_volatility(closes: Sequence[float], period: int = HV_PERIOD) -> float | None:
    """Sample std of the last ``period`` one-candle log returns, in % (not annualised)."""
    if len(closes) < period + 1 or period < 2:
        return None
    window = np.asarray(closes[-(period + 1) :], dtype=float)
    if (window <= 0).any():
        return None
    return float(np.diff(np.log(window)).std(ddof=1)) * 100


def _roc(closes: Sequence[float], periods: int) -> float | None:
    """Percent change over ``periods`` candles; None without enough rows or a zero base."""
    if len(closes) < periods + 1:
        return None
    base = float(closes[-periods - 1])
    if base == 0:
        return None
    return (float(closes[-1]) / base - 1) * 100


def _volume_ratio(volumes: Sequence[float]) -> float | None:
    """Mean volume of the last 5 candles over the mean of the 16 before them (rows -21..-6)."""
    if len(volumes) < 21:
        return None
    recent = sum(float(v) for v in volumes[-5:]) / 5
    earlier = sum(float(v) for v in volumes[-21:-5]) / 16
    return recent / earlier if earlier > 0 else None


def _decline_score(roc_5: float, smoothness: float, volume_ratio: float | None) -> float:
    """Spec 4.3 score: fall speed + smoothness + volume spike, capped at 100."""
    score = 0.0
    if roc_5 < -5:
        score += 40
    elif roc_5 < -3:
        score += 25
    elif roc_5 < -1:
        score += 10
    if smoothness > 2.5:
        score += 30
    elif smoothness > 1.5:
        score += 15
    if volume_ratio is not None:
        if volume_ratio > 3:
            score += 30
        elif volume_ratio > 2:
            score += 15
    return min(score, 100.0)


def decline_type(score: float) -> str:
    """The label of a decline score; SLOW_DECLINE below 20, whatever the direction (Q13)."""
    if score >= 70:
        return CRASH
    if score >= 40:
        return FAST_DECLINE
    if score >= 20:
        return MODERATE_DECLINE
    return SLOW_DECLINE


def decline_velocity(closes: Sequence[float], volumes: Sequence[float]) -> dict | None:
    """Spec 4.3: roc_5/15/30, smoothness, volume ratio, score and decline type; needs 30 rows."""
    if len(closes) < DECLINE_MIN_ROWS:
        return None
    roc_5 = _roc(closes, 5)
    roc_15 = _roc(closes, 15)
    if roc_5 is None or roc_15 is None:
        return None
    smoothness = abs(roc_5 / roc_15) if roc_15 != 0 else 1.0
    volume_ratio = _volume_ratio(volumes)
    score = _decline_score(roc_5, smoothness, volume_ratio)
    return {
        "roc_5": roc_5,
        "roc_15": roc_15,
        "roc_30": _roc(closes, 30),
        "smoothness": smoothness,
        "volume_ratio": volume_ratio,
        "score": score,
        "decline_type": decline_type(score),
    }


def _trigger(
    atr: float | None, threshold: float | None, bb: float | None, hv: float | None
) -> tuple[str, float, float] | None:
    """The first reading over its threshold as (name, value, threshold); zero/None are absent."""
    if atr and threshold and atr > threshold:
        return ATR, atr, threshold
    if bb and bb > BB_WIDTH_THRESHOLD:
        # The original reports threshold 0 here (Q12); we show the real one (display only).
        return BB_WIDTH, bb, BB_WIDTH_THRESHOLD
    if hv and hv > HV_THRESHOLD:
        return HISTORICAL_VOLATILITY, hv, HV_THRESHOLD
    return None


def volatility(
    high: Sequence[float],
    low: Sequence[float],
    close: Sequence[float],
    volume: Sequence[float],
) -> Volatility:
    """Spec 4.2 and 4.3 combined: the high-volatility flag with its trigger, and the decline."""
    if len(close) == 0:
        return Volatility()
    atr = atr_last(high, low, close)
    threshold = atr_threshold(high, low, close)
    bb = bollinger_width(close)
    hv = historical_volatility(close)
    trigger = _trigger(atr, threshold, bb, hv)
    velocity = decline_velocity(close, volume)
    decline: dict = velocity or {}
    return Volatility(
        is_high=trigger is not None,
        trigger=trigger[0] if trigger else None,
        value=trigger[1] if trigger else 0.0,
        threshold=trigger[2] if trigger else 0.0,
        atr=atr,
        atr_threshold=threshold,
        bb_width=bb,
        hist_volatility=hv,
        decline_type=decline.get("decline_type", UNKNOWN),
        decline_score=decline.get("score", 0.0),
        roc_5=decline.get("roc_5"),
        roc_15=decline.get("roc_15"),
        roc_30=decline.get("roc_30"),
        smoothness=decline.get("smoothness"),
        volume_ratio=decline.get("volume_ratio"),
    )


def _closes(candles: Sequence[Candle]) -> list[float]:
    """Close prices as floats (indicator values are floats; money stays Decimal elsewhere)."""
    return [float(candle.close) for candle in candles]


def volatility_from_candles(candles: Sequence[Candle]) -> Volatility:
    """Section 4 on the last VOLATILITY_CANDLES candles of a list (oldest first)."""
    window = candles[-VOLATILITY_CANDLES:]
    return volatility(
        [float(c.high) for c in window],
        [float(c.low) for c in window],
        _closes(window),
        [float(c.volume) for c in window],
    )


def indicators_from_candles(
    ema_candles: Sequence[Candle],
    hourly_candles: Sequence[Candle],
    five_minute_candles: Sequence[Candle],
) -> Indicators:
    """EMA50/EMA200 on the pair's interval, the 1h EMA100 and section 4, from closed candles."""
    if not ema_candles:
        raise ValueError("no candles for EMA50/EMA200: cannot decide without them")
    if not hourly_candles:
        raise ValueError("no 60-minute candles for the 1h EMA100: cannot decide without them")
    closes = _closes(ema_candles[-EMA_CANDLES:])
    ema50 = ema_last(closes, EMA_FAST)
    ema200 = ema_last(closes, EMA_SLOW)
    ema100_1h = ema_last(_closes(hourly_candles[-HOURLY_CANDLES:]), EMA_HOURLY)
    if (
        ema50 is None
        or ema200 is None
        or ema100_1h is None
        or not all(math.isfinite(v) for v in (ema50, ema200, ema100_1h))
    ):
        raise ValueError("EMA could not be computed from the candles given")
    return Indicators(
        ema50=ema50,
        ema200=ema200,
        ema100_1h=ema100_1h,
        volatility=volatility_from_candles(five_minute_candles),
    )
