"""Prometheus metrics: request latency in the web app, runner and bot figures on each scrape."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
)
from prometheus_client.registry import Collector

from saas.ops.runner_state import DURATION_BUCKETS, empty_totals, read_state

# Request latency lives in its own registry (never the global one) so that creating many
# apps in one process (tests) registers it once; gunicorn workers share it through
# PROMETHEUS_MULTIPROC_DIR.
REQUEST_REGISTRY = CollectorRegistry(auto_describe=True)
REQUEST_LATENCY = Histogram(
    "dcabot_http_request_duration_seconds",
    "Time to answer a web request.",
    ("endpoint", "method", "status"),
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
    registry=REQUEST_REGISTRY,
)


def observe_request(endpoint: str | None, method: str, status: int, seconds: float) -> None:
    """Count one answered request (endpoint names, not URLs, keep the label set small)."""
    REQUEST_LATENCY.labels(endpoint or "unmatched", method, str(status)).observe(seconds)


def _histogram(totals: dict) -> HistogramMetricFamily:
    """The runner's cumulative bot-run durations as a Prometheus histogram."""
    family = HistogramMetricFamily(
        "dcabot_bot_run_duration_seconds", "Wall time of bot runs started by run-due."
    )
    counts = list(totals["duration_buckets"]) + [0] * len(DURATION_BUCKETS)
    buckets = [(str(bound), counts[i]) for i, bound in enumerate(DURATION_BUCKETS)]
    buckets.append(("+Inf", totals["duration_count"]))
    family.add_metric([], buckets, totals["duration_sum"])
    return family


class RunnerCollector(Collector):
    """Reads the runner's state file and the bots table at scrape time."""

    def __init__(
        self,
        env: Mapping[str, str],
        session_factory: Callable | None = None,
        clock: Callable[[], datetime] | None = None,
    ):
        self.env = env
        self.session_factory = session_factory
        self.clock = clock or (lambda: datetime.now(UTC))

    def collect(self):
        """Runner counters from the state file, then bot gauges from the database."""
        state = read_state(self.env) or {}
        totals = {**empty_totals(), **state.get("totals", {})}
        runs = CounterMetricFamily(
            "dcabot_bot_runs", "Bot runs finished under run-due, by outcome.", labels=["outcome"]
        )
        for outcome, count in sorted(totals["runs"].items()):
            runs.add_metric([outcome], count)
        yield runs
        yield CounterMetricFamily(
            "dcabot_bot_run_failures",
            "Bot runs that failed (error, auth error, unrecorded).",
            value=totals["failures"],
        )
        yield CounterMetricFamily(
            "dcabot_bot_run_timeouts",
            "Bot runs stopped at the time limit.",
            value=totals["timed_out"],
        )
        yield CounterMetricFamily(
            "dcabot_bots_set_to_error",
            "Bots the failure policy set to error.",
            value=totals["set_to_error"],
        )
        yield CounterMetricFamily(
            "dcabot_runner_passes", "run-due passes completed.", value=totals["passes"]
        )
        yield CounterMetricFamily(
            "dcabot_bot_run_cpu_seconds", "CPU time of bot processes.", value=totals["cpu_sum"]
        )
        yield _histogram(totals)
        yield from self._last_pass(state.get("last_pass") or {})
        yield from self._bots()

    def _last_pass(self, last: dict):
        """When the last pass ended and how long it took."""
        finished = last.get("finished_at")
        if not finished:
            return
        end = datetime.fromisoformat(finished)
        yield GaugeMetricFamily(
            "dcabot_runner_last_pass_timestamp_seconds",
            "When the last run-due pass ended.",
            value=end.timestamp(),
        )
        start = datetime.fromisoformat(last.get("started_at") or finished)
        yield GaugeMetricFamily(
            "dcabot_runner_last_pass_duration_seconds",
            "How long the last pass took.",
            value=(end - start).total_seconds(),
        )

    def _bots(self):
        """Bots by status and the overdue count (skipped when the database is down)."""
        if self.session_factory is None:
            return
        from saas.services.runs.scheduling import overdue_count, status_counts  # noqa: PLC0415

        try:
            with self.session_factory() as session:
                counts = status_counts(session)
                overdue = overdue_count(session, self.clock())
        except Exception:  # noqa: BLE001 - a scrape must answer even with the database down
            yield GaugeMetricFamily("dcabot_database_up", "Database reachable.", value=0)
            return
        yield GaugeMetricFamily("dcabot_database_up", "Database reachable.", value=1)
        bots = GaugeMetricFamily("dcabot_bots", "Bots by status.", labels=["status"])
        for status in ("stopped", "running", "paused", "error"):
            bots.add_metric([status], counts.get(status, 0))
        yield bots
        yield GaugeMetricFamily(
            "dcabot_bots_overdue", "Running bots whose slot passed unclaimed.", value=overdue
        )


def exposition(env: Mapping[str, str], session_factory: Callable | None) -> bytes:
    """The text exposition of every metric (all gunicorn workers' in multiprocess mode)."""
    from prometheus_client import generate_latest  # noqa: PLC0415

    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess  # noqa: PLC0415

        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_RequestsOnly())
    registry.register(RunnerCollector(env, session_factory))
    return generate_latest(registry)


class _RequestsOnly(Collector):
    """This process's request metrics, re-exposed in a per-scrape registry."""

    def collect(self):
        """Everything in REQUEST_REGISTRY."""
        yield from REQUEST_REGISTRY.collect()
