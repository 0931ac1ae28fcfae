"""The bot process, run-due and the web app refuse a database that is not at the code's revision."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from saas import create_app, migrate
from saas.config import ConfigError, TestConfig
from saas.schema_version import (
    BASE_REVISION,
    UPGRADE_COMMAND,
    SchemaError,
    database_state,
    version_table,
)
from tests.fixtures.database import _dispose

ROOT = Path(__file__).resolve().parents[3]


def _behind(engine) -> None:
    """A database at the first revision, or with none recorded while that is the only one."""
    migrate.upgrade(engine, BASE_REVISION)
    if migrate.script_directory().get_current_head() == BASE_REVISION:
        with engine.begin() as connection:
            connection.execute(version_table.delete())


def _ahead(engine) -> None:
    """A database migrated by newer code than this."""
    migrate.upgrade(engine)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999_from_the_future'"))


def _run(argv: list[str], env: dict) -> subprocess.CompletedProcess:
    """A command of ours, from the checkout, with a clean environment."""
    return subprocess.run(
        [sys.executable, *argv],
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _main(*args: str, env: dict) -> subprocess.CompletedProcess:
    """python main.py ..."""
    return _run([str(ROOT / "main.py"), *args], env)


@pytest.mark.parametrize("make_state", [_behind, _ahead], ids=["behind", "ahead"])
def test_a_bot_run_refuses_with_one_line(empty_url, engine_on, encryption_key, make_state):
    """BOT_ID=n python main.py: exit 2 and one line naming what to do, nothing else runs."""
    make_state(engine_on(empty_url))
    done = _main(env={"BOT_ID": "1", "DATABASE_URL": empty_url, "ENCRYPTION_KEY": encryption_key})
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    expected = UPGRADE_COMMAND if make_state is _behind else "does not know"
    assert expected in lines[0] and "Traceback" not in done.stderr


def test_run_due_refuses_a_database_behind_the_code(empty_url, engine_on, encryption_key):
    """The cron runner says the same and claims nothing."""
    _behind(engine_on(empty_url))
    done = _main("run-due", env={"DATABASE_URL": empty_url, "ENCRYPTION_KEY": encryption_key})
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("error: the database ") and line.endswith(f"run `{UPGRADE_COMMAND}`")


def test_the_web_app_refuses_a_database_behind_the_code(empty_url, engine_on, encryption_key):
    """create_app raises one line naming the command; at head it starts."""
    engine = engine_on(empty_url)
    _behind(engine)
    config = TestConfig({"DATABASE_URL": empty_url, "ENCRYPTION_KEY": encryption_key})
    with pytest.raises(ConfigError, match="flask --app saas db upgrade"):
        create_app(config)
    migrate.upgrade(engine)
    app = create_app(TestConfig({"DATABASE_URL": empty_url, "ENCRYPTION_KEY": encryption_key}))
    try:
        assert app.test_client().get("/healthz").status_code in (200, 503)
    finally:
        _dispose(app)


def test_the_db_commands_upgrade_and_report(empty_url, encryption_key, monkeypatch):
    """`flask --app saas db upgrade / current / history / heads` as an operator runs them."""
    env = {"DATABASE_URL": empty_url, "ENCRYPTION_KEY": encryption_key, "DCABOT_ENV": "development"}

    def run(*args):
        return _run(["-m", "flask", "--app", "saas", "db", *args], env)

    head = migrate.script_directory().get_current_head()
    assert "run `flask --app saas db upgrade`" in run("current").stdout
    upgraded = run("upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert f"database at {head}" in upgraded.stdout
    assert run("upgrade").returncode == 0  # again: nothing to do
    assert run("current").stdout.splitlines()[-1] == "up to date"
    assert run("heads").stdout.split() == [head]
    assert f"-> {head} (head)" in run("history").stdout
    assert run("check").returncode == 0
    bad = run("downgrade", "no_such_revision")
    assert bad.returncode == 1
    assert len(bad.stderr.strip().splitlines()) == 1 and bad.stderr.startswith("error: ")


def test_upgrade_refuses_a_database_ahead_of_the_code(empty_url, engine_on):
    """Older code never guesses at a newer schema: one line, nothing changed."""
    engine = engine_on(empty_url)
    _ahead(engine)
    with pytest.raises(SchemaError, match="9999_from_the_future, which this code does not know"):
        migrate.upgrade(engine)
    assert database_state(engine).revisions == ("9999_from_the_future",)
