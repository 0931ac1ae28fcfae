"""Live versus backtest drift: a paper bot and the replay of its period agree; faults show up.

The live side is the TradingWorkflow run every five minutes against a PaperClient on a generated
market (a CandleMarket over 1-minute candles); the replay runs the backtester over the same
candles. Without interference they agree order for order; an injected exchange refusal and a
position closed by hand appear as divergences with those causes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D

import numpy as np
import pytest

from clients.base import OrderRequest
from clients.candle_market import CandleMarket, CandleSeries
from clients.paper import PaperClient
from clients.paper_engine import PaperEngine
from notifications.base import MemoryNotifier
from strategies import get_strategy
from workflows.backtest_drift import (
    DATA_GAP,
    FOLLOWS,
    MANUAL,
    MISSED_FILL,
    REFUSAL,
    DriftOrder,
    compare,
    live_orders,
    replay_orders,
)
from workflows.backtest_engine import BacktestPair, EngineSettings, Replay
from workflows.backtest_feed import prepare_series
from workflows.journal import FileJournal
from workflows.trading import PairSettings, TradingWorkflow

BALANCE = D(300)
FIVE = 300_000
START_MS = 1_700_006_400_000


def generated_market(minutes: int = 8000, seed: int = 3) -> CandleMarket:
    """A choppy BTC-like walk of 1-minute candles on a 0.1 tick."""
    rng = np.random.default_rng(seed)
    path = 30_000.0 * np.exp(np.cumsum(rng.normal(0.0, 0.0012, minutes + 1)))
    opens, closes = np.round(path[:-1], 1), np.round(path[1:], 1)
    wick = np.abs(rng.normal(0.0, 0.0005, (2, minutes)))
    highs = np.round(np.maximum(opens, closes) * (1 + wick[0]), 1)
    lows = np.round(np.minimum(opens, closes) * (1 - wick[1]), 1)
    ts = START_MS + np.arange(minutes, dtype=np.int64) * 60_000
    series = CandleSeries(ts, opens, highs, lows, closes, np.full(minutes, 3.0), 1)
    return CandleMarket({"BTCUSDT": series})


@pytest.fixture(scope="module")
def market() -> CandleMarket:
    """The same market for every test."""
    return generated_market()


@pytest.fixture(scope="module")
def replay(market):
    """The backtester over the market."""
    ready = prepare_series({"BTCUSDT": market.base["BTCUSDT"]}, 5)
    pair = BacktestPair("BTCUSDT", "Long", get_strategy("martingale", {}), D(10), True, "1")
    return Replay(
        ready.feeds, [pair], ready.grid, EngineSettings(balance=BALANCE, bot_key="1")
    ).run()


def run_live(market, times, folder, interfere=None):
    """The live workflow at each time; (drift orders, manual changes the bot noticed)."""
    clock = {"now": None}
    engine = PaperEngine(BALANCE)
    client = PaperClient(market, lambda: clock["now"], engine=engine)
    notifier = MemoryNotifier()
    journal = FileJournal(folder)
    workflow = TradingWorkflow(client, journal, notifier, bot_key="1")
    pair = PairSettings("1", "BTCUSDT", "Long", True, D(10), 1, get_strategy("martingale", {}))
    noticed = []
    for t_ms in times:
        clock["now"] = datetime.fromtimestamp(t_ms / 1000, tz=UTC)
        if interfere is not None:
            interfere(t_ms, client, engine)
        before = len(notifier.events)
        workflow.run([pair], clock["now"])
        if any(
            e.kind == "position_closed" and "outside" in e.fields.get("reason", "")
            for e in notifier.events[before:]
        ):
            noticed.append((t_ms, "1"))
    return live_orders(journal.orders(), FIVE), noticed


def test_a_paper_bot_and_the_replay_of_its_period_agree_exactly(market, replay, tmp_path):
    live, noticed = run_live(market, replay.grid.tolist(), tmp_path)
    bt = replay_orders(replay)
    assert len(live) > 30 and sum(o.filled for o in live) > 10
    assert {"OPEN", "ADD", "CLOSE"} <= {o.action for o in live}
    assert compare(live, bt, noticed) == []
    assert sorted(live, key=lambda o: (o.t_ms, o.n)) == sorted(bt, key=lambda o: (o.t_ms, o.n))


def first_order_time(replay, action: str) -> int:
    """When the replay first placed an order of this kind."""
    return next(o.t_ms for o in replay_orders(replay) if o.action == action)


def test_an_exchange_refusal_is_a_divergence_with_its_cause(market, replay, tmp_path):
    refused_at = first_order_time(replay, "OPEN")

    def refuse(t_ms, client, engine):
        if t_ms == refused_at:
            client.inject("reject")

    live, noticed = run_live(market, replay.grid.tolist(), tmp_path, refuse)
    found = compare(live, replay_orders(replay), noticed)
    assert found, "the refusal went unnoticed"
    first = found[0]
    assert (first.t_ms, first.cause) == (refused_at, REFUSAL)
    assert first.live.placed is False and first.replay.placed is True
    assert "simulated refusal" in first.live.note
    assert {d.cause for d in found[1:]} <= {FOLLOWS}


def test_a_position_closed_by_hand_is_a_manual_change(market, replay, tmp_path):
    times = replay.grid.tolist()
    opened = first_order_time(replay, "ADD")
    closed_at = times[times.index(opened) + 3]

    def close_by_hand(t_ms, client, engine):
        position = engine.positions.get(("BTCUSDT", "Long"))
        if t_ms == closed_at and position is not None:
            request = OrderRequest("BTCUSDT", "Sell", "Long", position.size, None, "manual-1", True)
            client.place_order(request)

    live, noticed = run_live(market, times, tmp_path, close_by_hand)
    assert noticed and noticed[0][0] >= closed_at
    found = compare(live, replay_orders(replay), noticed)
    assert found and found[0].cause == MANUAL and found[0].t_ms >= closed_at
    assert {d.cause for d in found[1:]} <= {FOLLOWS}


def order(t_ms, filled=True, placed=True, action="ADD", price=D(100)) -> DriftOrder:
    """A drift order of pair 1."""
    return DriftOrder(t_ms, "1", 1, action, D(1), price, placed, filled)


def test_a_fill_on_one_side_only_is_a_missed_fill():
    found = compare([order(0), order(FIVE, filled=False)], [order(0), order(FIVE)])
    assert [(d.t_ms, d.cause) for d in found] == [(FIVE, MISSED_FILL)]
    assert found[0].describe() == (
        "live ADD 1 @ 100 (unfilled); replay ADD 1 @ 100 (filled): missed fill"
    )


def test_missing_candles_explain_a_decision_the_replay_did_not_make():
    found = compare([order(0), order(3 * FIVE)], [order(0)], gaps=[(FIVE, 2 * FIVE)])
    assert [(d.t_ms, d.cause) for d in found] == [(3 * FIVE, DATA_GAP)]
