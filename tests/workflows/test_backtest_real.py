"""Backtests on the real Binance candles of ../shared/data/ohlcv (skipped when they are absent)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D

import numpy as np
import pytest

from strategies import get_strategy
from strategies.types import Snapshot
from workflows.backtest_data import fmt_ms, load_candles, load_funding
from workflows.backtest_engine import BacktestPair, EngineSettings
from workflows.backtest_metrics import equity_curve
from workflows.backtest_run import BacktestConfig, replay_candles, run_backtest

CRASH = "BTCUSDT-SPOT-1m-2021-04_2021-05.csv"
BTC_5M = "BTCUSDT-PERP-5m-2023-01_2024-05.csv"
ETH_5M = "ETHUSDT-PERP-5m-2023-01_2024-05.csv"
BTC_FUNDING = "BTCUSDT-PERP-funding-2019-09_2026-05.csv"
EIGHT_HOURS = 8 * 3_600_000
EXACT = D("1e-18")  # average entry prices are 28-digit Decimals


def ms(text: str) -> int:
    """A UTC 'YYYY-MM-DD HH:MM' as epoch milliseconds."""
    return int(datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=UTC).timestamp() * 1000)


def books_balance(run) -> bool:
    """Final wallet = start + realised PnL - fees - funding, to Decimal precision."""
    engine = run.replay.engine
    realised = sum((f.realised_pnl for f in engine.fills), D(0))
    fees = sum((f.fee for f in engine.fills), D(0))
    expected = run.config.balance + realised - fees - engine.funding_paid
    return abs(engine.wallet - expected) < EXACT and fees == engine.fees_paid


@pytest.fixture(scope="module")
def crash_run(ohlcv_dir):
    """April-May 2021 on one-minute spot candles: a 284-minute gap, then the 19 May crash."""
    return run_backtest(BacktestConfig(["BTCUSDT"], [ohlcv_dir / CRASH]))


def test_the_may_2021_gap_is_reported_and_no_decision_is_made_across_it(crash_run):
    """Decisions stop at the hole and resume once 100 complete hours have closed after it."""
    (note,) = crash_run.notes
    assert "line 6200: 284 missing 1-minute candles after 2021-04-25 04:00" in note
    assert "decisions resume 2021-04-29 13:00" in note
    times = np.array([t for t, _, _ in crash_run.replay.decisions])
    inside = (times > ms("2021-04-25 04:00")) & (times < ms("2021-04-29 13:00"))
    assert not inside.any() and ms("2021-04-29 13:00") in times
    assert crash_run.metrics["skipped_decisions"] == ms("2021-04-29 13:00") // 300_000 - (
        ms("2021-04-25 04:05") // 300_000
    )


def test_the_may_2021_crash_liquidates_a_ten_times_ladder_and_the_books_balance(crash_run):
    """The default ladder at 10x is liquidated on 19 May; every fee and loss is accounted for."""
    liquidations = [f for f in crash_run.replay.engine.fills if f.kind == "LIQUIDATION"]
    assert any(fmt_ms(f.ts_ms).startswith("2021-05-19") for f in liquidations)
    assert crash_run.metrics["liquidations"] == len(liquidations)
    assert books_balance(crash_run)
    deals = crash_run.deals
    assert sum(d.outcome == "liquidated" for d in deals) == len(liquidations)
    worst = crash_run.curve.ts[crash_run.curve.drawdown().argmin()]
    assert fmt_ms(int(worst)) >= "2021-05-19"
    assert crash_run.metrics["max_drawdown_pct"] > 30
    assert crash_run.curve.equity[-1] == pytest.approx(float(crash_run.metrics["final_equity"]))


def test_funding_on_the_perpetual_is_charged_every_eight_hours_while_a_position_is_open(ohlcv_dir):
    """Funding events land on the 8-hour grid, only with a position, and add up in the wallet."""
    config = BacktestConfig(
        ["BTCUSDT"],
        [ohlcv_dir / BTC_5M],
        funding=[ohlcv_dir / BTC_FUNDING],
        end_ms=ms("2023-03-01 00:00"),
    )
    run = run_backtest(config)
    events = run.replay.funding_events
    assert len(events) > 20
    assert all(ts % EIGHT_HOURS == 0 for ts, *_ in events)
    assert sum(amount for *_, amount in events) == run.metrics["funding_paid"] != 0
    assert books_balance(run)
    assert sum(d.funding for d in run.deals) == run.metrics["funding_paid"]


def test_two_real_symbols_share_one_wallet_and_each_sees_the_others_position(ohlcv_dir):
    """BTC and ETH on one balance: a decision for one pair reads the other's open position."""
    seen: list[Snapshot] = []
    series = {
        "BTCUSDT": load_candles(ohlcv_dir / BTC_5M).series.slice(0, 8000),
        "ETHUSDT": load_candles(ohlcv_dir / ETH_5M).series.slice(0, 8000),
    }

    class Spy(type(get_strategy("martingale"))):
        def decide(self, snapshot):
            seen.append(snapshot)
            return super().decide(snapshot)

    pairs = [
        BacktestPair(sym, "Long", Spy({}), D(10), True, str(i))
        for i, sym in enumerate(series, start=1)
    ]
    result = replay_candles(series, pairs, EngineSettings(balance=D(1000)))
    assert {f.symbol for f in result.engine.fills} == {"BTCUSDT", "ETHUSDT"}
    both = [s for s in seen if {p.symbol for p in s.account_positions} == set(series)]
    assert both, "the two ladders never overlapped"
    realised = sum((f.realised_pnl - f.fee for f in result.engine.fills), D(0))
    assert abs(result.engine.wallet - (D(1000) + realised)) < EXACT
    curve = equity_curve(result)  # marks both symbols at their own closes
    assert curve.equity[-1] == pytest.approx(float(result.engine.equity()))
    first = both[0]
    at = curve.ts == int(first.now.timestamp() * 1000)  # the close just before that decision
    held = float(sum(p.margin for p in first.account_positions))
    assert curve.margin[at] == pytest.approx([held])


def test_the_whole_16_month_perpetual_file_replays_with_every_decision_made(ohlcv_dir):
    """143,900 five-minute candles, no gap: a decision every five minutes after the warm-up."""
    run = run_backtest(
        BacktestConfig(["BTCUSDT"], [ohlcv_dir / BTC_5M], funding=[ohlcv_dir / BTC_FUNDING])
    )
    assert run.metrics["skipped_decisions"] == 0
    assert run.metrics["decisions"] == 143_900 - 1200  # 100 hours of warm-up
    assert books_balance(run)
    assert run.metrics["deals_completed"] > 50


def test_funding_file_and_candles_agree_on_the_grid(ohlcv_dir):
    """The shared funding file really is on the 8-hour grid the test above relies on."""
    funding = load_funding(ohlcv_dir / BTC_FUNDING)
    assert (funding.ts % EIGHT_HOURS == 0).all()
