"""run-due end to end: real bot processes, the fake exchange, SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from saas.db import make_engine, make_session_factory
from saas.models import BOT_PAUSED, BOT_RUNNING, Bot, BotLog, BotRun, NotificationSetting, Order
from saas.services.bots.lifecycle import resume_bot
from saas.services.runs.scheduling import next_slot
from tests.fixtures.database import gen_bot, gen_pair, gen_user, open_market

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def bot_key(i: int) -> tuple[str, str]:
    """The exchange key and secret of the i-th test bot."""
    return f"runner-key-{i}", f"runner-secret-{i}"


def add_bots(
    url,
    keyring,
    fx,
    n,
    *,
    status=BOT_RUNNING,
    due=None,
    interval=1,
    symbol="BTCUSDT",
    user_fields=None,
) -> list[int]:
    """n Bybit bots with one BTCUSDT Long pair each, an account on the fake exchange per key."""
    engine = make_engine(url)
    ids = []
    try:
        with make_session_factory(engine)() as session:
            for i in range(n):
                # One Free user per bot: a plan caps bots per owner, and the runner enforces it.
                user = gen_user(session, **(user_fields or {}))
                key, secret = bot_key(i)
                bot = gen_bot(
                    session,
                    user,
                    ring=keyring,
                    api_key=key,
                    api_secret=secret,
                    exchange="bybit",
                    status=status,
                    run_interval_minutes=interval,
                    next_run_at=due(i) if callable(due) else due,
                )
                gen_pair(session, bot, symbol=symbol)
                ids.append(bot.id)
                if fx.engine.account("bybit", key) is None:
                    fx.add_account("bybit", key, secret, Decimal("10000"))
            session.commit()
    finally:
        engine.dispose()
    return ids


def runner_env(url, fx, encryption_key, tmp_path, **extra) -> dict:
    """What cron gives run-due here: the database, the key, the fake exchange for the bots."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DATABASE_URL": url,
        "ENCRYPTION_KEY": encryption_key,
        "BYBIT_BASE_URL": fx.url,
        "RUNNER_CHILD_ENV": "BYBIT_BASE_URL",
        "RUNNER_STATE_FILE": str(tmp_path / "runner-state.json"),
        **extra,
    }


