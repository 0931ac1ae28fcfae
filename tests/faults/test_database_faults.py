"""The database unreachable at the start of a run, and gone in the middle of one."""

from __future__ import annotations

from sqlalchemy.engine import make_url

from tests.faults.harness import check_books, finish, run, start, wait_for_request
from tests.faults.proxy import TcpProxy

BALANCE = "/v5/account/wallet-balance"


def test_an_unreachable_database_at_start_is_a_transient_failure(db_home):
    """Exit 1 (run-due retries), one line naming the database, nothing asked of the exchange."""
    url = "postgresql://nobody@127.0.0.1:1/x" if db_home.mode == "postgresql" else None
    url = url or f"sqlite:///{db_home.data_dir}/missing-dir/../../nowhere/x.sqlite"
    if db_home.mode == "postgresql":
        outcome = run(db_home, DATABASE_URL=url)
        assert outcome.code == 1, outcome.stderr
        assert len(outcome.lines) == 1 and "cannot use the database" in outcome.stderr
    else:
        # A SQLite file that is not there is a setting to fix (exit 2), not an outage.
        outcome = run(db_home, DATABASE_URL=url)
        assert outcome.code == 2 and len(outcome.lines) == 1, outcome.stderr
    assert db_home.fx.requests == []


def test_the_database_gone_mid_run_stops_the_run_with_one_line_and_the_next_run_completes(
    fake_exchange, tmp_path, request
):
    """PostgreSQL behind a proxy cut while the run waits on the exchange: exit 1, one line,
    nothing sent; the next run (database back) opens once."""
    from tests.fixtures.faults import make_home  # noqa: PLC0415

    home = make_home(request, "postgresql", fake_exchange, tmp_path)
    url = make_url(home.url)
    proxy = TcpProxy((url.host or "127.0.0.1", url.port or 5432))
    behind = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    fake_exchange.inject("timeout", path=BALANCE, delay=1.0)
    a = start(home, timeout=5, DATABASE_URL=behind)
    wait_for_request(fake_exchange, BALANCE)

    proxy.cut()
    gone = finish(home, *a)

    assert gone.code == 1, gone.stderr
    assert len(gone.lines) == 1 and "Traceback" not in gone.stderr, gone.stderr
    assert fake_exchange.requests_to("/v5/order/create") == []
    back = run(home)
    assert back.code == 0, back.stderr
    check_books(home)
