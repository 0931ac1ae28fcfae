"""`python main.py deliver`: one line on bad input; a dead database reaches the operator."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def deliver(*args: str, **env: str) -> subprocess.CompletedProcess:
    """One `python main.py deliver` process."""
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "deliver", *args],
        env={"PATH": os.environ["PATH"], "SECRET_KEY": "test", "DCABOT_ENV": "test", **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_bad_interval_is_one_line_and_exit_2(sqlite_url):
    done = deliver("--loop", "--interval", "0", DATABASE_URL=sqlite_url)
    assert done.returncode == 2
    assert done.stderr.strip() == "error: --interval must be above 0 seconds"


def test_a_missing_env_file_is_one_line(sqlite_url, tmp_path):
    done = deliver("--env-file", str(tmp_path / "nope.env"), DATABASE_URL=sqlite_url)
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1
    assert "does not exist" in done.stderr


def test_an_unreachable_database_exits_1_and_mails_the_operator(smtp_server):
    done = deliver(
        DATABASE_URL="postgresql://postgres@127.0.0.1:9/nowhere",
        OPS_ALERT_EMAIL="ops@example.com",
        MAIL_BACKEND="smtp",
        MAIL_SERVER=smtp_server.host,
        MAIL_PORT=str(smtp_server.port),
    )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "error: delivery failed: the database is unreachable or broken"
    ]
    [mail] = smtp_server.wait_for(1)
    assert mail["To"] == "ops@example.com" and "Database error" in mail["Subject"]
    assert "127.0.0.1:9" not in mail.get_body(preferencelist=("plain",)).get_content()


def test_the_devservers_thread_delivers_without_cron(app, user_factory, webhook_receiver):
    """make run: events reach their receiver within a few periods of the background thread."""
    from datetime import UTC, datetime  # noqa: PLC0415

    from saas.services.notifications.command import BackgroundDeliverer  # noqa: PLC0415
    from tests.saas.notify_helpers import add_endpoint, emit  # noqa: PLC0415

    user = user_factory(email_verified=True, plan="enterprise")
    _, webhook_receiver.secret = add_endpoint(app, user, webhook_receiver.url)
    deliverer = BackgroundDeliverer(app, period=0.1)
    deliverer.start()
    try:
        [event_id] = emit(app, user.id, "position_opened", now=datetime.now(UTC))
        [got] = webhook_receiver.wait_for(1, timeout=10)
    finally:
        deliverer.stop()
        deliverer.join(timeout=10)
    assert got["body"]["id"] == event_id and got["verified"]
