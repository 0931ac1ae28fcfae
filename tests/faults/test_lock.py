"""A run that lost its lock never sends: fenced on the lock itself before every order write."""

from __future__ import annotations

import os

from sqlalchemy import select, text

from saas.db import make_engine, make_session_factory, sqlite_path
from saas.models import BotRun
from saas.services.runs.locks import ADVISORY_NAMESPACE_SQL
from tests.faults.harness import check_books, finish, run, start, wait_for_request

# The snapshot's last read: A has seen "no position" when the exchange starts holding it.
BALANCE = "/v5/account/wallet-balance"
HELD_S = 2.5  # how long the exchange holds run A's answer


def terminate_lock_connection(url: str, bot_id: int) -> int:
    """pg_terminate_backend on the session holding the bot's advisory lock; how many."""
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            return len(
                conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = "  # noqa: S608 - constants
                        "'advisory' AND granted AND objsubid = 2 AND objid = CAST(:bot AS oid)"
                        f" AND classid = CAST({ADVISORY_NAMESPACE_SQL} AS oid)"
                    ),
                    {"bot": bot_id},
                ).all()
            )
    finally:
        engine.dispose()


def lose_file_lock(home) -> None:
    """Remove the lock file under the waiting run (a cleaned-up DATA_DIR or /tmp)."""
    if home.url is None:
        os.unlink(home.data_dir / "run.lock")
        return
    database = sqlite_path(make_engine(home.url).url)
    os.unlink(database.with_name(f"{database.name}.bot-{home.bot_id}.lock"))


def run_outcomes(home) -> list[str]:
    """bot_runs outcomes, oldest first (database homes)."""
    engine = make_engine(home.url)
    try:
        with make_session_factory(engine)() as session:
            return list(session.scalars(select(BotRun.outcome).order_by(BotRun.id)))
    finally:
        engine.dispose()


def test_a_run_whose_lock_connection_died_never_sends_after_another_run_took_over(
    fake_exchange, tmp_path, request
):
    """PostgreSQL: A waits on the exchange, its lock connection is terminated, B opens; A stops."""
    from tests.fixtures.faults import make_home  # noqa: PLC0415

    home = make_home(request, "postgresql", fake_exchange, tmp_path)
    fake_exchange.inject("timeout", path=BALANCE, delay=HELD_S)
    a = start(home, timeout=HELD_S + 5)
    wait_for_request(fake_exchange, BALANCE)

    assert terminate_lock_connection(home.url, home.bot_id) == 1
    b = run(home)
    assert b.code == 0, b.stderr
    a_done = finish(home, *a)

    assert a_done.code == 1, a_done.stderr
    assert len(a_done.lines) == 1 and "lock was lost" in a_done.stderr, a_done.stderr
    check_books(home)  # one order, not two
    assert sorted(run_outcomes(home)) == ["error", "ok"]


def test_a_run_whose_lock_file_vanished_never_sends(home):
    """SQLite and standalone: the lock file removed under A, B takes a new one; A stops."""
    if home.mode == "postgresql":
        return  # the advisory lock has its own test above
    home.fx.inject("timeout", path=BALANCE, delay=HELD_S)
    a = start(home, timeout=HELD_S + 5)
    wait_for_request(home.fx, BALANCE)

    lose_file_lock(home)
    b = run(home)
    assert b.code == 0, b.stderr
    a_done = finish(home, *a)

    assert a_done.code == 1 and "lock was lost" in a_done.stderr, a_done.stderr
    check_books(home)
