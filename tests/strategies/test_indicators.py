"""Indicators of spec sections 2 and 4 on small hand-made series, against hand-computed values
and independent pandas expressions."""

from __future__ import annotations

import math
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from strategies import indicators
from strategies.indicators import (
    atr_series,
    atr_threshold,
    bollinger_width,
    decline_type,
    decline_velocity,
    ema_last,
    historical_volatility,
    indicators_from_candles,
    volatility,
)
from strategies.types import Candle, Volatility


def pandas_ema(closes, period):
    """The reference: pandas ewm(span, adjust=False) on the last ``period`` closes."""
    return pd.Series(closes[-period:], dtype=float).ewm(span=period, adjust=False).mean().iloc[-1]


def pandas_atr(high, low, close, span=14):
    """The reference ATR: true range (first row high - low), ewm(span, adjust=False)."""
    h, lo, c = (pd.Series(x, dtype=float) for x in (high, low, close))
    prev = c.shift(1)
    tr = pd.concat([h - lo, (h - prev).abs(), (lo - prev).abs()], axis=1).max(axis=1)
    return tr.ewm(span=span, adjust=False).mean()


class TestEma:
    """The existing bot's EMA: truncated window, seeded with its first close."""

    def test_hand_computed(self):
        assert ema_last([1, 2, 3], 3) == pytest.approx(2.25)  # 1 -> 1.5 -> 2.25
        assert ema_last([1, 2, 3], 2) == pytest.approx(2 + 2 / 3)  # window [2, 3]

    def test_uses_all_closes_when_fewer_than_the_period(self):
        alpha = 2 / 11
        expected = 1 + alpha * (2 - 1)
        expected += alpha * (3 - expected)
        assert ema_last([1, 2, 3], 10) == pytest.approx(expected)

    def test_empty_is_none_and_one_close_is_itself(self):
        assert ema_last([], 50) is None
        assert ema_last([5.5], 50) == 5.5

    def test_truncation_drops_older_closes(self):
        assert ema_last([1000.0, 1, 2, 3], 3) == ema_last([1, 2, 3], 3)

    @pytest.mark.parametrize("period", [1, 5, 50, 200])
    def test_matches_pandas(self, period):
        closes = list(100 + 10 * np.sin(np.arange(250) / 7))
        assert ema_last(closes, period) == pytest.approx(pandas_ema(closes, period), rel=1e-12)

    def test_accepts_decimals_and_numpy(self):
        assert ema_last([Decimal(1), Decimal(2), Decimal(3)], 3) == pytest.approx(2.25)
        assert ema_last(np.array([1.0, 2.0, 3.0]), 3) == pytest.approx(2.25)

    def test_period_must_be_positive(self):
        with pytest.raises(ValueError, match="period"):
            ema_last([1.0], 0)


class TestAtr:
    """ATR(14) as a span-14 recursive EMA of the true range, and its oldest-50 baseline (Q12)."""

    def test_hand_computed(self):
        # TR = 2, max(3, |12-9|, |9-9|) = 3, max(2, 0, |9-11|) = 2; alpha = 2/15
        atr = atr_series([10, 12, 11], [8, 9, 9], [9, 11, 10])
        first = 2 + 2 / 15 * (3 - 2)
        assert atr.tolist() == pytest.approx([2, first, first + 2 / 15 * (2 - first)])

    def test_matches_pandas(self, wavy):
        high, low, close, _ = wavy
        expected = pandas_atr(high, low, close).to_numpy()
        np.testing.assert_allclose(atr_series(high, low, close), expected, rtol=1e-12)

    def test_threshold_needs_50_rows(self, wavy):
        high, low, close, _ = wavy
        assert atr_threshold(high[:49], low[:49], close[:49]) is None
        assert atr_threshold(high[:50], low[:50], close[:50]) is not None

    def test_threshold_is_1_5_times_the_mean_over_prefixes_14_to_50(self, wavy):
        high, low, close, _ = wavy
        prefix_atrs = [pandas_atr(high[:n], low[:n], close[:n]).iloc[-1] for n in range(14, 51)]
        assert len(prefix_atrs) == 37
        expected = 1.5 * sum(prefix_atrs) / 37
        assert atr_threshold(high, low, close) == pytest.approx(expected, rel=1e-12)
        # only the oldest 50 rows count: changing the newest rows leaves it alone
        assert atr_threshold(high[:50] + [1e6] * 50, low[:50] + [0] * 50, close) == (
            pytest.approx(expected, rel=1e-12)
        )

    def test_current_atr_needs_14_rows(self, wavy):
        high, low, close, _ = wavy
        assert indicators.atr_last(high[:13], low[:13], close[:13]) is None
        assert indicators.atr_last(high[:14], low[:14], close[:14]) == pytest.approx(
            pandas_atr(high[:14], low[:14], close[:14]).iloc[-1]
        )


