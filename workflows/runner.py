"""`python main.py run-due`: run every due bot once, each in its own process, then record it.

One crontab line starts this every minute. A pass claims the running bots whose slot falls
before the next tick (``--horizon``), starts each at its slot, at most ``--concurrency`` at
once, stops any run past its time limit (SIGTERM, then SIGKILL), and records each outcome. The
exit status is 0 when the pass did its job, even if bots failed: their failures are in bot_runs.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import math
import os
import signal
import sys
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

from workflows.runner_pool import KILL_GRACE_S, Finished, Job, ProcessPool

logger = logging.getLogger("dcabot.runner")

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2
DEFAULT_TIME_LIMIT_S = 240.0
DEFAULT_HORIZON_S = 55.0
# A run must end before its next slot: at most this share of the bot's interval.
TIME_LIMIT_SHARE = 0.8
SPAWN_MODES = ("exec", "fork")
# What one bot run imports; fork mode imports it once in the runner.
PRELOAD = (
    "main",
    "config_loader",
    "saas.services.bots.config",
    "saas.services.runs.journal",
    "saas.services.bots.paper",
    "saas.services.bots.lifecycle",
    "saas.services.runs.locks",
    "clients.factory",
    "clients.bybit",
    "clients.phemex",
    "workflows.trading",
    "strategies",
    "strategies.martingale",
    "notifications",
    "notifications.telegram",
    "pythonjsonlogger.json",
)


class RunnerConfigError(ValueError):
    """A runner setting that cannot work; one line for the operator."""


class Interrupted(Exception):  # noqa: N818 - reads as what happened
    """run-due itself was told to stop (SIGTERM): its bot processes are stopped too."""


def _stop_on_signal(signum, _frame) -> None:
    raise Interrupted(f"stopped by signal {signum}")


def _number(env: Mapping[str, str], name: str, default: float, minimum: float = 0) -> float:
    """A numeric setting, blank meaning the default."""
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise RunnerConfigError(f"{name} must be a number, got {raw!r}") from None
    if not math.isfinite(value):
        # nan slips past every comparison: no time limit and a wait loop that spins a core.
        raise RunnerConfigError(f"{name} must be a finite number, got {raw!r}")
    if value < minimum:
        raise RunnerConfigError(f"{name} must be at least {minimum:g}, got {raw}")
    return value


def finite(raw: str) -> float:
    """An argparse type: a finite number (nan and inf are refused)."""
    try:
        value = float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {raw!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be a finite number of at least 0, got {raw!r}")
    return value


class OneLineParser(argparse.ArgumentParser):
    """argparse whose mistakes are one line (RunnerConfigError), not a usage block and an error."""

    def error(self, message: str):
        """Raise instead of printing usage and exiting."""
        raise RunnerConfigError(f"{self.prog}: {message}")


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Command-line options; each defaults to its RUNNER_* setting."""
    parser = OneLineParser(prog="python main.py run-due", description=__doc__)
    parser.add_argument("--env-file", help="read settings from this file first (the crontab's)")
    parser.add_argument("--concurrency", type=int, help="bot processes at once (2 x cores)")
    parser.add_argument("--time-limit", type=finite, help="seconds before a run is stopped")
    parser.add_argument("--horizon", type=finite, help="claim bots due within this many seconds")
    parser.add_argument("--limit", type=int, help="claim at most this many bots")
    parser.add_argument(
        "--child-logs", choices=("discard", "inherit"), help="bot processes' stdout"
    )
    parser.add_argument(
        "--spawn",
        choices=SPAWN_MODES,
        help="exec: a fresh `python main.py` per bot; fork: a fork of this pre-imported runner",
    )
    return parser.parse_args(argv)


def settings(args: argparse.Namespace, env: Mapping[str, str]) -> dict:
    """The pass's settings from options, then the environment, then defaults."""
    cores = os.cpu_count() or 1
    concurrency = args.concurrency or int(_number(env, "RUNNER_CONCURRENCY", 2 * cores, 1))
    return {
        "concurrency": max(1, concurrency),
        "time_limit": args.time_limit or _number(env, "RUNNER_TIME_LIMIT", DEFAULT_TIME_LIMIT_S, 1),
        "kill_grace": _number(env, "RUNNER_KILL_GRACE", KILL_GRACE_S, 0),
        "horizon": args.horizon
        if args.horizon is not None
        else _number(env, "RUNNER_HORIZON", DEFAULT_HORIZON_S),
        "max_failures": int(_number(env, "RUNNER_MAX_CONSECUTIVE_FAILURES", 5)),
        "extra_env": [
            n.strip() for n in (env.get("RUNNER_CHILD_ENV") or "").split(",") if n.strip()
        ],
        "child_logs": args.child_logs or env.get("RUNNER_CHILD_LOGS") or "discard",
        "limit": args.limit,
        "spawn": _spawn_mode(args.spawn or env.get("RUNNER_SPAWN") or "fork"),
    }


