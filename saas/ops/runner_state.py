"""The runner's state file: its last pass and running totals, read by /healthz and /metrics.

run-due is a cron job with no server of its own, so, like Prometheus's textfile collector, it
leaves its figures in a small JSON file that the web app reads. Passes may overlap; a lock file
serialises the read-modify-write.
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
from collections.abc import Mapping
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_STATE_FILE = ROOT / "instance" / "runner-state.json"
# Histogram buckets (seconds) of a bot run's wall time.
DURATION_BUCKETS = (0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
FAILED_OUTCOMES = ("error", "auth_error", "unrecorded")


def state_path(env: Mapping[str, str]) -> Path:
    """RUNNER_STATE_FILE, else instance/runner-state.json beside the default SQLite file."""
    raw = (env.get("RUNNER_STATE_FILE") or "").strip()
    return Path(raw) if raw else DEFAULT_STATE_FILE


def empty_totals() -> dict:
    """Counters before the first pass."""
    return {
        "passes": 0,
        "runs": {},
        "failures": 0,
        "timed_out": 0,
        "set_to_error": 0,
        "duration_sum": 0.0,
        "duration_count": 0,
        "duration_buckets": [0] * len(DURATION_BUCKETS),
        "cpu_sum": 0.0,
    }


def read_state(env: Mapping[str, str]) -> dict | None:
    """The state file's content, or None before the first pass (or when unreadable)."""
    try:
        return json.loads(state_path(env).read_text())
    except (OSError, ValueError):
        return None


@contextmanager
def _locked(path: Path):
    """An exclusive lock beside the state file for the read-modify-write."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path.with_name(path.name + ".lock"), os.O_CREAT | os.O_RDWR, 0o640)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def add_pass(totals: dict, summary: dict) -> dict:
    """Totals with one more pass's runs, failures and durations counted in."""
    totals = {**empty_totals(), **totals}
    totals["passes"] += 1
    runs = dict(totals["runs"])
    for outcome, count in summary.get("outcomes", {}).items():
        runs[outcome] = runs.get(outcome, 0) + count
        if outcome in FAILED_OUTCOMES:
            totals["failures"] += count
    totals["runs"] = runs
    totals["timed_out"] += summary.get("timed_out", 0)
    totals["set_to_error"] += summary.get("set_to_error", 0)
    buckets = list(totals["duration_buckets"])
    for seconds in summary.get("durations_s", []):
        totals["duration_sum"] += seconds
        totals["duration_count"] += 1
        for i, bound in enumerate(DURATION_BUCKETS):
            if seconds <= bound:
                buckets[i] += 1
    totals["duration_buckets"] = buckets
    totals["cpu_sum"] += summary.get("cpu_s", 0.0)
    return totals


def record_pass(env: Mapping[str, str], summary: dict) -> None:
    """Write the pass as the last one and add it to the totals (atomically replaced file)."""
    path = state_path(env)
    with _locked(path):
        previous = read_state(env) or {}
        state = {
            "last_pass": {k: v for k, v in summary.items() if k != "durations_s"},
            "totals": add_pass(previous.get("totals", {}), summary),
        }
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".runner-state-", suffix=".json")
        with os.fdopen(fd, "w") as handle:
            json.dump(state, handle)
        os.chmod(tmp, 0o644)  # the web app (another user) reads it
        os.replace(tmp, path)
