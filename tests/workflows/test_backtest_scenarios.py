"""Hand-checked replays: fills, fees and PnL of a scripted ladder, a liquidation, funding, gaps.

The strategy here is a script (actions at chosen decision times), so every number can be worked
out by hand; the other backtest tests import these builders.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal as D

import numpy as np
import pytest

from clients.base import margin_level, unrealised_pnl
from clients.candle_market import CandleSeries
from clients.paper_engine import liquidation_price
from strategies.base import Strategy
from strategies.types import (
    LONG,
    SHORT,
    Action,
    ActionKind,
    Decision,
    InstrumentRules,
    Snapshot,
    entry_side,
    exit_side,
)
from workflows.backtest_data import FundingSeries
from workflows.backtest_engine import BacktestPair, EngineSettings
from workflows.backtest_feed import prepare_series
from workflows.backtest_metrics import compute_metrics, deals, equity_curve
from workflows.backtest_run import replay_candles

SYMBOL = "TESTUSDT"
RULES = InstrumentRules(
    SYMBOL, D("0.01"), D("0.01"), D("1000"), D("0.01"), D("0"), D("100"), D("0.005")
)
MINUTE = 60_000
FIVE = 5 * MINUTE
START = 1_700_006_400_000  # 2023-11-15 00:00 UTC, on the 5-minute, hour and 8-hour grids
WARMUP = 1200  # 100 hours of 5-minute candles: the 1h EMA100 needs 100 closed hours
FIRST_DECISION = START + WARMUP * FIVE


def candles(rows, start: int = START, minutes: int = 5, volume: float = 10.0) -> CandleSeries:
    """A series from (open, high, low, close) rows, one every ``minutes`` from ``start``."""
    table = np.asarray(rows, dtype=float).reshape(-1, 4)
    ts = start + np.arange(len(table), dtype=np.int64) * minutes * MINUTE
    return CandleSeries(
        ts,
        *(np.ascontiguousarray(table[:, i]) for i in range(4)),
        np.full(len(table), volume),
        minutes,
    )


def flat(count: int, price: float = 100.0, wick: float = 0.05) -> list[tuple]:
    """Candles that open and close at ``price`` with a small wick either side."""
    return [(price, price + wick, price - wick, price)] * count


def move(path: list[float], wick: float = 0.05) -> list[tuple]:
    """Candles walking from each close to the next (the first opens at the first value)."""
    return [
        (a, max(a, b) + wick, min(a, b) - wick, b) for a, b in zip(path[:-1], path[1:], strict=True)
    ]


def dec(value) -> D:
    """A candle value (numpy or Python float) as the decimal the CSV would hold."""
    return D(repr(float(value)))


def decision_time(i: int) -> int:
    """The i-th decision after the warm-up: it sees the candles closed by then."""
    return FIRST_DECISION + i * FIVE


class ScriptedStrategy(Strategy):
    """Places the actions scripted for a decision time and remembers every snapshot it saw."""

    name = "scripted"

    def __init__(self, script: dict[int, Callable[[Snapshot], list[Action]]] | None = None):
        super().__init__({})
        self.script = script or {}
        self.seen: list[Snapshot] = []

    def decide(self, snapshot: Snapshot) -> Decision:
        """The scripted actions for ``snapshot.now`` (none at other times)."""
        self.seen.append(snapshot)
        make = self.script.get(int(snapshot.now.timestamp() * 1000))
        return Decision(actions=tuple(make(snapshot)) if make else (), conclusion="scripted")


def entry(kind: ActionKind, qty: str, passive: bool = True) -> Callable[[Snapshot], list[Action]]:
    """OPEN/ADD at the bid (Long) or ask (Short) as PostOnly, or at market."""

    def make(snap: Snapshot) -> list[Action]:
        price = (snap.bid if snap.side == LONG else snap.ask) if passive else None
        return [
            Action(kind, snap.side, entry_side(snap.side), D(qty), price, False, passive, "script")
        ]

    return make


def leave(kind: ActionKind, qty: str, passive: bool = True) -> Callable[[Snapshot], list[Action]]:
    """REDUCE/CLOSE reduce-only at the ask (Long) or bid (Short), or at market."""

    def make(snap: Snapshot) -> list[Action]:
        price = (snap.ask if snap.side == LONG else snap.bid) if passive else None
        return [Action(kind, snap.side, exit_side(snap.side), D(qty), price, True, False, "script")]

    return make


def run_script(
    rows, side, script, balance="1000", funding=None, start=START, minutes=5, mode="cross"
):
    """Replay scripted decisions on candles; (result, strategy)."""
    strategy = ScriptedStrategy(script)
    pair = BacktestPair(SYMBOL, side, strategy, D(10))
    settings = EngineSettings(balance=D(balance), interval_minutes=5, margin_mode=mode)
    result = replay_candles(
        {SYMBOL: candles(rows, start, minutes)},
        [pair],
        settings,
        funding=funding,
        instruments={SYMBOL: RULES},
    )
    return result, strategy


def fills(result) -> list[tuple]:
    """(kind, ts, qty, price, fee, realised) of every fill."""
    return [(f.kind, f.ts_ms, f.qty, f.price, f.fee, f.realised_pnl) for f in result.engine.fills]


def test_a_long_opens_adds_reduces_and_closes_with_hand_computed_fees_and_pnl():
    """PostOnly entries at the bid fill on the next candle that trades below them, exits at the
    ask on one that trades above; maker fees on each notional, PnL against the average entry."""
    path = [100, 95, 98, 99, 99, 99]
    rows = flat(WARMUP) + move(path)
    script = {
        decision_time(0): entry(ActionKind.OPEN, "1"),
        decision_time(1): entry(ActionKind.ADD, "1"),
        decision_time(2): leave(ActionKind.REDUCE, "0.5"),
        decision_time(3): leave(ActionKind.CLOSE, "1.5"),
    }
    result, strategy = run_script(rows, LONG, script)

    t = decision_time
    assert fills(result) == [
        ("OPEN", t(0), D("1"), D("100.00"), D("0.02"), D(0)),
        ("ADD", t(1), D("1"), D("95.00"), D("0.019"), D(0)),
        ("REDUCE", t(2), D("0.5"), D("98.01"), D("0.009801"), D("0.255")),
        ("CLOSE", t(3), D("1.5"), D("99.01"), D("0.029703"), D("2.265")),
    ]
    assert result.engine.wallet == D("1002.441496")
    assert result.engine.positions == {}
    # What decide() saw: the close of the candle that had just closed, and the engine's book.
    seen = {int(s.now.timestamp() * 1000): s for s in strategy.seen}
    assert (seen[t(1)].bid, seen[t(1)].ask) == (D("95.00"), D("95.01"))
    assert seen[t(1)].position.size == 1 and seen[t(1)].balance == D("999.98")
    before_reduce = seen[t(2)].position
    assert (before_reduce.size, before_reduce.entry_price, before_reduce.margin) == (
        D(2),
        D("97.5"),
        D("19.5"),
    )
    assert before_reduce.mark_price == D("98.005")  # the touch mid, as the paper exchange marks
    assert seen[t(3)].position.margin == D("14.625")


def test_a_short_opens_adds_reduces_and_closes_at_market_with_the_taker_fee():
    """Short entries rest at the ask and fill when a candle trades above; the final market close
    buys at the ask plus slippage and pays the taker fee at once."""
    path = [100, 105, 102, 101, 101, 101]
    rows = flat(WARMUP) + move(path)
    script = {
        decision_time(0): entry(ActionKind.OPEN, "1"),
        decision_time(1): entry(ActionKind.ADD, "1"),
        decision_time(2): leave(ActionKind.REDUCE, "0.5"),
        decision_time(3): leave(ActionKind.CLOSE, "1.5", passive=False),
    }
    result, _ = run_script(rows, SHORT, script)

    close_price = D("101.01") * D("1.0005")
    close_pnl = (D("102.51") - close_price) * D("1.5")
    close_fee = D("1.5") * close_price * D("0.00055")
    t = decision_time
    assert fills(result) == [
        ("OPEN", t(0), D("1"), D("100.01"), D("0.020002"), D(0)),
        ("ADD", t(1), D("1"), D("105.01"), D("0.021002"), D(0)),
        ("REDUCE", t(2), D("0.5"), D("102.00"), D("0.0102"), D("0.255")),
        ("CLOSE", t(3), D("1.5"), close_price, close_fee, close_pnl),
    ]
    assert close_price == D("101.060505")
    maker = [f for f in result.engine.fills if f.maker]
    assert len(maker) == 3 and not result.engine.fills[-1].maker
    expected = (
        D(1000) - D("0.020002") - D("0.021002") + D("0.255") - D("0.0102") + close_pnl - close_fee
    )
    assert result.engine.wallet == expected


def test_the_deal_and_equity_metrics_of_a_scripted_ladder_add_up():
    """One completed, winning deal whose PnL is the wallet's change; equity ends at the wallet."""
    rows = flat(WARMUP) + move([100, 95, 98, 99, 99, 99])
    script = {
        decision_time(0): entry(ActionKind.OPEN, "1"),
        decision_time(1): entry(ActionKind.ADD, "1"),
        decision_time(3): leave(ActionKind.CLOSE, "2"),
    }
    result, _ = run_script(rows, LONG, script)
    deal_list = deals(result)
    curve = equity_curve(result)
    metrics = compute_metrics(result, curve, deal_list)

    assert len(deal_list) == 1 and deal_list[0].outcome == "closed"
    assert deal_list[0].pnl == result.engine.wallet - D(1000)
    assert deal_list[0].duration_ms(result.end_ms) == 3 * FIVE
    assert metrics["deals_completed"] == 1 and metrics["win_rate_pct"] == 100.0
    assert (metrics["opens"], metrics["adds"], metrics["closes"]) == (1, 1, 1)
    assert curve.equity[-1] == pytest.approx(float(result.engine.wallet))
    # Marked at the 95 close while holding 1 from 100: the low point of the curve.
    assert curve.equity.min() == pytest.approx(1000 - 0.02 - 5, abs=1e-9)


