"""Vectorised indicators: at each index, what the live function returns for the window ending there.

The live functions in ``strategies.indicators`` look at a fixed window of closed candles (the last
200 on the EMA interval, the last 100 hourly, the last 100 five-minute candles) and seed their
recursive averages with the window's first row. A backtest needs those values at every decision
point, so each is computed here once over the whole series with numpy. Indices whose window is not
full yet are NaN. Bollinger width, historical volatility and the decline velocity are bit-identical
to the live functions; the EMAs and the ATR agree to about 1e-15 (a different summation order).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from strategies.indicators import (
    ATR,
    ATR_BASELINE_ROWS,
    ATR_SPAN,
    ATR_THRESHOLD_FACTOR,
    BB_K,
    BB_PERIOD,
    BB_WIDTH,
    BB_WIDTH_THRESHOLD,
    CRASH,
    DECLINE_MIN_ROWS,
    FAST_DECLINE,
    HISTORICAL_VOLATILITY,
    HV_PERIOD,
    HV_THRESHOLD,
    MODERATE_DECLINE,
    SLOW_DECLINE,
    VOLATILITY_CANDLES,
)

# Block length of the blocked EMA scan: long enough for a fast matrix product, short enough that
# keep**BLOCK stays far from underflow for every span the strategy uses.
BLOCK = 128
# Decline type codes of ``VolatilitySeries.decline_code``, in score order.
DECLINE_TYPES = (SLOW_DECLINE, MODERATE_DECLINE, FAST_DECLINE, CRASH)
TRIGGERS = (None, ATR, BB_WIDTH, HISTORICAL_VOLATILITY)


def _floats(values) -> np.ndarray:
    """A contiguous float64 copy-free view where possible."""
    return np.ascontiguousarray(values, dtype=np.float64)


def ema_full(values, span: int) -> np.ndarray:
    """The recursive EMA over the whole series, seeded with the first value (adjust=False).

    Computed in blocks: inside a block the decayed sums are one matrix product, and only the
    block ends are carried in Python, so a million values take milliseconds.
    """
    x = _floats(values)
    n = len(x)
    if n == 0:
        return np.empty(0)
    alpha = 2.0 / (span + 1)
    keep = 1.0 - alpha
    if keep == 0.0:
        return x.copy()
    blocks = -(-n // BLOCK)
    padded = np.zeros(blocks * BLOCK)
    padded[:n] = x
    offsets = np.arange(BLOCK)
    lag = offsets[:, None] - offsets[None, :]
    # kernel[i, j] = alpha * keep**(i - j) for j <= i: row i sums the block up to its i-th value.
    kernel = np.where(lag >= 0, alpha * keep ** np.maximum(lag, 0), 0.0)
    local = padded.reshape(blocks, BLOCK) @ kernel.T
    carry_factor = keep ** (offsets + 1)
    ends = local[:, -1].tolist()
    decay = keep**BLOCK
    starts = np.empty(blocks)
    # E[-1] = x[0] makes E[0] = alpha*x[0] + keep*x[0] = x[0], the live seed.
    carry = float(x[0])
    for b in range(blocks):
        starts[b] = carry
        carry = ends[b] + decay * carry
    out = local + carry_factor[None, :] * starts[:, None]
    return out.reshape(-1)[:n]


def windowed_ema(values, period: int, seeds=None, span: int | None = None) -> np.ndarray:
    """At index t, the EMA of the ``period`` values ending at t seeded with the window's first.

    W_t = E_t - keep**(period-1) * (E_s - seed_s), s = t - period + 1, E the full recursive EMA;
    ``seeds`` replaces the value a window starts from (the ATR seeds with high - low).
    """
    x = _floats(values)
    span = period if span is None else span
    out = np.full(len(x), np.nan)
    if period < 1 or len(x) < period:
        return out
    full = ema_full(x, span)
    seed = x if seeds is None else _floats(seeds)
    keep = 1.0 - 2.0 / (span + 1)
    q = keep ** (period - 1)
    starts = len(x) - period + 1
    out[period - 1 :] = full[period - 1 :] - q * (full[:starts] - seed[:starts])
    return out


def true_range(high, low, close) -> np.ndarray:
    """True range of the whole series (the first row is high - low)."""
    h, lo, c = _floats(high), _floats(low), _floats(close)
    tr = h - lo
    if len(tr) > 1:
        prev = c[:-1]
        tr[1:] = np.maximum.reduce([tr[1:], np.abs(h[1:] - prev), np.abs(lo[1:] - prev)])
    return tr


def windowed_atr(high, low, close, window: int = VOLATILITY_CANDLES, span: int = ATR_SPAN):
    """The live ``atr_last`` of the ``window`` candles ending at each index."""
    tr = true_range(high, low, close)
    return windowed_ema(tr, window, seeds=_floats(high) - _floats(low), span=span)


def atr_threshold_series(high, low, close, window: int = VOLATILITY_CANDLES) -> np.ndarray:
    """The live ``atr_threshold``: 1.5 x the mean ATR over prefixes 14..50 of each window.

    Inside a window starting at s the ATR at s+m is E[s+m] - keep**m * (E[s] - (h[s] - l[s])),
    so the mean over m = 13..49 is a rolling mean of E minus one decayed correction.
    """
    h, lo = _floats(high), _floats(low)
    n = len(h)
    out = np.full(n, np.nan)
    rows = ATR_BASELINE_ROWS
    if n < window or window < rows:
        return out
    full = ema_full(true_range(high, low, close), ATR_SPAN)
    keep = 1.0 - 2.0 / (ATR_SPAN + 1)
    count = rows - ATR_SPAN + 1
    mean_decay = float(np.mean(keep ** np.arange(ATR_SPAN - 1, rows)))
    means = sliding_window_view(full, count).mean(axis=1)  # means[i] = mean(full[i : i+count])
    starts = np.arange(n - window + 1)
    gap = full[starts] - (h[starts] - lo[starts])
    out[window - 1 :] = ATR_THRESHOLD_FACTOR * (means[starts + ATR_SPAN - 1] - gap * mean_decay)
    return out


def bollinger_width_series(close, period: int = BB_PERIOD, k: float = BB_K) -> np.ndarray:
    """The live ``bollinger_width`` of the ``period`` closes ending at each index."""
    c = _floats(close)
    out = np.full(len(c), np.nan)
    if len(c) < period or period < 2:
        return out
    view = sliding_window_view(c, period)
    middle = view.mean(axis=1)
    std = view.std(axis=1, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        width = 2 * k * std / middle * 100
    out[period - 1 :] = np.where(middle == 0, np.nan, width)
    return out


def historical_volatility_series(close, period: int = HV_PERIOD) -> np.ndarray:
    """The live ``historical_volatility``: std of the last ``period`` log returns, in %."""
    c = _floats(close)
    out = np.full(len(c), np.nan)
    if len(c) < period + 1 or period < 2 or (c <= 0).any():
        return out
    returns = np.diff(np.log(c))
    out[period:] = sliding_window_view(returns, period).std(axis=1, ddof=1) * 100
    return out


def _roc_series(c: np.ndarray, periods: int) -> np.ndarray:
    """Percent change over ``periods`` candles at each index (NaN before there are enough)."""
    out = np.full(len(c), np.nan)
    if len(c) > periods:
        out[periods:] = (c[periods:] / c[:-periods] - 1) * 100
    return out


def _sequential_sum(v: np.ndarray, first: int, last: int, reach: int) -> np.ndarray:
    """Sum of v[i+first] .. v[i+last] for i < len(v) - reach, left to right like Python's sum()."""
    n = len(v) - reach
    acc = v[first : first + n].copy()
    for offset in range(first + 1, last + 1):
        acc += v[offset : offset + n]
    return acc


