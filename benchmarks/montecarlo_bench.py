"""Monte Carlo risk of ruin: 200 block-bootstrap paths over a year of 5-minute candles.

Target (issue 19): under 2 minutes on 2 cores. The year is the first 365 days of decisions in
the shared BTCUSDT perpetual 5-minute file (plus its 100-hour warm-up), Long at 10x with the
default parameters, cross margin, blocks of one day (288 candles), seed 0, one process per core.
Besides the wall time it reports the CPU seconds per path, which is what to compare on a shared
machine: wall ≈ paths × CPU per path / cores when the cores are free.
"""

from __future__ import annotations

import os
import resource
import sys
import time
from decimal import Decimal
from pathlib import Path

from workflows.backtest_montecarlo import MonteCarloSpec, run_monte_carlo
from workflows.backtest_run import BacktestConfig

ROOT = Path(__file__).resolve().parents[1]
REAL_FILE = ROOT.parent / "shared" / "data" / "ohlcv" / "BTCUSDT-PERP-5m-2023-01_2024-05.csv"
YEAR_END_MS = 1_704_412_800_000  # 2024-01-05 00:00 UTC: 365 days after the first decision


def run(paths: int = 200, workers: int = 2) -> dict:
    """Wall and CPU of the run, and what it found."""
    if not REAL_FILE.exists():
        return {"skipped": f"{REAL_FILE} not found"}
    config = BacktestConfig(
        symbols=["BTCUSDT"], data=[REAL_FILE], balance=Decimal(10000), end_ms=YEAR_END_MS
    )
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = run_monte_carlo(config, MonteCarloSpec(paths, 288, 0, workers))
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "paths": paths,
        "workers": workers,
        "wall_s": round(wall, 1),
        "cpu_s_per_path": round(cpu / paths, 3),
        "wall_if_cores_free_s": round(cpu / min(workers, os.cpu_count() or 1), 1),
        "liquidation_probability": result["liquidation_probability"],
        "return_pct_p5_p50_p95": [round(result["return_pct"][q], 1) for q in (5, 50, 95)],
        "max_drawdown_pct_p50_p95": [round(result["max_drawdown_pct"][q], 1) for q in (50, 95)],
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


if __name__ == "__main__":
    from benchmarks.__main__ import machine

    print(machine())
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    for name, value in run(count).items():
        print(name, value)