class TestBollingerAndHistoricalVolatility:
    """Band width % with sample std, and the std of 20 one-candle log returns."""

    def test_band_width_hand_computed(self):
        # closes 1..20: SMA 10.5, sample std sqrt(35)
        expected = 4 * math.sqrt(35) / 10.5 * 100
        assert bollinger_width(list(range(1, 21))) == pytest.approx(expected)

    def test_band_width_matches_pandas_rolling(self, wavy):
        close = pd.Series(wavy[2])
        mid = close.rolling(20).mean().iloc[-1]
        std = close.rolling(20).std(ddof=1).iloc[-1]
        expected = ((mid + 2 * std) - (mid - 2 * std)) / mid * 100
        assert bollinger_width(wavy[2]) == pytest.approx(expected, rel=1e-12)

    def test_band_width_needs_20_rows(self):
        assert bollinger_width([1.0] * 19) is None
        assert bollinger_width([1.0] * 20) == 0

    def test_historical_volatility_hand_computed(self):
        closes = [100.0, 110.0] * 10 + [100.0]  # 21 closes, returns +-ln(1.1)
        expected = math.log(1.1) * math.sqrt(20 / 19) * 100
        assert historical_volatility(closes) == pytest.approx(expected)

    def test_historical_volatility_matches_pandas(self, wavy):
        close = pd.Series(wavy[2])
        expected = np.log(close).diff().tail(20).std(ddof=1) * 100
        assert historical_volatility(wavy[2]) == pytest.approx(expected, rel=1e-12)

    def test_historical_volatility_needs_21_rows(self):
        assert historical_volatility([100.0, 101.0] * 10) is None
        assert historical_volatility([100.0, 101.0] * 10 + [100.0]) is not None


def falling(last: float, *, at_minus_6: float = 100.0, at_minus_16: float = 100.0, rows=30):
    """Closes of 100 with chosen values at rows -16 and -6 and the last close ``last``."""
    closes = [100.0] * rows
    closes[-16] = at_minus_16
    closes[-6] = at_minus_6
    closes[-1] = last
    return closes