def volume_ratio_series(volume) -> np.ndarray:
    """Mean volume of the last 5 candles over the 16 before them (NaN without a positive base)."""
    v = _floats(volume)
    out = np.full(len(v), np.nan)
    if len(v) < 21:
        return out
    recent = _sequential_sum(v, 16, 20, 20) / 5
    earlier = _sequential_sum(v, 0, 15, 20) / 16
    with np.errstate(divide="ignore", invalid="ignore"):
        out[20:] = np.where(earlier > 0, recent / earlier, np.nan)
    return out


@dataclass(frozen=True, slots=True)
class DeclineSeries:
    """Spec 4.3 at every index: rates of change, smoothness, volume ratio, score and type code."""

    roc_5: np.ndarray
    roc_15: np.ndarray
    roc_30: np.ndarray
    smoothness: np.ndarray
    volume_ratio: np.ndarray
    score: np.ndarray
    code: np.ndarray  # index into DECLINE_TYPES; -1 where the window is too short


def decline_velocity_series(close, volume, window: int = VOLATILITY_CANDLES) -> DeclineSeries:
    """The live ``decline_velocity`` of the ``window`` candles ending at each index."""
    c = _floats(close)
    roc_5, roc_15, roc_30 = _roc_series(c, 5), _roc_series(c, 15), _roc_series(c, 30)
    with np.errstate(divide="ignore", invalid="ignore"):
        smooth = np.where(roc_15 != 0, np.abs(roc_5 / roc_15), 1.0)
    ratio = volume_ratio_series(volume)
    score = np.select([roc_5 < -5, roc_5 < -3, roc_5 < -1], [40.0, 25.0, 10.0], 0.0)
    score += np.select([smooth > 2.5, smooth > 1.5], [30.0, 15.0], 0.0)
    score += np.select([ratio > 3, ratio > 2], [30.0, 15.0], 0.0)
    score = np.minimum(score, 100.0)
    code = np.select([score >= 70, score >= 40, score >= 20], [3, 2, 1], 0)
    usable = np.zeros(len(c), dtype=bool)
    usable[max(window, DECLINE_MIN_ROWS) - 1 :] = True
    usable &= ~np.isnan(roc_15)
    code = np.where(usable, code, -1)
    return DeclineSeries(roc_5, roc_15, roc_30, smooth, ratio, score, code)


