"""Backtests from the browser: the form, the queue and its limits, candles, and the report."""

from __future__ import annotations

import re
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from saas.dashboard import candle_files
from saas.models import Backtest
from saas.services.insights import backtests as service
from saas.services.insights.backtests import BacktestError, BacktestRequest, BacktestSettings
from tests.fixtures.dashboard import write_candles
from tests.fixtures.web import csrf_token

JAN = datetime(2026, 1, 1, tzinfo=UTC)


def form(client, **changes) -> dict:
    """A valid backtest form (BTCUSDT Long, 8 to 20 January 2026) with a CSRF token."""
    values = {
        "csrf_token": csrf_token(client, "/dashboard/backtests"),
        "symbol": "BTCUSDT",
        "side": "Long",
        "start": "2026-01-08",
        "end": "2026-01-20",
        "balance": "1000",
        "leverage": "10",
        "interval_minutes": "5",
        "ema_interval": "",
        "strategy": "martingale",
        "params": '{"profit_pnl": 0.05}',
        "pair_id": "",
    }
    values.update(changes)
    return values


def wait_finished(client, job_id: int, timeout: float = 60) -> dict:
    """Poll the status endpoint as the page does until the job has finished."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = client.get(f"/dashboard/backtests/{job_id}/status.json").get_json()
        if status["finished"]:
            return status
        time.sleep(0.1)
    raise AssertionError(f"backtest {job_id} did not finish in {timeout} s: {status}")


def job_id_of(response) -> int:
    """The id in the redirect after a start."""
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return int(re.search(r"/dashboard/backtests/(\d+)$", response.headers["Location"]).group(1))


@pytest.fixture
def candles(dash_sqlite):
    """Twenty-five days of five-minute BTCUSDT candles from 1 January 2026 in the folder."""
    write_candles(dash_sqlite.data_dir / "BTCUSDT-PERP-5m-2026-01_2026-01.csv", 25, start=JAN)
    return dash_sqlite


def test_the_form_is_prefilled_from_the_users_pair(candles):
    dash = candles
    uid = dash.user()
    bid = dash.bot(uid)
    pid = dash.pair(
        bid,
        "BTCUSDT",
        "Short",
        leverage=Decimal(7),
        ema_interval=15,
        strategy_params={"profit_pnl": "0.05"},
    )
    page = dash.client(uid).get(f"/dashboard/backtests?pair={pid}").get_data(as_text=True)
    assert "BTCUSDT Short's settings" in page
    assert re.search(r'<option selected value="Short">|<option value="Short" selected>', page)
    assert re.search(r'name="leverage"[^>]*value="7"', page)
    assert re.search(r'<option selected value="15">|<option value="15" selected>', page)
    assert "{&#34;profit_pnl&#34;: &#34;0.05&#34;}" in page
    assert re.search(rf'name="pair_id"[^>]*value="{pid}"', page)
    # The period defaults to the last 30 days the folder has candles for.
    assert 'value="2026-01-25"' in page and 'value="2025-12-26"' in page


def test_a_backtest_started_from_the_page_runs_and_shows_its_report(candles):
    dash = candles
    uid = dash.user()
    client = dash.client(uid)
    job = job_id_of(client.post("/dashboard/backtests", data=form(client)))
    status = wait_finished(client, job)
    assert status["status"] == "done", status["message"]
    assert status["progress"] == 1000 and status["report_url"].endswith(f"/{job}/report")
    page = client.get(f"/dashboard/backtests/{job}").get_data(as_text=True)
    assert "Max drawdown" in page and "BTCUSDT-PERP-5m-2026-01_2026-01.csv" in page
    assert (
        f'<iframe class="dash-report" src="/dashboard/backtests/{job}/report" '
        'sandbox="allow-scripts"' in page
    )
    report = client.get(status["report_url"])
    body = report.get_data(as_text=True)
    report.close()
    assert body.startswith("<!DOCTYPE html>") and "Backtest BTCUSDT Long" in body
    csp = report.headers["Content-Security-Policy"]
    assert csp.startswith("sandbox allow-scripts;") and "frame-ancestors 'self'" in csp
    assert "script-src 'unsafe-inline'" in csp and "connect-src" not in csp
    assert report.headers["X-Frame-Options"] == "SAMEORIGIN"
    saved = dash.query(select(Backtest.params, Backtest.metrics, Backtest.pair_id))[0]
    assert saved.params == {"profit_pnl": "0.05"} and saved.pair_id is None
    assert Decimal(str(saved.metrics["initial_balance"])) == 1000
    past = client.get("/dashboard/backtests").get_data(as_text=True)
    assert f'href="/dashboard/backtests/{job}"' in past and "1 changed" in past


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"params": "{profit"}, "Parameters must be JSON"),
        ({"params": "[1]"}, "Parameters must be a JSON object"),
        ({"params": '{"no_such_param": 1}'}, "no_such_param"),
        ({"end": "2026-01-01"}, "The period must end after it starts."),
        ({"start": "2024-01-01"}, "The period is at most 366 days."),
        ({"symbol": "BTC/USDT"}, "The symbol is letters and digits"),
        ({"leverage": "500"}, "Number must be between 1 and 125."),
    ],
)
def test_a_request_that_cannot_run_is_refused_with_its_reason(candles, changes, message):
    dash = candles
    uid = dash.user()
    client = dash.client(uid)
    response = client.post("/dashboard/backtests", data=form(client, **changes))
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert dash.query(select(Backtest.id)) == []


def settings(tmp_path, **changes) -> BacktestSettings:
    return BacktestSettings(
        data_dir=tmp_path / "candles", report_dir=tmp_path / "reports", **changes
    )


def request(**changes) -> BacktestRequest:
    values = {
        "symbol": "BTCUSDT",
        "side": "Long",
        "start": date(2026, 1, 8),
        "end": date(2026, 1, 20),
    }
    values.update(changes)
    return BacktestRequest(**values)


def in_app(dash, work):
    from saas.extensions import db

    with dash.app.app_context():
        result = work(db.session)
        db.session.commit()
        return result


def test_a_user_may_have_only_max_queued_backtests_waiting(dash, tmp_path):
    uid, other = dash.user(), dash.user()
    rules = settings(tmp_path, max_queued=2)
    now = datetime.now(UTC)
    for _ in range(2):
        in_app(dash, lambda s: service.submit_backtest(s, uid, request(), now=now, settings=rules))
    with pytest.raises(BacktestError, match="already have 2 backtests waiting"):
        in_app(dash, lambda s: service.submit_backtest(s, uid, request(), now=now, settings=rules))
    in_app(dash, lambda s: service.submit_backtest(s, other, request(), now=now, settings=rules))


def test_a_users_jobs_run_one_at_a_time_and_others_are_not_held_up(dash, tmp_path):
    alice, bob = dash.user(), dash.user()
    rules = settings(tmp_path)
    t0 = datetime(2026, 3, 1, tzinfo=UTC)

    def submit(user, minutes):
        return in_app(
            dash,
            lambda s: (
                service.submit_backtest(
                    s, user, request(), now=t0 + timedelta(minutes=minutes), settings=rules
                ).id
            ),
        )

    a1, a2, b1 = submit(alice, 0), submit(alice, 1), submit(bob, 2)
    claim = lambda: in_app(dash, lambda s: service.claim_next(s, t0 + timedelta(hours=1)))  # noqa: E731
    assert claim() == a1
    assert claim() == b1  # alice's second waits while her first runs
    assert claim() is None
    in_app(dash, lambda s: s.get(Backtest, a1).__setattr__("status", "done"))
    assert claim() == a2


def test_a_job_whose_process_died_fails_and_frees_its_users_queue(dash, tmp_path):
    uid = dash.user()
    rules = settings(tmp_path)
    t0 = datetime(2026, 3, 1, tzinfo=UTC)
    first = in_app(
        dash, lambda s: service.submit_backtest(s, uid, request(), now=t0, settings=rules).id
    )
    second = in_app(
        dash, lambda s: service.submit_backtest(s, uid, request(), now=t0, settings=rules).id
    )
    assert in_app(dash, lambda s: service.claim_next(s, t0)) == first
    later = t0 + timedelta(minutes=11)
    assert in_app(dash, lambda s: service.fail_stale(s, later, rules.stale_after)) == 1
    lost = in_app(dash, lambda s: (s.get(Backtest, first).status, s.get(Backtest, first).message))
    assert lost == ("error", service.INTERRUPTED)
    assert in_app(dash, lambda s: service.claim_next(s, later)) == second


def test_without_candles_for_the_period_the_job_fails_saying_what_exists(candles):
    dash = candles
    uid = dash.user()
    client = dash.client(uid)
    job = job_id_of(
        client.post("/dashboard/backtests", data=form(client, start="2025-06-01", end="2025-06-20"))
    )
    status = wait_finished(client, job)
    assert status["status"] == "error"
    assert status["message"] == (
        "No BTCUSDT candles cover 2025-06-01 to 2025-06-20; there are "
        "candles for 2026-01-01 to 2026-01-25."
    )


def test_missing_candles_are_downloaded_once_into_the_folder(dash_sqlite, seeded_exchange):
    dash = dash_sqlite
    dash.app.config.update(BACKTEST_DOWNLOAD="bybit", BYBIT_BASE_URL=seeded_exchange.url)
    uid = dash.user()
    client = dash.client(uid)
    start = (datetime.now(UTC) - timedelta(days=12)).date()
    end = start + timedelta(days=6)
    jobs = []
    for _ in range(2):
        job = job_id_of(
            client.post(
                "/dashboard/backtests",
                data=form(client, start=start.isoformat(), end=end.isoformat()),
            )
        )
        status = wait_finished(client, job)
        assert status["status"] == "done", status["message"]
        jobs.append(job)
    files = sorted(p.name for p in dash.data_dir.iterdir())
    assert files == [f"BTCUSDT-PERP-5m-{start - timedelta(days=5)}_{end}-bybit.csv"]
    used = dash.query(select(Backtest.data_file).order_by(Backtest.id))
    assert [row.data_file for row in used] == files * 2


def test_the_catalogue_prefers_perpetual_candles_with_warm_up_at_the_cadence(tmp_path):
    folder = tmp_path / "candles"
    folder.mkdir()
    write_candles(folder / "BTCUSDT-SPOT-5m-2026.csv", 40, start=JAN)
    write_candles(
        folder / "BTCUSDT-PERP-1m-late.csv", 20, start=JAN + timedelta(days=9), interval_minutes=1
    )
    write_candles(folder / "BTCUSDT-PERP-15m-2026.csv", 40, start=JAN, interval_minutes=15)
    write_candles(folder / "BTCUSDT-PERP-5m-2026.csv", 40, start=JAN)
    write_candles(folder / "ETHUSDT-PERP-5m-2026.csv", 40, start=JAN)
    (folder / "notes.csv").write_text("not candles\n")
    period = (JAN + timedelta(days=10), JAN + timedelta(days=20))
    assert (
        candle_files.find_file(folder, "BTCUSDT", 5, *period).path.name
        == "BTCUSDT-PERP-5m-2026.csv"
    )
    assert (
        candle_files.find_file(folder, "BTCUSDT", 15, *period).path.name
        == "BTCUSDT-PERP-15m-2026.csv"
    )
    assert (
        candle_files.find_file(
            folder, "BTCUSDT", 5, JAN + timedelta(days=50), JAN + timedelta(days=55)
        )
        is None
    )
    assert candle_files.symbols(folder) == ["BTCUSDT", "ETHUSDT"]


def test_the_shared_candle_files_are_catalogued(ohlcv_dir):
    files = {f.path.name: f for f in candle_files.catalogue(ohlcv_dir)}
    btc = files["BTCUSDT-PERP-5m-2023-01_2024-05.csv"]
    assert (btc.symbol, btc.market, btc.interval_minutes) == ("BTCUSDT", "PERP", 5)
    assert datetime.fromtimestamp(btc.first_ms / 1000, UTC) == datetime(2023, 1, 1, tzinfo=UTC)
    assert "BTCUSDT-PERP-funding-2019-09_2026-05.csv" not in files
    found = candle_files.find_file(
        ohlcv_dir,
        "ETHUSDT",
        5,
        datetime(2023, 7, 10, tzinfo=UTC),
        datetime(2023, 8, 10, tzinfo=UTC),
    )
    assert found.path.name == "ETHUSDT-PERP-5m-2023-01_2024-05.csv"


def test_the_margin_mode_is_a_form_field_prefilled_from_the_pair_and_run(candles):
    dash = candles
    uid = dash.user()
    pid = dash.pair(dash.bot(uid), "BTCUSDT", "Long", margin_mode="isolated")
    client = dash.client(uid)
    page = client.get(f"/dashboard/backtests?pair={pid}").get_data(as_text=True)
    assert re.search(r'<option selected value="isolated">|<option value="isolated" selected>', page)
    job = job_id_of(client.post("/dashboard/backtests", data=form(client, margin_mode="isolated")))
    assert wait_finished(client, job)["status"] == "done"
    assert dash.query(select(Backtest.margin_mode))[0].margin_mode == "isolated"
    assert "isolated margin" in client.get(f"/dashboard/backtests/{job}").get_data(as_text=True)
    refused = client.post("/dashboard/backtests", data=form(client, margin_mode="portfolio"))
    assert refused.status_code == 400 and "Not a valid choice" in refused.get_data(as_text=True)