def _spawn_mode(value: str) -> str:
    """exec or fork."""
    value = value.strip().lower()
    if value not in SPAWN_MODES:
        raise RunnerConfigError(f"RUNNER_SPAWN must be exec or fork, got {value!r}")
    return value


def preload() -> None:
    """Import what a bot run needs once, so forked runs start with it (fork mode)."""
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError:  # an optional piece missing only costs its import in the child
            logger.warning("could not preload a module", extra={"module": name})


def run_bot_in_fork() -> int:
    """A forked child's run: exactly what `BOT_ID=n python main.py` does."""
    import main as entry  # noqa: PLC0415

    return entry.main([])


def time_limit_for(claim, limit: float) -> float:
    """The run's limit: the setting, but always inside the bot's own interval."""
    return min(limit, claim.interval.total_seconds() * TIME_LIMIT_SHARE)


def last_line(text: str) -> str:
    """The last non-blank line of a process's stderr (its one readable error line)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:500] if lines else ""


class Runner:
    """One pass: claim, run, record; keeps the pass's counts for the state file and the log."""

    def __init__(self, env: Mapping[str, str], config: dict, clock=None):
        from saas.db import database_url, make_engine, make_session_factory  # noqa: PLC0415

        self.env = dict(env)
        self.config = config
        self.clock = clock or (lambda: datetime.now(UTC))
        self.engine = make_engine(database_url(self.env))
        self.sessions = make_session_factory(self.engine)
        # A forked bot must never touch the runner's pooled connections (SQLAlchemy's advice).
        os.register_at_fork(after_in_child=lambda: self.engine.dispose(close=False))
        self.claims: dict[int, object] = {}
        self.outcomes: dict[str, int] = {}
        self.durations: list[float] = []
        self.errored: list[int] = []

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    def claim(self) -> list:
        """Claim the due bots (atomically; see saas.services.runs.scheduling)."""
        from saas.services.runs.scheduling import claim_due_bots  # noqa: PLC0415

        with self.sessions() as session:
            claims = claim_due_bots(
                session,
                self.clock(),
                horizon=timedelta(seconds=self.config["horizon"]),
                limit=self.config["limit"],
            )
        self.claims = {c.bot_id: c for c in claims}
        return claims

    def jobs(self, claims: list, now: datetime) -> list[Job]:
        """Each claim as a job that starts at its slot (at once when late)."""
        mono = time.monotonic()
        return [
            Job(
                c.bot_id,
                start_at=mono + max(0.0, (c.due_at - now).total_seconds()),
                time_limit=time_limit_for(c, self.config["time_limit"]),
            )
            for c in claims
        ]

    def record(self, finished: Finished) -> None:
        """Store one bot's outcome as soon as its process ends; apply the failure policy."""
        from saas.services.runs.scheduling import RunReport, apply_failure_policy, record_run  # noqa: PLC0415

        claim = self.claims.get(finished.job.bot_id)
        report = RunReport(
            bot_id=finished.job.bot_id,
            started_at=finished.started_at,
            finished_at=finished.finished_at,
            returncode=finished.returncode,
            timed_out=finished.timed_out,
            error=last_line(finished.stderr),
            next_run_at=claim.next_run_at if claim else None,
        )
        try:
            with self.sessions() as session:
                outcome = record_run(session, report, self.clock())
                reason = apply_failure_policy(
                    session, report.bot_id, self.clock(), self.config["max_failures"]
                )
        except Exception:  # noqa: BLE001 - one bot's bookkeeping must not end the pass
            logger.exception("could not record a run", extra={"bot": report.bot_id})
            outcome, reason = "unrecorded", None
        if reason:
            self.errored.append(report.bot_id)
            self.notify_owner(report.bot_id, reason)
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1
        self.durations.append(report.duration_ms / 1000)
        level = logging.INFO if outcome in ("ok", "locked") else logging.WARNING
        logger.log(
            level,
            "bot run finished",
            extra={
                "bot": report.bot_id,
                "outcome": outcome,
                "returncode": report.returncode,
                "duration_ms": report.duration_ms,
                "timed_out": report.timed_out,
                "cpu_s": round(finished.cpu_s, 3),
            },
        )

    def notify_owner(self, bot_id: int, reason: str) -> None:
        """Tell the owner their bot was set to error (never fails the pass)."""
        try:
            from saas.ops.owner_notify import notify_bot_error  # noqa: PLC0415

            with self.sessions() as session:
                notify_bot_error(session, bot_id, reason, self.env)
        except Exception:  # noqa: BLE001 - a notification must not stop the pass
            logger.exception("could not notify the owner", extra={"bot": bot_id})

    def run(self) -> dict:
        """Claim, run and record; the pass's summary."""
        started = self.clock()
        claims = self.claim()
        pool = ProcessPool(
            self.env,
            max_workers=self.config["concurrency"],
            extra_env=self.config["extra_env"],
            kill_grace=self.config["kill_grace"],
            on_finished=self.record,
            child_output=self.config["child_logs"],
            fork_target=run_bot_in_fork if self.config["spawn"] == "fork" else None,
        )
        if self.config["spawn"] == "fork" and claims:
            preload()
        pool.run(self.jobs(claims, started))
        finished = self.clock()
        summary = {
            "started_at": started.isoformat(),
            "finished_at": finished.isoformat(),
            "claimed": len(claims),
            "started": pool.stats.started,
            "timed_out": pool.stats.timed_out,
            "outcomes": dict(self.outcomes),
            "set_to_error": len(self.errored),
            "durations_s": self.durations,
            "cpu_s": round(pool.stats.cpu_s, 3),
            "spawn": self.config["spawn"],
            "max_rss_kb": pool.stats.max_rss_kb,
            "peak_running": pool.stats.peak_running,
        }
        return summary


