"""install.sh's prerequisite checks and --dry-run: one `error:` line and nothing changed."""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

import pytest

from tests.deploy.templates import ROOT

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="install.sh runs as root")


def install(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    """install.sh's main with its folders under tmp_path and no package step (nothing missing)."""
    settings = {
        "ENV_DIR": str(tmp_path / "etc"),
        "STATE_DIR": str(tmp_path / "state"),
        "LOG_DIR": str(tmp_path / "log"),
        "PACKAGES": "",
    }
    assigns = " ".join(f"{name}={shlex.quote(value)}" for name, value in settings.items())
    argv = " ".join(shlex.quote(a) for a in ("--app-dir", str(tmp_path / "app"), *args))
    return subprocess.run(
        ["bash", "-c", f"source deploy/install.sh && {assigns} && main {argv}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def nothing_changed(tmp_path: Path) -> bool:
    return not any((tmp_path / name).exists() for name in ("app", "etc", "state", "log"))


def one_error_line(done: subprocess.CompletedProcess) -> str:
    """The single `error:` line of a failed run (and nothing else on stderr)."""
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    return lines[0]


def test_skip_nginx_without_a_domain_needs_an_explicit_base_url(tmp_path):
    """No more silent BASE_URL=https:// : the run stops before doing anything."""
    done = install(tmp_path, "--skip-nginx")

    assert "--base-url is required" in one_error_line(done)
    assert nothing_changed(tmp_path)


def test_nginx_needs_a_domain(tmp_path):
    assert "--domain is required" in one_error_line(install(tmp_path))
    assert nothing_changed(tmp_path)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--db-port", "54x"), "--db-port must be a number"),
        (("--base-url", "bots.example.test"), "--base-url must start with http"),
        (("--keep", "1"), "--keep must be a number of at least 2"),
        (("--user", "Bad-Name"), "a-z, 0-9 and _ only"),
        (("--db-port",), "--db-port needs a value"),
        (("--frobnicate",), "unknown option --frobnicate"),
    ],
)
def test_bad_options_stop_with_one_line(tmp_path, args, message):
    done = install(tmp_path, "--skip-nginx", "--base-url", "https://bots.example.test", *args)

    assert message in one_error_line(done)
    assert nothing_changed(tmp_path)


def test_postgresql_down_and_not_startable_stops_before_any_change(tmp_path):
    """A port no cluster serves: one line naming host, port and why; no folder made."""
    done = install(
        tmp_path, "--skip-nginx", "--base-url", "https://bots.example.test", "--db-port", "1"
    )

    line = one_error_line(done)
    assert "PostgreSQL at 127.0.0.1:1 is down and could not be started" in line
    assert nothing_changed(tmp_path)


def test_dry_run_checks_and_prints_the_plan_without_changing_anything(tmp_path, pg_server_url):
    """--dry-run against the running PostgreSQL: the steps, in order, and no file written."""
    done = install(
        tmp_path,
        "--skip-nginx",
        "--base-url",
        "https://bots.example.test",
        "--db-port",
        "5432",
        "--dry-run",
    )

    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[-1] == "dry run: nothing was changed"
    plan = "\n".join(lines)
    assert "would: write" in plan and "BASE_URL=https://bots.example.test" in plan
    assert plan.index("db upgrade" if (ROOT / "saas/migrations").is_dir() else "init-db") < (
        plan.index(f"would: switch {tmp_path}/app/current")
    )
    assert "would: restart gunicorn with deploy/run-web.sh (no systemd)" in plan or (
        "would: restart dcabot-web.service" in plan
    )
    assert nothing_changed(tmp_path)


def test_rollback_with_nothing_installed_says_so(tmp_path):
    done = install(tmp_path, "--rollback")

    assert "no release is installed" in one_error_line(done)
    assert nothing_changed(tmp_path)


def test_the_env_file_honours_the_database_host_and_port_and_the_base_url(tmp_path):
    """--db-host/--db-port reach DATABASE_URL (no hard-coded 5432); --base-url reaches BASE_URL."""
    releases = tmp_path / "releases"
    releases.mkdir()
    (releases / "r1").symlink_to(ROOT)
    assigns = {
        "RELEASES": str(releases),
        "NEW_RELEASE": "r1",
        "APP_USER": "root",
        "ENV_FILE": str(tmp_path / "dcabot.env"),
        "STATE_DIR": str(tmp_path),
        "DB_HOST": "db.internal",
        "DB_PORT": "6543",
        "BASE_URL": "http://10.0.0.5:8080",
    }
    line = " ".join(f"{k}={shlex.quote(v)}" for k, v in assigns.items())

    done = subprocess.run(
        ["bash", "-c", f"source deploy/install.sh && {line} && write_env_file"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    written = (tmp_path / "dcabot.env").read_text()
    assert "@db.internal:6543/dcabot\n" in written
    assert "\nBASE_URL=http://10.0.0.5:8080\n" in written
