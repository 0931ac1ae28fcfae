"""/healthz, /metrics and the `health` and `crontab` commands."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

import saas.ops
from saas.extensions import db
from saas.ops.runner_state import record_pass
from tests.fixtures.database import gen_bot, gen_user

ROOT = Path(__file__).resolve().parents[2]
HEALTH_KEYS = {
    "status",
    "database",
    "runner",
    "bots_running",
    "bots_overdue",
    "runner_last_pass_age_s",
}


@pytest.fixture
def ops_app(app, tmp_path):
    """The web app with the ops endpoints, a runner state file of its own and a metrics token."""
    app.config["RUNNER_STATE_FILE"] = str(tmp_path / "runner-state.json")
    app.config["METRICS_TOKEN"] = "scrape-token"
    saas.ops.register(app)
    return app


def state_env(app) -> dict:
    """The settings run-due would use to write this app's state file."""
    return {"RUNNER_STATE_FILE": app.config["RUNNER_STATE_FILE"]}


def a_pass(finished: datetime, **fields) -> dict:
    """A run-due pass summary as the runner writes it."""
    return {
        "started_at": (finished - timedelta(seconds=4)).isoformat(),
        "finished_at": finished.isoformat(),
        "claimed": 3,
        "timed_out": 0,
        "outcomes": {"ok": 2, "error": 1},
        "durations_s": [0.3, 0.4, 6.0],
        "cpu_s": 0.6,
        **fields,
    }


def add_bot(app, **fields):
    """A bot of a new user, committed."""
    with app.app_context():
        bot = gen_bot(db.session, gen_user(db.session), **fields)
        db.session.commit()
        return bot.id


def test_healthz_is_ok_with_counts_on_a_fresh_install(ops_app):
    """No bots yet, no runner pass yet: nothing is wrong."""
    answer = ops_app.test_client().get("/healthz")

    assert answer.status_code == 200
    assert answer.json == {
        "status": "ok",
        "database": "ok",
        "runner": "ok",
        "bots_running": 0,
        "bots_overdue": 0,
        "runner_last_pass_age_s": None,
    }


def test_healthz_is_degraded_while_running_bots_wait_for_a_runner(ops_app):
    """Running bots, overdue, and no pass ever: 503 with counts, nothing internal."""
    add_bot(ops_app, next_run_at=datetime.now(UTC) - timedelta(minutes=10))

    answer = ops_app.test_client().get("/healthz")

    assert answer.status_code == 503
    assert set(answer.json) == HEALTH_KEYS
    assert answer.json["status"] == "degraded" and answer.json["runner"] == "never"
    assert answer.json["bots_running"] == 1 and answer.json["bots_overdue"] == 1


def test_healthz_recovers_after_a_recent_pass_and_flags_a_stale_one(ops_app):
    """A pass a minute ago is fine; one ten minutes ago means cron stopped."""
    add_bot(ops_app, next_run_at=datetime.now(UTC) + timedelta(minutes=1))
    record_pass(state_env(ops_app), a_pass(datetime.now(UTC) - timedelta(minutes=1)))
    client = ops_app.test_client()

    assert client.get("/healthz").json["status"] == "ok"
    record_pass(state_env(ops_app), a_pass(datetime.now(UTC) - timedelta(minutes=10)))
    stale = client.get("/healthz")

    assert stale.status_code == 503 and stale.json["runner"] == "stale"
    assert 590 <= stale.json["runner_last_pass_age_s"] <= 620


def test_healthz_reports_a_broken_database_without_details(ops_app):
    """The database failing is "down", never its error text."""
    with ops_app.app_context():
        db.session.execute(text("DROP TABLE bots"))
        db.session.commit()

    answer = ops_app.test_client().get("/healthz")

    assert answer.status_code == 503
    assert answer.json["database"] == "down" and answer.json["bots_running"] is None
    assert "bots" not in answer.get_data(as_text=True).replace("bots_", "")