@dataclass(frozen=True, slots=True)
class VolatilitySeries:
    """Spec 4.2 and 4.3 at every index: the fields of ``strategies.types.Volatility`` as arrays."""

    is_high: np.ndarray
    trigger: np.ndarray  # index into TRIGGERS (0 = none)
    value: np.ndarray
    threshold: np.ndarray
    atr: np.ndarray
    atr_threshold: np.ndarray
    bb_width: np.ndarray
    hist_volatility: np.ndarray
    decline: DeclineSeries
    valid: np.ndarray  # the window of ``window`` candles ending here is complete


def volatility_series(high, low, close, volume, window: int = VOLATILITY_CANDLES):
    """The live ``volatility()`` of the ``window`` candles ending at each index."""
    n = len(close)
    atr = windowed_atr(high, low, close, window)
    threshold = atr_threshold_series(high, low, close, window)
    bb = bollinger_width_series(close)
    hv = historical_volatility_series(close)
    # The live rule treats zero (and missing) readings as absent: "if atr and threshold and ...".
    with np.errstate(invalid="ignore"):
        by_atr = (atr != 0) & (threshold != 0) & (atr > threshold)
        by_bb = ~by_atr & (bb > BB_WIDTH_THRESHOLD)
        by_hv = ~by_atr & ~by_bb & (hv > HV_THRESHOLD)
    trigger = np.select([by_atr, by_bb, by_hv], [1, 2, 3], 0)
    value = np.select([by_atr, by_bb, by_hv], [atr, bb, hv], 0.0)
    limit = np.select([by_atr, by_bb, by_hv], [threshold, BB_WIDTH_THRESHOLD, HV_THRESHOLD], 0.0)
    valid = np.zeros(n, dtype=bool)
    valid[window - 1 :] = True
    return VolatilitySeries(
        is_high=trigger > 0,
        trigger=trigger,
        value=value,
        threshold=limit,
        atr=atr,
        atr_threshold=threshold,
        bb_width=bb,
        hist_volatility=hv,
        decline=decline_velocity_series(close, volume, window),
        valid=valid,
    )