def crash_path() -> list[float]:
    """100 down to 85 in steps of 0.5 per five minutes."""
    return [100 - 0.5 * i for i in range(31)]


@pytest.mark.parametrize("side", [LONG, SHORT])
def test_a_crash_liquidates_on_the_first_candle_whose_range_reaches_margin_level_one(side):
    """Isolated: the liquidation comes on the candle whose extreme crosses the price where the
    margin level is exactly 1, not a candle earlier; the whole margin is lost."""
    path = crash_path() if side == LONG else [2 * 100 - p for p in crash_path()]
    rows = flat(WARMUP) + move(path)
    result, _ = run_script(
        rows, side, {decision_time(0): entry(ActionKind.OPEN, "1")}, mode="isolated"
    )

    opened, liquidated = result.engine.fills
    assert opened.kind == "OPEN" and liquidated.kind == "LIQUIDATION"
    entry_price, margin, size = opened.price, opened.price / 10, opened.qty
    level = liquidation_price(side, size, entry_price, margin, RULES.maint_margin_rate)
    assert liquidated.price == level
    at_level = unrealised_pnl(side, size, entry_price, level)
    assert margin_level(margin, at_level, size, level, RULES.maint_margin_rate) == D("1.00")

    series = result.feeds[SYMBOL].series
    hit = int(np.searchsorted(series.ts, liquidated.ts_ms))
    worst = series.low if side == LONG else series.high
    reached = (lambda x: x <= level) if side == LONG else (lambda x: x >= level)
    assert reached(dec(worst[hit])) and not reached(dec(worst[hit - 1]))
    before = unrealised_pnl(side, size, entry_price, dec(worst[hit - 1]))
    assert margin_level(margin, before, size, dec(worst[hit - 1]), D("0.005")) > 1
    assert result.engine.wallet == D(1000) - opened.fee - margin
    assert result.engine.liquidations == 1 and result.engine.positions == {}


