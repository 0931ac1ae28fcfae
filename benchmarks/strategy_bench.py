"""Time per decide() and per indicators_from_candles(): python -m benchmarks.strategy_bench."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

from strategies import get_strategy
from strategies.indicators import (
    EMA_CANDLES,
    HOURLY_CANDLES,
    VOLATILITY_CANDLES,
    indicators_from_candles,
)
from strategies.types import (
    LONG,
    Candle,
    Indicators,
    InstrumentRules,
    Position,
    Snapshot,
    Volatility,
)

D = Decimal
NOW = datetime(2024, 1, 1, tzinfo=UTC)
RULES = InstrumentRules("BTCUSDT", D("0.001"), D("0.001"), D("100"), D("0.1"), D("5"))


def _per_call_us(func: Callable[[], object], iterations: int, repeats: int = 5) -> float:
    """Best of ``repeats`` timings, in microseconds per call (the best is the least disturbed)."""
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(iterations):
            func()
        best = min(best, time.perf_counter() - start)
    return best / iterations * 1e6


def _snapshot(position: Position | None, price: str, ema100_1h: float) -> Snapshot:
    """A BTC Long snapshot around 30,000 with a typical SLOW_DECLINE reading."""
    bid = D(price)
    return Snapshot(
        now=NOW,
        symbol="BTCUSDT",
        side=LONG,
        auto=True,
        leverage=D(10),
        bid=bid,
        ask=bid + D("0.1"),
        balance=D("1000"),
        position=position,
        indicators=Indicators(
            ema50=29_500.0,
            ema200=29_000.0,
            ema100_1h=ema100_1h,
            volatility=Volatility(decline_type="SLOW_DECLINE", decline_score=10.0),
        ),
        instrument=RULES,
        account_positions=(position,) if position else (),
    )


def _candles(count: int, start: float) -> list[Candle]:
    """Deterministic wavy candles."""
    rows = []
    for i in range(count):
        close = start + 300 * math.sin(i / 9) + 80 * math.cos(i / 3.1)
        rows.append(
            Candle(
                ts_ms=i * 300_000,
                open=D(f"{close:.1f}"),
                high=D(f"{close + 40:.1f}"),
                low=D(f"{close - 35:.1f}"),
                close=D(f"{close:.1f}"),
                volume=D(f"{100 + 30 * math.sin(i / 5):.3f}"),
            )
        )
    return rows


def run(iterations: int = 20_000) -> dict:
    """The figures, in microseconds per call."""
    strategy = get_strategy("martingale")
    waiting = _snapshot(None, "30000", ema100_1h=29_800.0)
    held = Position("BTCUSDT", LONG, D("0.02"), D("31000"), D("62"), D("-20"), D("4.1"), D("30000"))
    adding = _snapshot(held, "30000", ema100_1h=29_800.0)
    assert strategy.decide(waiting).actions == ()
    assert strategy.decide(adding).actions, "the with-position case must add"
    ema, hourly, five = (
        _candles(EMA_CANDLES, 30_000),
        _candles(HOURLY_CANDLES, 30_000),
        _candles(VOLATILITY_CANDLES, 30_000),
    )
    return {
        "decide_no_position_us": round(
            _per_call_us(lambda: strategy.decide(waiting), iterations), 2
        ),
        "decide_with_position_add_us": round(
            _per_call_us(lambda: strategy.decide(adding), iterations), 2
        ),
        "indicators_from_candles_us": round(
            _per_call_us(
                lambda: indicators_from_candles(ema, hourly, five), max(1, iterations // 20)
            ),
            1,
        ),
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
