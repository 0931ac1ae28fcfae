"""A whole standalone run (`python main.py`, paper exchange) in its own process: wall, memory."""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def one_run(env: dict) -> tuple[float, int]:
    """Wall seconds and the exit status of one process."""
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, str(ROOT / "main.py")], env=env, capture_output=True, check=False
    )
    return time.perf_counter() - start, proc.returncode


def run(runs: int = 10) -> dict:
    """Median and worst wall time, and peak RSS of the child processes."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            "PATH": os.environ["PATH"],
            "EXCHANGE": "paper",
            "DATA_DIR": tmp,
            "SYMBOL": "BTCUSDT:Long:True,ETHUSDT:Short:True",
            "EMA_INTERVAL": "1",
        }
        walls = []
        for _ in range(runs):
            wall, code = one_run(env)
            if code != 0:
                raise RuntimeError(f"main.py exited {code}")
            walls.append(wall)
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {
        "pairs_per_run": 2,
        "runs": runs,
        "wall_median_s": round(statistics.median(walls), 3),
        "wall_max_s": round(max(walls), 3),
        "peak_rss_mb": round(peak_kb / 1024, 1),
    }


if __name__ == "__main__":
    print(run())