@pytest.mark.parametrize("with_funding", [False, True])
@pytest.mark.parametrize("side", [LONG, SHORT])
def test_cross_margin_liquidates_where_the_wallet_no_longer_covers_maintenance(side, with_funding):
    """Cross, 20 USDT behind one unit at 10x: the level is where 20 − fee − funding + uPnL equals
    size × price × 0.5 %, far beyond the isolated level (which the crash passes unharmed)."""
    down = [100 - 0.5 * i for i in range(61)]  # 100 to 70
    path = down if side == LONG else [200 - p for p in down]
    rows = flat(WARMUP) + move(path)
    funding = None
    if with_funding:
        times = np.array([decision_time(6)], dtype=np.int64)
        funding = {SYMBOL: FundingSeries(None, times, (D("0.01"),))}
    script = {decision_time(0): entry(ActionKind.OPEN, "1")}
    result, _ = run_script(rows, side, script, balance="20", funding=funding)

    opened, liquidated = result.engine.fills
    assert liquidated.kind == "LIQUIDATION"
    paid = sum(e[3] for e in result.funding_events if e[0] <= liquidated.ts_ms)
    assert (paid != 0) == with_funding
    wallet = D(20) - opened.fee - paid
    if side == LONG:
        level = (opened.price - wallet) / D("0.995")
    else:
        level = (wallet + opened.price) / D("1.005")
    assert liquidated.price == level
    isolated = liquidation_price(side, D(1), opened.price, opened.price / 10, D("0.005"))
    assert abs(level - 100) > abs(isolated - 100) + 5
    series = result.feeds[SYMBOL].series
    hit = int(np.searchsorted(series.ts, liquidated.ts_ms))
    worst = series.low if side == LONG else series.high
    reached = (lambda x: x <= level) if side == LONG else (lambda x: x >= level)
    assert reached(dec(worst[hit])) and not reached(dec(worst[hit - 1]))
    assert liquidated.fee == level * D("0.00055")
    expected = wallet - abs(level - opened.price) - liquidated.fee
    assert result.engine.wallet == pytest.approx(expected, abs=D("1e-20"))