def load_env_file(path: str | None, environ: dict) -> dict:
    """The environment with the env file's settings added (the real environment wins)."""
    if not path:
        return environ
    from dotenv import dotenv_values  # noqa: PLC0415

    file = Path(path)
    if not file.is_file():
        raise RunnerConfigError(f"--env-file {path} does not exist")
    values = {k: v for k, v in dotenv_values(file).items() if v is not None}
    return {**values, **environ}


def schema_refusal(runner: Runner) -> tuple[int, str] | None:
    """(exit code, one line) when the database is not at the code's revision, else None."""
    from sqlalchemy.exc import SQLAlchemyError  # noqa: PLC0415

    from saas.db import safe_url  # noqa: PLC0415
    from saas.schema_version import SchemaError, check_current  # noqa: PLC0415

    try:
        check_current(runner.engine)
    except SchemaError as exc:
        runner.close()
        return EXIT_CONFIG, str(exc)
    except SQLAlchemyError as exc:
        runner.close()
        reason = " ".join(str(getattr(exc, "orig", exc)).split())[:300]
        return EXIT_FAILED, f"cannot reach the database at {safe_url(runner.engine.url)}: {reason}"
    return None


def main(argv: list[str], environ: Mapping[str, str] | None = None) -> int:
    """Run one pass; 0 when it did its job, 2 for a configuration error, 1 when it broke."""
    from main import configure_logging  # noqa: PLC0415

    env = dict(os.environ if environ is None else environ)
    configure_logging()
    try:
        args = parse_args(argv)
        env = load_env_file(args.env_file, env)
        config = settings(args, env)
        runner = Runner(env, config)
    except (RunnerConfigError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    if (refused := schema_refusal(runner)) is not None:
        print(f"error: {refused[1]}", file=sys.stderr)
        return refused[0]
    signal.signal(signal.SIGTERM, _stop_on_signal)
    try:
        summary = runner.run()
    except Exception:  # noqa: BLE001 - logged with its traceback for the operator
        logger.exception("run-due pass failed")
        return EXIT_FAILED
    finally:
        runner.close()
    try:
        from saas.ops.runner_state import record_pass  # noqa: PLC0415

        record_pass(env, summary)
    except OSError:
        logger.exception("could not write the runner state file")
    logger.info("run-due pass done", extra={k: v for k, v in summary.items() if k != "durations_s"})
    return EXIT_OK
