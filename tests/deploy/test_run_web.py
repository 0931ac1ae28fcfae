"""deploy/run-web.sh: gunicorn started exactly as dcabot-web.service starts it, without systemd."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.deploy.templates import DEPLOY, ROOT
from tests.deploy.test_serving import UnixHTTPConnection, wait_for

RUN_WEB = (DEPLOY / "run-web.sh").read_text()
UNIT = (DEPLOY / "dcabot-web.service").read_text()


def unit(key: str) -> str:
    return re.search(rf"^{key}=(.*)$", UNIT, re.M).group(1)


def as_run_web(value: str) -> str:
    """A unit value in run-web.sh's terms: the live release is $APP_DIR, /run/dcabot $RUN_DIR."""
    return (
        value.replace(unit("WorkingDirectory"), "$APP_DIR")
        .replace(f"/run/{unit('RuntimeDirectory')}", "$RUN_DIR")
        .replace(unit("EnvironmentFile"), "$ENV_FILE")
    )


def test_run_web_mirrors_every_line_of_the_unit_that_shapes_the_process():
    """ExecStart, Environment, EnvironmentFile, User, WorkingDirectory, UMask, RuntimeDirectory."""
    script = RUN_WEB.replace("\\\n", " ")
    command = re.search(r"^exec setpriv (.*)$", script, re.M).group(1)
    command = re.sub(r"\s+", " ", command).replace('"', "")

    assert unit("WorkingDirectory") == "/opt/dcabot/current"
    assert as_run_web(unit("ExecStart")) in command
    name, value = unit("Environment").split("=", 1)
    assert f"env {name}={as_run_web(value)} " in command
    assert "dotenv -f $ENV_FILE run --no-override --" in command
    assert '--reuid="$APP_USER" --regid="$APP_USER" --init-groups --reset-env' in RUN_WEB
    assert f"umask {unit('UMask')}" in RUN_WEB
    assert f'-m {unit("RuntimeDirectoryMode")} "$RUN_DIR"' in RUN_WEB
    assert 'ENV_FILE="${DCABOT_ENV_FILE:-/etc/dcabot/dcabot.env}"' in RUN_WEB
    assert unit("EnvironmentFile") == "/etc/dcabot/dcabot.env"
    assert 'APP_USER="${DCABOT_USER:-dcabot}"' in RUN_WEB and unit("User") == "dcabot"
    assert 'RUN_DIR="${DCABOT_RUN_DIR:-/run/dcabot}"' in RUN_WEB


@pytest.fixture
def run_web(tmp_path, sqlite_url):
    """run-web.sh of this checkout with an env file and a runtime folder under tmp_path."""
    if os.geteuid() != 0:
        pytest.skip("run-web.sh switches to the service user (run as root, as install.sh does)")
    if not (ROOT / ".venv" / "bin" / "gunicorn").exists():
        pytest.skip("no .venv/bin/gunicorn in this checkout (make venv)")
    run_dir = tmp_path / "run"
    env_file = tmp_path / "dcabot.env"
    env_file.write_text(
        f"DATABASE_URL={sqlite_url}\nSECRET_KEY=run-web-test\nDCABOT_ENV=test\n"
        f"GUNICORN_BIND=unix:{run_dir}/gunicorn.sock\nGUNICORN_WORKERS=1\n"
        f"RUNNER_STATE_FILE={tmp_path}/runner-state.json\n"
        "MAIL_DEFAULT_SENDER=dcabot <noreply@example.test>\n"
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "DCABOT_ENV_FILE": str(env_file),
        "DCABOT_USER": "root",
        "DCABOT_RUN_DIR": str(run_dir),
        # run-web.sh starts from a clean environment, as systemd does: this must not get through.
        "LEAKED_FROM_CALLER": "1",
    }
    process = subprocess.Popen(
        [str(DEPLOY / "run-web.sh")],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        wait_for(lambda: (run_dir / "gunicorn.sock").exists() or process.poll() is not None, 60)
        assert process.poll() is None, process.stderr.read().decode()
        yield process, run_dir
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=40)


def test_run_web_serves_the_app_with_the_units_environment(run_web):
    """The pid file names the master; the runtime and metrics folders and env are the unit's."""
    process, run_dir = run_web
    conn = UnixHTTPConnection(run_dir / "gunicorn.sock")
    conn.request("GET", "/healthz")
    response = conn.getresponse()
    body = json.loads(response.read())
    conn.close()
    environ = dict(
        item.split("=", 1)
        for item in Path(f"/proc/{process.pid}/environ").read_text().split("\0")
        if "=" in item
    )

    assert response.status == 200 and body["status"] == "ok"
    assert int((run_dir / "web.pid").read_text()) == process.pid
    assert "gunicorn" in Path(f"/proc/{process.pid}/cmdline").read_text()
    assert environ["PROMETHEUS_MULTIPROC_DIR"] == f"{run_dir}/metrics"
    assert environ["SECRET_KEY"] == "run-web-test"
    assert environ["MAIL_DEFAULT_SENDER"] == "dcabot <noreply@example.test>"
    assert "LEAKED_FROM_CALLER" not in environ
    assert oct(run_dir.stat().st_mode & 0o777) == "0o750"
    assert (run_dir / "metrics").is_dir()


def test_run_web_stops_gracefully_on_term(run_web):
    """`kill $(cat /run/dcabot/web.pid)`: gunicorn exits and removes its socket."""
    process, run_dir = run_web
    os.kill(int((run_dir / "web.pid").read_text()), signal.SIGTERM)
    deadline = time.monotonic() + 40
    while process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)

    assert process.returncode == 0
    assert not (run_dir / "gunicorn.sock").exists()


def test_run_web_without_an_env_file_says_so_in_one_line(tmp_path):
    """A missing env file is one error line, not a Python traceback."""
    done = subprocess.run(
        [str(DEPLOY / "run-web.sh")],
        env={"PATH": "/usr/bin:/bin", "DCABOT_ENV_FILE": str(tmp_path / "none.env")},
        capture_output=True,
        text=True,
        check=False,
    )

    assert done.returncode == 1
    assert done.stderr == f"error: {tmp_path}/none.env is missing (run deploy/install.sh first)\n"
