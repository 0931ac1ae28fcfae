"""Metrics on known equity curves, chart decimation, and the benchmark's figures."""

from __future__ import annotations

import math

import numpy as np
import pytest

from benchmarks.backtest_bench import generated_year, replay_once
from workflows.backtest_metrics import EquityCurve, daily_ratios, metric_lines
from workflows.backtest_report import MAX_POINTS, decimate

DAY = 86_400_000


def curve_of(equity: list[float], step_ms: int = DAY) -> EquityCurve:
    """A curve with one point per step (wallet = equity, flat margin)."""
    values = np.asarray(equity, dtype=float)
    ts = np.arange(len(values), dtype=np.int64) * step_ms + 1_700_006_400_000
    zeros = np.zeros(len(values))
    return EquityCurve(ts, values, values, zeros, zeros, np.full(len(values), np.nan), zeros > 0)


def test_drawdown_is_the_fall_from_the_running_peak():
    """100 -> 120 -> 90 -> 130: the worst point is 25 % below the 120 peak."""
    drawdown = curve_of([100, 120, 90, 130]).drawdown()
    np.testing.assert_allclose(drawdown, [0, 0, -0.25, 0])


def test_sharpe_and_sortino_use_daily_returns_annualised_over_365_days():
    """Returns +1 %, -1 %, +2 % on consecutive days, by hand."""
    equity = [100.0, 101.0, 99.99, 101.9898]
    sharpe, sortino = daily_ratios(curve_of(equity))
    returns = np.array([0.01, -0.01, 0.02])
    assert sharpe == pytest.approx(returns.mean() / returns.std(ddof=1) * math.sqrt(365))
    downside = math.sqrt((0.01**2) / 3)
    assert sortino == pytest.approx(returns.mean() / downside * math.sqrt(365))


def test_intraday_points_are_reduced_to_the_close_of_each_utc_day():
    """Many points a day count once, at the day's last value (the close at midnight)."""
    # Hourly from 00:00: the points at 24:00 (110) and 48:00 (99) close days one and two.
    hourly = [100.0] * 24 + [110.0] * 24 + [99.0] * 24 + [104.0]
    sharpe, _ = daily_ratios(curve_of(hourly, step_ms=3_600_000))
    returns = np.array([0.10, -0.10, 104 / 99 - 1])
    assert sharpe == pytest.approx(returns.mean() / returns.std(ddof=1) * math.sqrt(365))


def test_ratios_need_at_least_two_daily_returns_and_some_variation():
    """A flat or one-day curve has no meaningful ratio."""
    assert daily_ratios(curve_of([100.0, 100.0, 100.0])) == (None, None)
    assert daily_ratios(curve_of([100.0, 101.0])) == (None, None)


def test_decimation_keeps_every_extreme_within_the_point_budget():
    """A million points become at most MAX_POINTS, and the global high and low survive."""
    rng = np.random.default_rng(0)
    y = np.cumsum(rng.normal(size=1_000_000))
    x = np.arange(len(y))
    keep = decimate(x, [y])
    assert len(keep) <= MAX_POINTS and keep[0] == 0 and keep[-1] == len(y) - 1
    assert y.argmax() in keep and y.argmin() in keep
    assert (np.diff(keep) > 0).all()
    assert decimate(x[:100], [y[:100]]).tolist() == list(range(100))


def test_missing_metrics_print_as_a_dash():
    """A run without completed deals has no win rate or Sharpe; the table still reads."""
    metrics = {
        key: None
        for key in (
            "win_rate_pct",
            "sharpe",
            "sortino",
            "avg_deal_hours",
            "longest_deal_hours",
            "lowest_margin_level",
            "max_margin_usage_pct",
            "total_return_pct",
        )
    }
    metrics.update(
        initial_balance=100,
        final_balance=100,
        final_equity=100,
        max_drawdown_pct=0.0,
        max_drawdown_usdt=0.0,
        liquidations=0,
        fees_paid=0,
        funding_paid=0,
        deals_completed=0,
        open_at_end=0,
        opens=0,
        adds=0,
        reduces=0,
        closes=0,
        orders_placed=0,
        orders_unfilled=0,
        orders_rejected=0,
        exposure_pct=0.0,
        decisions=10,
        skipped_decisions=0,
        start="a",
        end="b",
        days=1.0,
    )
    lines = dict(metric_lines(metrics))
    assert lines["Win rate"] == "-" and lines["Sharpe (daily, annualised)"] == "-"
    assert lines["Decisions / skipped"] == "10 / 0"


def test_the_benchmark_reports_its_figures_on_a_short_generated_series():
    """The benchmark's replay runs the real strategy and counts what it did."""
    figures = replay_once(generated_year(60 * 24 * 6, seed=3))
    assert figures["candles"] == 60 * 24 * 6
    # Every five minutes from the end of the 100-hour warm-up to the last candle's open.
    assert figures["decisions"] == (60 * 24 * 6 - 1 - 100 * 60) // 5 + 1
    assert figures["total_s"] >= figures["replay_s"] > 0