@pytest.mark.parametrize("side, sign", [(LONG, 1), (SHORT, -1)])
def test_funding_is_charged_at_its_timestamps_longs_paying_positive_rates(side, sign):
    """At each funding time the open side pays size x mark x rate (a Short receives it), the mark
    being the close of the candle that ended then; events while flat cost nothing."""
    hours = 3600 * 1000
    path = [100 + 0.01 * i for i in range(12 * 30)]  # 30 hours, a different close every candle
    rows = flat(WARMUP) + move(path)
    first = decision_time(0)  # 2023-11-19 04:00 UTC
    times = [first - 4 * hours, first + 4 * hours, first + 12 * hours, first + 20 * hours]
    rates = (D("0.0005"), D("0.0001"), D("-0.0002"), D("0.0003"))
    funding = {SYMBOL: FundingSeries(None, np.array(times, dtype=np.int64), rates)}
    script = {first: entry(ActionKind.OPEN, "2", passive=False)}
    result, _ = run_script(rows, side, script, funding=funding)

    series = result.feeds[SYMBOL].series
    charged = []
    for ts, rate in zip(times[1:], rates[1:], strict=True):
        mark = dec(series.close[np.searchsorted(series.ts, ts - FIVE)])
        charged.append((ts, SYMBOL, side, sign * D(2) * mark * rate))
    assert result.funding_events == charged  # the event before the open charged nothing
    paid = sum(event[3] for event in charged)
    assert result.engine.funding_paid == paid
    assert result.engine.wallet == D(1000) - result.engine.fills[0].fee - paid
    assert deals(result)[0].funding == paid


def test_no_decision_is_made_until_full_windows_exist_again_after_a_gap():
    """A 30-minute hole leaves the 10:00 hour incomplete: decisions stop at the gap and resume
    only once 100 complete hours have closed after it."""
    rows = flat(WARMUP + 12 * 130)
    series = candles(rows)
    gap_from = FIRST_DECISION + 10 * 60 * MINUTE + 10 * MINUTE  # 10:10 on the decision day
    keep = (series.ts < gap_from) | (series.ts >= gap_from + 30 * MINUTE)
    holed = CandleSeries(
        *(
            a[keep]
            for a in (series.ts, series.open, series.high, series.low, series.close, series.volume)
        ),
        5,
    )
    ready = prepare_series({SYMBOL: holed}, 5, instruments={SYMBOL: RULES})
    valid_times = ready.grid[ready.feeds[SYMBOL].valid]
    hour = 60 * MINUTE
    resume = gap_from - 10 * MINUTE + hour + 100 * hour  # 11:00 + 100 hours
    assert valid_times[0] == FIRST_DECISION
    assert not ((valid_times > gap_from) & (valid_times < resume)).any()
    assert resume in valid_times and gap_from in valid_times  # the 10:10 run saw no gap yet


def test_orders_left_by_a_decision_are_cancelled_at_the_next_one():
    """A PostOnly entry far below the market never fills and is gone at the next decision,
    so the order book never holds more than one run's orders."""
    rows = flat(WARMUP + 20)

    def deep_bid(snap):
        return [Action(ActionKind.OPEN, LONG, "Buy", D(1), snap.bid - 5, False, True, "deep")]

    result, strategy = run_script(rows, LONG, {decision_time(0): deep_bid})
    assert result.engine.fills == []
    order = result.engine.orders[result.orders[0].client_order_id]
    assert order.status == "cancelled"
    assert result.orders[0].client_order_id.startswith("bbt-p1-")
    assert all(s.balance == D(1000) for s in strategy.seen)
