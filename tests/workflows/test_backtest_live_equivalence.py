"""The backtester and live trading make the same decisions on the same candles.

Live: the TradingWorkflow runs every five minutes against a PaperClient whose prices come from a
CandleMarket over real candles. Backtest: the replay over the same candles. Both start with the
same balance; every order (time, action, size, price, outcome) and every conclusion must match.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal as D

import pytest

from clients.candle_market import CandleMarket
from clients.paper import PaperClient
from clients.paper_engine import PaperEngine
from notifications.base import MemoryNotifier
from strategies import get_strategy
from workflows.backtest_data import load_candles
from workflows.backtest_engine import BacktestPair, EngineSettings, Replay
from workflows.backtest_feed import prepare_series
from workflows.journal import FileJournal
from workflows.trading import PairSettings, TradingWorkflow

BALANCE = D(300)  # small, so the default ladder reaches its profit tiers within a day
ROWS = 8000  # 100 hours of warm-up and about 32 hours of decisions on 1-minute candles
CASES = [
    ("BTCUSDT-SPOT-1m-2024-07_2024-08.csv", 3000, "Long"),
    ("BTCUSDT-PERP-1m-2025-05_2025-06.csv", 15000, "Short"),
]


def backtest(market: CandleMarket, symbol: str, side: str):
    """The replay's orders and conclusions, and its decision times."""
    ready = prepare_series({symbol: market.base[symbol]}, 5)
    pair = BacktestPair(symbol, side, get_strategy("martingale", {}), D(10), True, "1")
    result = Replay(ready.feeds, [pair], ready.grid, EngineSettings(balance=BALANCE, bot_key="1"))
    result = result.run()
    orders = [
        (o.t_ms, o.action.kind.value, o.action.qty, o.action.price, o.status) for o in result.orders
    ]
    conclusions = [(t, decision.conclusion) for t, _, decision in result.decisions]
    return result, orders, conclusions


def live(market: CandleMarket, symbol: str, side: str, times: list[int], folder):
    """The live workflow run at each time; its orders and conclusions, and its engine."""
    clock = {"now": None}
    engine = PaperEngine(BALANCE)
    client = PaperClient(market, lambda: clock["now"], engine=engine)
    journal = FileJournal(folder)
    workflow = TradingWorkflow(client, journal, MemoryNotifier(), bot_key="1")
    pair = PairSettings("1", symbol, side, True, D(10), 1, get_strategy("martingale", {}))
    conclusions = []
    for t_ms in times:
        clock["now"] = datetime.fromtimestamp(t_ms / 1000, tz=UTC)
        result = workflow.run([pair], clock["now"])
        assert result.outcome == "ok", result
        conclusions.append((t_ms, result.pairs[0].conclusion))
    records = sorted(journal.orders(), key=lambda o: (o.created_at, o.client_order_id))
    orders = [
        (
            int(o.created_at.timestamp() * 1000),
            o.action,
            o.qty,
            o.price,
            "rejected" if o.status == "rejected" else "placed",
        )
        for o in records
    ]
    logged = [json.loads(line) for line in (folder / "log.jsonl").read_text().splitlines()]
    assert [e["message"] for e in logged if e["level"] == "info"] == [c for _, c in conclusions]
    return engine, orders, conclusions


@pytest.mark.parametrize("filename, skip, side", CASES)
def test_live_runs_and_the_backtest_place_the_same_orders_at_the_same_times(
    ohlcv_dir, tmp_path, filename, skip, side
):
    """Hundreds of decisions through open, add, reduce and close: identical, fill for fill."""
    series = load_candles(ohlcv_dir / filename).series.slice(skip, skip + ROWS)
    market = CandleMarket({"BTCUSDT": series})
    result, bt_orders, bt_conclusions = backtest(market, "BTCUSDT", side)
    times = result.grid.tolist()
    engine, live_orders, live_conclusions = live(market, "BTCUSDT", side, times, tmp_path)

    assert len(times) > 300
    assert {"OPEN", "ADD", "REDUCE", "CLOSE"} <= {kind for _, kind, *_ in bt_orders}
    assert live_conclusions == bt_conclusions
    assert live_orders == bt_orders

    # The replay goes on to the end of the data; live stopped at its last run.
    def booked(fills):
        return [
            (f.ts_ms, f.kind, f.qty, f.price, f.fee, f.realised_pnl)
            for f in fills
            if f.ts_ms < times[-1]
        ]

    assert booked(engine.fills) == booked(result.engine.fills)
    assert Counter(f.kind for f in engine.fills) >= Counter({"OPEN": 1, "CLOSE": 1})