class TestDeclineVelocity:
    """Spec 4.3: rate of change, smoothness, volume spike, score and label."""

    def test_needs_30_rows(self):
        assert decline_velocity([100.0] * 29, [1.0] * 29) is None
        assert decline_velocity([100.0] * 30, [1.0] * 30) is not None

    def test_roc_30_needs_31_rows(self):
        assert decline_velocity([100.0] * 30, [1.0] * 30)["roc_30"] is None
        closes = [50.0] + [100.0] * 30
        assert decline_velocity(closes, [1.0] * 31)["roc_30"] == pytest.approx(100.0)

    def test_hand_computed_fast_decline(self):
        result = decline_velocity(falling(94.0), [1.0] * 30)
        assert result == pytest.approx(
            {
                "roc_5": -6.0,
                "roc_15": -6.0,
                "roc_30": None,
                "smoothness": 1.0,
                "volume_ratio": 1.0,
                "score": 40.0,
                "decline_type": "FAST_DECLINE",
            }
        )

    def test_volume_spike_turns_it_into_a_crash(self):
        volumes = [1.0] * 25 + [4.0] * 5  # last 5 vs rows -21..-6: ratio 4 -> +30
        result = decline_velocity(falling(94.0), volumes)
        assert (result["volume_ratio"], result["score"]) == (4.0, 70.0)
        assert result["decline_type"] == "CRASH"

    def test_volume_ratio_uses_rows_minus_21_to_minus_6(self):
        volumes = [1000.0] * 9 + [2.0] * 16 + [5.0] * 5  # the 1000s are older than row -21
        assert decline_velocity(falling(100.0), volumes)["volume_ratio"] == 2.5

    def test_volume_ratio_absent_without_earlier_volume(self):
        assert decline_velocity(falling(94.0), [0.0] * 25 + [9.0] * 5)["volume_ratio"] is None

    @pytest.mark.parametrize(
        ("closes", "score"),
        [
            (falling(97.5), 10 + 0),  # roc_5 -2.5: +10; smoothness 1
            (falling(96.0), 25),  # roc_5 -4: +25
            (falling(94.0, at_minus_16=95.0), 40 + 30),  # roc_15 -1.05: smoothness 5.7 -> +30
            (falling(96.0, at_minus_16=98.0), 25 + 15),  # smoothness 4 / 2.04 = 1.96 -> +15
        ],
    )
    def test_score_terms(self, closes, score):
        assert decline_velocity(closes, [1.0] * 30)["score"] == score

    def test_flat_15_period_change_gives_smoothness_1(self):
        result = decline_velocity(falling(100.0, at_minus_6=100.0), [1.0] * 30)
        assert result["roc_15"] == 0 and result["smoothness"] == 1.0

    def test_a_rising_market_can_score_as_a_decline(self):
        # Q13: only roc_5 is directional; roc_5 +2.55 over roc_15 +0.5 is "smooth"
        result = decline_velocity(falling(100.5, at_minus_6=98.0), [1.0] * 30)
        assert result["roc_5"] > 0
        assert result["decline_type"] == "MODERATE_DECLINE"

    def test_all_three_strongest_terms_make_a_100_crash(self):
        # roc_5 -10 (+40), smoothness 10 / 3.2 = 3.1 (+30), volume ratio 10 (+30)
        volumes = [1.0] * 25 + [10.0] * 5
        result = decline_velocity(falling(90.0, at_minus_16=93.0), volumes)
        assert (result["score"], result["decline_type"]) == (100, "CRASH")

    @pytest.mark.parametrize(
        ("score", "label"),
        [(0, "SLOW_DECLINE"), (19.9, "SLOW_DECLINE"), (20, "MODERATE_DECLINE"),
         (39.9, "MODERATE_DECLINE"), (40, "FAST_DECLINE"), (69.9, "FAST_DECLINE"),
         (70, "CRASH"), (100, "CRASH")],
    )  # fmt: skip
    def test_labels(self, score, label):
        assert decline_type(score) == label


def candles_from(high, low, close, volume=None):
    """Rows as the four series volatility() takes."""
    volume = volume or [1.0] * len(close)
    return list(high), list(low), list(close), list(volume)


class TestVolatility:
    """Spec 4.2: the first trigger over its threshold in the order atr, bb_width, hv."""

    def test_empty_data_is_no_reading_with_unknown_decline(self):
        assert volatility([], [], [], []) == Volatility()
        assert Volatility().decline_type == "UNKNOWN"

    def test_fewer_than_30_rows_has_no_decline_label(self):
        close = [100.0] * 29
        reading = volatility([101.0] * 29, [99.0] * 29, close, [1.0] * 29)
        assert reading.decline_type == "UNKNOWN" and not reading.is_high

    def test_calm_market(self):
        close = [100.0] * 100
        reading = volatility([100.5] * 100, [99.5] * 100, close, [1.0] * 100)
        assert (reading.is_high, reading.trigger, reading.value, reading.threshold) == (
            False,
            None,
            0.0,
            0.0,
        )
        assert reading.decline_type == "SLOW_DECLINE"
        assert reading.bb_width == 0 and reading.hist_volatility == 0

    def test_atr_over_its_baseline_triggers_first(self):
        # quiet oldest 50 (range 1), wide newest 50 (range 10); the closes also swing
        close = [100.0] * 50 + [100.0 + (5 if i % 2 else -5) for i in range(50)]
        high = [c + 0.5 for c in close[:50]] + [c + 5 for c in close[50:]]
        low = [c - 0.5 for c in close[:50]] + [c - 5 for c in close[50:]]
        reading = volatility(*candles_from(high, low, close))
        assert reading.bb_width > 8 and reading.hist_volatility > 5  # all three over
        assert (reading.trigger, reading.is_high) == ("atr", True)
        assert reading.value == reading.atr > reading.atr_threshold == reading.threshold

    def test_band_width_triggers_with_threshold_8(self):
        # wide oldest 50 give a high ATR baseline; a steady climb widens the bands only
        close = [100.0] * 50 + [100.0 + 1.5 * i for i in range(1, 51)]
        high = [c + 10 for c in close[:50]] + [c + 0.25 for c in close[50:]]
        low = [c - 10 for c in close[:50]] + [c - 0.25 for c in close[50:]]
        reading = volatility(*candles_from(high, low, close))
        assert reading.atr < reading.atr_threshold
        assert (reading.trigger, reading.threshold) == ("bb_width", 8.0)
        assert reading.value == reading.bb_width > 8

    def test_historical_volatility_triggers_with_threshold_5(self):
        # one jump at row -21: inside the 20 returns, outside the 20-close band window
        close = [100.0] * 100
        close[-21] = 130.0
        high = [c + 1 for c in close]
        low = [c - 1 for c in close]
        reading = volatility(*candles_from(high, low, close))
        assert reading.bb_width == 0  # zero counts as absent
        assert reading.atr < reading.atr_threshold
        assert (reading.trigger, reading.threshold) == ("historical_volatility", 5.0)
        assert (
            reading.value
            == reading.hist_volatility
            == pytest.approx(math.log(130 / 100) / math.sqrt(20) * 100)
        )

    def test_decline_fields_are_copied(self):
        close = [100.0] * 70 + falling(94.0)
        reading = volatility([c + 0.1 for c in close], [c - 0.1 for c in close], close, [1.0] * 100)
        assert (reading.decline_type, reading.decline_score) == ("FAST_DECLINE", 40.0)
        assert (reading.roc_5, reading.roc_15, reading.roc_30) == pytest.approx((-6, -6, -6))
        assert (reading.smoothness, reading.volume_ratio) == (1.0, 1.0)


