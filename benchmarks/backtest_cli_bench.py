"""The whole `python main.py backtest` command on the shared 5-minute file, start to exit.

Target (issue 19): under 1.0 s wall for the command on the BTCUSDT perpetual 5-minute file
(143,900 candles, a decision on every candle). Each figure is a separate process; wall and CPU
(user + system of the child) are both kept, because on a shared, loaded machine the wall time
says more about the neighbours than about the code. "cold" parses the CSV (the binary copy is
off); "warm" reads the parsed table back. Runs alternate between the variants so that load
changes hit them alike.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REAL_FILE = ROOT.parent / "shared" / "data" / "ohlcv" / "BTCUSDT-PERP-5m-2023-01_2024-05.csv"
VARIANTS = {
    "cross, warm": ("--margin-mode", "cross"),
    "isolated, warm": ("--margin-mode", "isolated"),
    "cross, cold": ("--margin-mode", "cross"),
}


def _once(args: tuple[str, ...], cold: bool) -> tuple[float, float]:
    """Wall and CPU seconds of one command."""
    env = dict(os.environ, DCABOT_CANDLE_CACHE="off" if cold else "")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "main.py", "backtest", "--symbol", "BTCUSDT", "--data", str(REAL_FILE)]
        + list(args),
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def run(repeat: int = 5) -> dict:
    """Best and median wall and CPU seconds of each variant."""
    if not REAL_FILE.exists():
        return {"skipped": f"{REAL_FILE} not found"}
    _once(VARIANTS["cross, warm"], cold=False)  # writes the binary copy
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in VARIANTS}
    for _ in range(repeat):
        for name, args in VARIANTS.items():
            samples[name].append(_once(args, cold=name.endswith("cold")))
    figures = {}
    for name, runs in samples.items():
        walls, cpus = [w for w, _ in runs], [c for _, c in runs]
        figures[name] = {
            "best_wall_s": round(min(walls), 3),
            "median_wall_s": round(statistics.median(walls), 3),
            "best_cpu_s": round(min(cpus), 3),
            "median_cpu_s": round(statistics.median(cpus), 3),
        }
    figures["load_average"] = [round(x, 2) for x in os.getloadavg()]
    return figures


if __name__ == "__main__":
    from benchmarks.__main__ import machine

    print(machine())
    for name, value in run(int(sys.argv[1]) if len(sys.argv) > 1 else 5).items():
        print(name, value)
