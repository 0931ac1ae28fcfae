"""What /healthz, /metrics and `flask health` report: database, runner, overdue bots."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

from saas.ops.runner_state import read_state

# The runner passes every minute; three missed ticks mean cron or the runner is broken.
DEFAULT_STALE_AFTER_S = 180.0
OK = "ok"
DEGRADED = "degraded"


@dataclass
class Health:
    """The answer of a health check: ok or degraded, with counts only."""

    status: str
    database: str
    runner: str
    bots_running: int | None = None
    bots_overdue: int | None = None
    runner_last_pass_age_s: int | None = None

    def as_dict(self) -> dict:
        """JSON-ready."""
        return asdict(self)


def runner_last_pass(env: Mapping[str, str]) -> datetime | None:
    """When the runner's last pass finished, from its state file."""
    state = read_state(env) or {}
    finished = (state.get("last_pass") or {}).get("finished_at")
    try:
        return datetime.fromisoformat(finished) if finished else None
    except ValueError:
        return None


def stale_after(env: Mapping[str, str]) -> float:
    """RUNNER_STALE_AFTER seconds (default 180)."""
    try:
        return float(env.get("RUNNER_STALE_AFTER") or DEFAULT_STALE_AFTER_S)
    except ValueError:
        return DEFAULT_STALE_AFTER_S


def check_health(session: Session, env: Mapping[str, str], now: datetime) -> Health:
    """Database reachable, runner passing, no bot overdue; degraded otherwise."""
    from saas.services.runs.scheduling import overdue_count, status_counts  # noqa: PLC0415

    health = Health(status=OK, database=OK, runner=OK)
    try:
        session.execute(text("SELECT 1"))
        health.bots_running = status_counts(session).get("running", 0)
        health.bots_overdue = overdue_count(session, now)
    except Exception:  # noqa: BLE001 - any database failure is "down"; details stay private
        session.rollback()
        health.database = "down"
    last = runner_last_pass(env)
    if last is not None:
        health.runner_last_pass_age_s = max(0, int((now - last).total_seconds()))
    if last is None:
        # Never passed: only a problem once there are bots to run.
        health.runner = "never" if health.bots_running else OK
    elif health.runner_last_pass_age_s > stale_after(env):
        health.runner = "stale"
    running = health.bots_running or 0
    if health.database != OK or health.bots_overdue or (health.runner != OK and running > 0):
        health.status = DEGRADED
    return health
