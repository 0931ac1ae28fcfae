"""Measuring one process: wall time and its own peak memory."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Linux carries a process's peak RSS across fork and exec, so a bot started straight from a
# (large) benchmark process would report that process's peak as its own. A small launcher starts
# it instead and reads the bot's own peak with getrusage(RUSAGE_CHILDREN).
LAUNCHER = """
import json, resource, subprocess, sys, time
start = time.perf_counter()
proc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
wall = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"wall": wall, "peak_kb": peak, "code": proc.returncode,
                  "stderr": proc.stderr.decode()[-500:]}))
"""


def run_main(env: dict, *args: str) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one `python main.py ...` process; raises on failure."""
    command = [sys.executable, "-c", LAUNCHER, sys.executable, str(ROOT / "main.py"), *args]
    out = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    figures = json.loads(out.stdout)
    if figures["code"] != 0:
        raise RuntimeError(f"main.py exited {figures['code']}: {figures['stderr']}")
    return figures["wall"], figures["peak_kb"] / 1024