def candle(ts: int, close: float, spread: float = 1.0, volume: float = 1.0) -> Candle:
    """A closed candle around ``close``."""
    return Candle(
        ts_ms=ts,
        open=Decimal(str(close)),
        high=Decimal(str(close + spread)),
        low=Decimal(str(close - spread)),
        close=Decimal(str(close)),
        volume=Decimal(str(volume)),
    )


class TestIndicatorsFromCandles:
    """EMA50/EMA200 on the pair's interval, 1h EMA100 and section 4 from closed candles."""

    def test_computes_each_reading_on_its_window(self):
        ema = [candle(i, 100 + i % 7) for i in range(300)]
        hourly = [candle(i, 200 + i % 5) for i in range(150)]
        five = [candle(i, 50 + i % 3) for i in range(150)]
        result = indicators_from_candles(ema, hourly, five)
        closes = [float(c.close) for c in ema]
        assert result.ema50 == pytest.approx(pandas_ema(closes, 50), rel=1e-12)
        assert result.ema200 == pytest.approx(pandas_ema(closes, 200), rel=1e-12)
        hourly_closes = [float(c.close) for c in hourly]
        assert result.ema100_1h == pytest.approx(pandas_ema(hourly_closes, 100), rel=1e-12)
        last_100 = five[-100:]
        assert result.volatility == volatility(
            [float(c.high) for c in last_100],
            [float(c.low) for c in last_100],
            [float(c.close) for c in last_100],
            [float(c.volume) for c in last_100],
        )

    def test_missing_ema_candles_are_an_error(self):
        with pytest.raises(ValueError, match="no candles for EMA50/EMA200"):
            indicators_from_candles([], [candle(0, 1)], [])
        with pytest.raises(ValueError, match="no 60-minute candles"):
            indicators_from_candles([candle(0, 1)], [], [])

    def test_no_five_minute_candles_means_no_reading(self):
        result = indicators_from_candles([candle(0, 1)], [candle(0, 2)], [])
        assert result.volatility == Volatility()
        assert (result.ema50, result.ema200, result.ema100_1h) == (1.0, 1.0, 2.0)

    def test_fetch_sizes(self):
        assert indicators.EMA_CANDLES == 200
        assert indicators.HOURLY_CANDLES == 100
        assert indicators.VOLATILITY_CANDLES == 100
        assert indicators.VOLATILITY_INTERVAL == 5


@pytest.fixture
def wavy():
    """100 deterministic candles with varying ranges and volumes."""
    i = np.arange(100)
    close = 100 + 8 * np.sin(i / 5) + 3 * np.cos(i / 2.3)
    spread = 1 + 0.5 * np.abs(np.sin(i / 3))
    high = (close + spread).tolist()
    low = (close - spread * 0.8).tolist()
    volume = (10 + 5 * np.cos(i / 4)).tolist()
    return high, low, close.tolist(), volume