def run_due(env: dict, *args: str) -> subprocess.CompletedProcess:
    """One `python main.py run-due` pass, as cron starts it."""
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "run-due", "--horizon", "0", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def start_run_due(env: dict, *args: str) -> subprocess.Popen:
    """A run-due pass in the background."""
    return subprocess.Popen(
        [sys.executable, str(ROOT / "main.py"), "run-due", "--horizon", "0", *args],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def pass_summary(stdout: str) -> dict:
    """The 'run-due pass done' log line of a pass."""
    for line in stdout.splitlines():
        if '"run-due pass done"' in line:
            return json.loads(line)
    raise AssertionError(f"no pass summary in:\n{stdout[-2000:]}")


def rows(url, model, *where):
    """Every row of a model (matching ``where``), detached."""
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            return list(session.scalars(select(model).where(*where).order_by(model.id)))
    finally:
        engine.dispose()


def set_due(url, bot_ids, when=None) -> None:
    """Make bots due again (as if their next slot had come)."""
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            for bot_id in bot_ids:
                session.get(Bot, bot_id).next_run_at = when or datetime.now(UTC)
            session.commit()
    finally:
        engine.dispose()


def test_fifty_bots_due_across_the_window_each_run_once_in_their_slot(
    db_url, keyring, encryption_key, fake_exchange, tmp_path
):
    """Bots due at different moments start at their moment (not before) and end inside it."""
    open_market(fake_exchange)  # scripted candles: the Long opens whatever the clock says
    start = datetime.now(UTC) + timedelta(seconds=1)
    due = {}

    def due_at(i):
        due[i] = start + timedelta(milliseconds=120 * i)  # 50 bots over 6 s
        return due[i]

    ids = add_bots(db_url, keyring, fake_exchange, 50, due=due_at, interval=1)
    env = runner_env(db_url, fake_exchange, encryption_key, tmp_path)

    done = run_due(env, "--horizon", "10")

    assert done.returncode == 0, done.stderr
    runs = rows(db_url, BotRun)
    assert sorted(r.bot_id for r in runs) == ids  # each exactly once
    for run in runs:
        slot = due[ids.index(run.bot_id)]
        assert run.outcome == "ok", run.conclusions
        assert run.started_at >= slot - timedelta(milliseconds=50)  # never before its slot
        assert run.started_at <= slot + timedelta(seconds=10)
        assert run.finished_at < slot + timedelta(minutes=1)  # inside its one-minute slot
    for bot in rows(db_url, Bot):
        assert bot.last_outcome == "ok" and bot.last_run_at is not None
        # The next run is the bot's own slot one interval on, not "whenever this run ended".
        assert bot.next_run_at == next_slot(
            due[ids.index(bot.id)] + timedelta(seconds=30), 1, bot.id
        )
    summary = pass_summary(done.stdout)
    assert summary["claimed"] == 50 and summary["outcomes"] == {"ok": 50}
    state = json.loads((tmp_path / "runner-state.json").read_text())
    assert state["totals"]["runs"] == {"ok": 50}


@pytest.mark.parametrize("spawn", ["exec", "fork"])
def test_a_hung_run_is_killed_at_the_time_limit_and_reconciled_by_the_next_run(
    db_url, keyring, encryption_key, fake_exchange, tmp_path, spawn
):
    """The order whose answer never came is looked up by the next run, never sent again."""
    open_market(fake_exchange)  # scripted candles: the Long opens whatever the clock says
    [bot_id] = add_bots(db_url, keyring, fake_exchange, 1)
    # The exchange takes the order, then holds the answer far past the time limit.
    fake_exchange.inject("timeout", path="/v5/order/create", delay=30)
    env = runner_env(db_url, fake_exchange, encryption_key, tmp_path)

    began = time.monotonic()
    first = run_due(env, "--time-limit", "4", "--spawn", spawn)  # room for a cold start
    took = time.monotonic() - began

    assert first.returncode == 0, first.stderr
    assert took < 12
    [killed] = rows(db_url, BotRun)
    assert killed.outcome == "error"
    assert "time limit" in killed.conclusions["runner"]
    [intent] = rows(db_url, Order)
    assert intent.status == "pending"  # committed before sending, answer never seen
    assert [o.client_id for o in fake_exchange.orders()] == [intent.client_order_id]

    set_due(db_url, [bot_id])
    second = run_due(env, "--time-limit", "20", "--spawn", spawn)

    assert second.returncode == 0, second.stderr
    settled = {o.client_order_id: o for o in rows(db_url, Order)}
    assert settled[intent.client_order_id].status not in ("pending", "unknown")
    sent = [r.body["orderLinkId"] for r in fake_exchange.requests_to("/v5/order/create")]
    assert sent.count(intent.client_order_id) == 1  # never re-sent
    on_exchange = [o.client_id for o in fake_exchange.orders()]
    assert len(on_exchange) == len(set(on_exchange))
    assert set(on_exchange) <= set(settled)
    assert [r.outcome for r in rows(db_url, BotRun)] == ["error", "ok"]


def test_two_passes_started_together_never_run_a_bot_twice(
    db_url, keyring, encryption_key, fake_exchange, tmp_path
):
    """Each due bot is claimed by exactly one of two simultaneous run-due processes."""
    open_market(fake_exchange)  # scripted candles: the Long opens whatever the clock says
    ids = add_bots(db_url, keyring, fake_exchange, 20, due=datetime.now(UTC))
    env = runner_env(db_url, fake_exchange, encryption_key, tmp_path)

    # Each may take up to 12, so both have work and they race for the same first rows.
    passes = [start_run_due(env, "--concurrency", "2", "--limit", "12") for _ in range(2)]
    outputs = [p.communicate(timeout=120) for p in passes]

    assert [p.returncode for p in passes] == [0, 0], [err for _, err in outputs]
    runs = rows(db_url, BotRun)
    assert sorted(r.bot_id for r in runs) == ids
    assert {r.outcome for r in runs} == {"ok"}
    claimed = [pass_summary(out)["claimed"] for out, _ in outputs]
    assert sum(claimed) == 20 and min(claimed) >= 8


def test_a_bot_still_running_from_its_last_slot_is_skipped_not_doubled(
    db_url, keyring, encryption_key, fake_exchange, tmp_path
):
    """A second pass finds the bot's lock taken: it records the overrun and places nothing."""
    open_market(fake_exchange)  # scripted candles: the Long opens whatever the clock says
    [bot_id] = add_bots(db_url, keyring, fake_exchange, 1)
    fake_exchange.inject("timeout", path="/v5/order/create", delay=5)  # a slow answer
    env = runner_env(db_url, fake_exchange, encryption_key, tmp_path)
    slow = start_run_due(env, "--time-limit", "30")
    deadline = time.monotonic() + 15
    while not fake_exchange.requests_to("/v5/order/create") and time.monotonic() < deadline:
        time.sleep(0.05)

    set_due(db_url, [bot_id])  # its next slot comes while the first run still waits
    second = run_due(env)
    slow.communicate(timeout=60)

    assert second.returncode == 0 and slow.returncode == 0
    runs = sorted(rows(db_url, BotRun), key=lambda r: r.outcome)
    assert [r.outcome for r in runs] == ["locked", "ok"]
    assert "overran its slot" in runs[0].conclusions["runner"]
    assert len(fake_exchange.requests_to("/v5/order/create")) == 1
    [bot] = rows(db_url, Bot)
    assert bot.last_outcome == "ok"


def test_stopped_paused_and_errored_bots_are_never_run(
    db_url, keyring, encryption_key, fake_exchange, tmp_path
):
    """Only running bots are claimed, however overdue the others look."""
    open_market(fake_exchange)  # scripted candles: the Long opens whatever the clock says
    past = datetime.now(UTC) - timedelta(hours=1)
    for status in ("stopped", "paused", "error"):
        add_bots(db_url, keyring, fake_exchange, 1, status=status, due=past)
    env = runner_env(db_url, fake_exchange, encryption_key, tmp_path)

    done = run_due(env)

    assert done.returncode == 0, done.stderr
    assert rows(db_url, BotRun) == []
    assert fake_exchange.requests == []
    assert pass_summary(done.stdout)["claimed"] == 0


def test_a_paused_bot_resumes_when_started_again(
    db_url, keyring, encryption_key, fake_exchange, tmp_path
):
    """Paused: skipped. Resumed: due at once and run by the next pass."""
    open_market(fake_exchange)  # scripted candles: the Long opens whatever the clock says
    [bot_id] = add_bots(db_url, keyring, fake_exchange, 1, status=BOT_PAUSED)
    env = runner_env(db_url, fake_exchange, encryption_key, tmp_path)
    assert run_due(env).returncode == 0
    assert rows(db_url, BotRun) == []

    engine = make_engine(db_url)
    try:
        with make_session_factory(engine)() as session:
            resume_bot(session, session.get(Bot, bot_id), now=datetime.now(UTC))
            session.commit()
    finally:
        engine.dispose()
    done = run_due(env)

    assert done.returncode == 0, done.stderr
    assert [(r.bot_id, r.outcome) for r in rows(db_url, BotRun)] == [(bot_id, "ok")]


def test_repeated_failures_set_the_bot_to_error_and_tell_its_owner(
    sqlite_url, keyring, encryption_key, fake_exchange, tmp_path, telegram_server
):
    """N failed runs in a row: status error, the reason stored and logged, a Telegram message."""
    open_market(fake_exchange)  # scripted candles: the Long opens whatever the clock says
    # A symbol the exchange does not list fails every run (not an authentication error).
    [bot_id] = add_bots(sqlite_url, keyring, fake_exchange, 1, symbol="NOPEUSDT")
    engine = make_engine(sqlite_url)
    with make_session_factory(engine)() as session:
        session.add(
            NotificationSetting(
                user_id=session.get(Bot, bot_id).user_id,
                telegram_enabled=True,
                telegram_chat_id="4242",
            )
        )
        session.commit()
    engine.dispose()
    env = runner_env(
        sqlite_url,
        fake_exchange,
        encryption_key,
        tmp_path,
        RUNNER_MAX_CONSECUTIVE_FAILURES="2",
        TELEGRAM_BOT_TOKEN="platform-token",
        TELEGRAM_API_BASE=telegram_server.url,
    )

    assert run_due(env).returncode == 0
    [bot] = rows(sqlite_url, Bot)
    assert bot.status == BOT_RUNNING and bot.last_outcome == "error"
    set_due(sqlite_url, [bot_id])
    done = run_due(env)

    assert done.returncode == 0, done.stderr  # the pass did its job
    [bot] = rows(sqlite_url, Bot)
    assert bot.status == "error"
    assert bot.last_error.startswith("stopped after 2 failed runs in a row; last error:")
    assert "NOPEUSDT" in bot.last_error
    assert bot.next_run_at is None
    logs = [log.message for log in rows(sqlite_url, BotLog, BotLog.level == "error")]
    assert bot.last_error in logs
    assert len(telegram_server.messages) == 1, done.stdout[-3000:]
    [message] = telegram_server.messages
    assert message["chat_id"] == "4242" and "failed runs in a row" in message["text"]
    # An errored bot is no longer run.
    set_due(sqlite_url, [bot_id])
    run_due(env)
    assert len(rows(sqlite_url, BotRun)) == 2


def children_of(pid: int) -> list[int]:
    """Processes whose parent is ``pid``."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def test_stopping_run_due_stops_its_bot_processes(
    sqlite_url, keyring, encryption_key, fake_exchange, tmp_path
):
    """SIGTERM to the runner (shutdown, an operator): no bot process is left behind."""
    open_market(fake_exchange)  # scripted candles: the Long opens whatever the clock says
    add_bots(sqlite_url, keyring, fake_exchange, 1)
    fake_exchange.inject("timeout", path="/v5/order/create", delay=30)
    runner = start_run_due(
        runner_env(sqlite_url, fake_exchange, encryption_key, tmp_path), "--time-limit", "40"
    )
    deadline = time.monotonic() + 15
    while not fake_exchange.requests_to("/v5/order/create") and time.monotonic() < deadline:
        time.sleep(0.05)
    bots = children_of(runner.pid)
    assert bots, "the bot process never reached its order"

    runner.terminate()
    runner.communicate(timeout=15)

    assert runner.returncode == 1
    assert not any(Path(f"/proc/{pid}").exists() for pid in bots)


def test_a_configuration_error_is_one_line_and_exit_status_2(tmp_path):
    """A bad runner setting stops the pass before it touches anything."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "RUNNER_CONCURRENCY": "many",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite'}",
    }

    done = run_due(env)

    assert done.returncode == 2
    assert done.stderr.strip() == "error: RUNNER_CONCURRENCY must be a number, got 'many'"
