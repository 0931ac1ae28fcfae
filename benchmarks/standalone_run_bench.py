"""A whole standalone run (`python main.py`, paper exchange) in its own process: wall, memory."""

from __future__ import annotations

import os
import statistics
import tempfile

from benchmarks.measure import run_main


def run(runs: int = 10) -> dict:
    """Median and worst wall time, and the worst peak RSS of one run's own process."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            "PATH": os.environ["PATH"],
            "EXCHANGE": "paper",
            "DATA_DIR": tmp,
            "SYMBOL": "BTCUSDT:Long:True,ETHUSDT:Short:True",
            "EMA_INTERVAL": "1",
        }
        figures = [run_main(env) for _ in range(runs)]
    walls = [wall for wall, _ in figures]
    return {
        "pairs_per_run": 2,
        "runs": runs,
        "wall_median_s": round(statistics.median(walls), 3),
        "wall_max_s": round(max(walls), 3),
        "peak_rss_mb": round(max(peak for _, peak in figures), 1),
    }


if __name__ == "__main__":
    print(run())
