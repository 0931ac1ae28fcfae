"""Backtest speed: a generated year of 1-minute candles and the real 16-month 5-minute file.

Targets (DESIGN.md / issue 4): 525,600 one-minute candles with decisions every 5 minutes in under
2 s, indicators included; the BTCUSDT perpetual 5-minute file (143,900 candles) in under 1 s.
Each figure is the best of ``repeat`` runs (the machine is shared); CPU seconds beside wall.
"""

from __future__ import annotations

import cProfile
import io
import pstats
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import numpy as np

from clients.candle_market import CandleMarket, CandleSeries
from strategies import get_strategy
from workflows.backtest_data import load_candles
from workflows.backtest_engine import BacktestPair, EngineSettings, Replay
from workflows.backtest_feed import build_feed, decision_grid, plan_intervals

YEAR_MINUTES = 525_600
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "ohlcv"
REAL_FILE = SHARED_DATA / "BTCUSDT-PERP-5m-2023-01_2024-05.csv"
START_MS = 1_672_531_200_000  # 2023-01-01 00:00 UTC


def generated_year(minutes: int = YEAR_MINUTES, seed: int = 7) -> CandleSeries:
    """A BTC-like random walk of 1-minute candles (about 60 % annual volatility), on a 0.1 tick."""
    rng = np.random.default_rng(seed)
    steps = rng.normal(0.0, 0.0008, minutes + 1)
    path = 30_000.0 * np.exp(np.cumsum(steps))
    opens, closes = np.round(path[:-1], 1), np.round(path[1:], 1)
    wick = np.abs(rng.normal(0.0, 0.0004, (2, minutes)))
    highs = np.round(np.maximum(opens, closes) * (1 + wick[0]), 1)
    lows = np.round(np.minimum(opens, closes) * (1 - wick[1]), 1)
    volume = np.round(rng.gamma(2.0, 40.0, minutes), 3)
    ts = START_MS + np.arange(minutes, dtype=np.int64) * 60_000
    return CandleSeries(ts, opens, highs, lows, closes, volume, 1)


def replay_once(series: CandleSeries, every: int = 5) -> dict:
    """Feed preparation and replay of one Long pair on default parameters; times and counts."""
    started, cpu = time.perf_counter(), time.process_time()
    market = CandleMarket({"BTCUSDT": series})
    plan = plan_intervals(series.interval_minutes, None, every)
    grid = decision_grid(int(series.ts[0]), int(series.ts[-1]), every)
    feed = build_feed(market, "BTCUSDT", grid, plan)
    prepared, prepared_cpu = time.perf_counter(), time.process_time()
    pair = BacktestPair("BTCUSDT", "Long", get_strategy("martingale", {}), Decimal(10))
    result = Replay({"BTCUSDT": feed}, [pair], grid, EngineSettings(balance=Decimal(1000))).run()
    done, done_cpu = time.perf_counter(), time.process_time()
    return {
        "candles": len(series),
        "decisions": len(result.decisions),
        "fills": len(result.engine.fills),
        "prepare_s": prepared - started,
        "replay_s": done - prepared,
        "total_s": done - started,
        "total_cpu_s": done_cpu - cpu,
        "prepare_cpu_s": prepared_cpu - cpu,
    }


def best_of(repeat: int, action: Callable[[], dict]) -> dict:
    """The run with the lowest wall time."""
    return min((action() for _ in range(repeat)), key=lambda r: r["total_s"])


def _rounded(figures: dict) -> dict:
    """Seconds to 3 decimals, rates to whole numbers."""
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in figures.items()}


def run(repeat: int = 3, real_file: Path = REAL_FILE) -> dict:
    """Candles per second on a generated year of minutes and on the real 5-minute file."""
    year = generated_year()
    generated = best_of(repeat, lambda: replay_once(year))
    generated["candles_per_s"] = round(generated["candles"] / generated["total_s"])
    figures = {"generated_year_1m": _rounded(generated)}
    if real_file.exists():

        def real() -> dict:
            started = time.perf_counter()
            loaded = load_candles(real_file)
            load_s = time.perf_counter() - started
            figures = replay_once(loaded.series)
            figures["load_s"] = load_s
            figures["total_with_load_s"] = figures["total_s"] + load_s
            return figures

        measured = best_of(repeat, real)
        measured["candles_per_s"] = round(measured["candles"] / measured["total_with_load_s"])
        figures["real_5m_btcusdt_perp"] = _rounded(measured)
    else:
        figures["real_5m_btcusdt_perp"] = f"skipped: {real_file} not found"
    return figures


def profile(top: int = 25) -> str:
    """cProfile of the generated year's replay, by internal time."""
    year = generated_year()
    profiler = cProfile.Profile()
    profiler.enable()
    replay_once(year)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    return out.getvalue()


if __name__ == "__main__":
    if "--profile" in sys.argv:
        print(profile())
    else:
        from benchmarks.__main__ import machine

        print(machine())
        for name, value in run().items():
            print(name, value)