def test_metrics_answer_loopback_clients(ops_app):
    """Prometheus on the same host scrapes without a token."""
    answer = ops_app.test_client().get("/metrics")

    assert answer.status_code == 200
    assert answer.content_type.startswith("text/plain")


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 403),
        ({"Authorization": "Bearer wrong"}, 403),
        ({"Authorization": "Basic scrape-token"}, 403),
        ({"Authorization": "Bearer scrape-token"}, 200),
    ],
)
def test_metrics_from_elsewhere_need_the_bearer_token(ops_app, headers, status):
    """Another address: only with ``Authorization: Bearer <METRICS_TOKEN>``."""
    client = ops_app.test_client()

    answer = client.get("/metrics", headers=headers, environ_base={"REMOTE_ADDR": "203.0.113.9"})

    assert answer.status_code == status


def test_metrics_without_a_configured_token_refuse_remote_clients(ops_app):
    """No METRICS_TOKEN: a remote bearer of an empty token gets nothing."""
    ops_app.config["METRICS_TOKEN"] = ""

    answer = ops_app.test_client().get(
        "/metrics",
        headers={"Authorization": "Bearer "},
        environ_base={"REMOTE_ADDR": "203.0.113.9"},
    )

    assert answer.status_code == 403


def test_metrics_expose_runs_failures_durations_overdue_and_latency(ops_app):
    """Counters from the runner's passes, gauges from the database, request latency."""
    add_bot(ops_app, next_run_at=datetime.now(UTC) - timedelta(minutes=10))
    add_bot(ops_app, status="paused")
    record_pass(state_env(ops_app), a_pass(datetime.now(UTC), timed_out=1))
    record_pass(state_env(ops_app), a_pass(datetime.now(UTC)))
    client = ops_app.test_client()
    client.get("/healthz")

    body = client.get("/metrics").get_data(as_text=True)

    expected = [
        'dcabot_bot_runs_total{outcome="ok"} 4.0',
        'dcabot_bot_runs_total{outcome="error"} 2.0',
        "dcabot_bot_run_failures_total 2.0",
        "dcabot_bot_run_timeouts_total 1.0",
        "dcabot_runner_passes_total 2.0",
        'dcabot_bot_run_duration_seconds_bucket{le="0.5"} 4.0',
        'dcabot_bot_run_duration_seconds_bucket{le="+Inf"} 6.0',
        "dcabot_bot_run_duration_seconds_count 6.0",
        "dcabot_bots_overdue 1.0",
        'dcabot_bots{status="running"} 1.0',
        'dcabot_bots{status="paused"} 1.0',
        "dcabot_database_up 1.0",
        "dcabot_runner_last_pass_duration_seconds 4.0",
    ]
    for line in expected:
        assert line in body, line
    assert 'dcabot_http_request_duration_seconds_count{endpoint="ops.healthz",method="GET"' in body


def test_register_is_safe_to_call_twice(ops_app):
    """create_app may call it; a test may too."""
    saas.ops.register(ops_app)

    assert ops_app.test_client().get("/healthz").status_code == 200


def test_crontab_prints_the_run_due_line_of_this_install(ops_app):
    """Absolute interpreter and main.py, the env file, the log, every minute."""
    result = ops_app.test_cli_runner().invoke(
        args=["crontab", "--env-file", "/etc/dcabot/dcabot.env", "--user", "dcabot"]
    )

    assert result.exit_code == 0, result.output
    line = result.output.strip().splitlines()[-1]
    assert line == (
        f"* * * * * dcabot {sys.executable} {ROOT / 'main.py'} run-due --env-file "
        "/etc/dcabot/dcabot.env >> /var/log/dcabot/runner.log 2>&1"
    )


def test_crontab_for_a_user_crontab_has_no_user_column(ops_app):
    """--user '' prints the form for `crontab -e`."""
    result = ops_app.test_cli_runner().invoke(args=["crontab", "--user", ""])

    assert result.output.strip().splitlines()[-1].startswith(f"* * * * * {sys.executable} ")


def test_health_command_exit_status_follows_the_check(ops_app):
    """0 and "status: ok" when healthy; 1 when degraded; --json for scripts."""
    runner = ops_app.test_cli_runner()
    healthy = runner.invoke(args=["health"])
    add_bot(ops_app, next_run_at=datetime.now(UTC) - timedelta(minutes=10))

    degraded = runner.invoke(args=["health", "--json"])

    assert healthy.exit_code == 0 and "status: ok" in healthy.output
    assert degraded.exit_code == 1
    assert json.loads(degraded.output)["bots_overdue"] == 1
