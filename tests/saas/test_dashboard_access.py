"""Owner scoping of every dashboard URL that names an id: the owner sees it, anyone else a 404."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from saas.models import Backtest, BotRun
from tests.fixtures.web import csrf_token

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
# Endpoint -> how to build its URL from a tenant's ids (also the IDOR matrix's rows).
ID_ROUTES = {
    "dashboard.bot": "/dashboard/bots/{bot}",
    "dashboard.bot_status": "/dashboard/bots/{bot}/status.json",
    "dashboard.bot_charts": "/dashboard/bots/{bot}/charts.json",
    "dashboard.bot_drift": "/dashboard/bots/{bot}/drift",
    "dashboard.ladder": "/dashboard/pairs/{pair}/ladder",
    "dashboard.ladder_data": "/dashboard/pairs/{pair}/ladder.json",
    "dashboard.backtest": "/dashboard/backtests/{backtest}",
    "dashboard.backtest_status": "/dashboard/backtests/{backtest}/status.json",
    "dashboard.backtest_report": "/dashboard/backtests/{backtest}/report",
}
# Pages whose query string takes an id.
QUERY_ROUTES = (
    "/dashboard/trades?bot={bot}",
    "/dashboard/trades.csv?bot={bot}",
    "/dashboard/analytics?bot={bot}",
    "/dashboard/analytics.json?bot={bot}",
    "/dashboard/backtests?pair={pair}",
)
JSON_ROUTES = (
    "dashboard.bot_status",
    "dashboard.bot_charts",
    "dashboard.ladder_data",
    "dashboard.backtest_status",
)


def fetch(client, url: str, **kwargs):
    """GET a URL and read the whole body (a streamed file is closed again); the response."""
    response = client.get(url, **kwargs)
    response.get_data()
    response.close()
    return response


def tenant(dash, name: str) -> dict:
    """A user with a bot named after them, a pair with an open position, a run, a backtest."""
    user = dash.user()
    bot = dash.bot(user, name=f"{name}-bot")
    pair = dash.pair(bot)
    dash.trades(
        [
            {
                "bot_id": bot,
                "pair_id": pair,
                "client_order_id": f"{name}-1",
                "time": NOW,
                "symbol": "BTCUSDT",
                "side": "Long",
                "action": "OPEN",
                "qty": Decimal("0.02"),
                "price": Decimal(30000),
                "fee": Decimal("0.3"),
                "pnl": Decimal(0),
                "position_size": Decimal("0.02"),
                "position_value": Decimal(60),
                "pnl_percentage": Decimal(0),
                "margin_level": Decimal(20),
                "balance_after": Decimal(1000),
            }
        ]
    )
    dash.add(BotRun(bot_id=bot, started_at=NOW, outcome="ok", conclusions={str(pair): "ok"}))
    backtest = dash.add(
        Backtest(
            user_id=user,
            pair_id=pair,
            symbol="BTCUSDT",
            side="Long",
            params={},
            balance=Decimal(1000),
            leverage=Decimal(10),
            start_at=NOW - timedelta(days=30),
            end_at=NOW,
            status="done",
            progress=1000,
            message=f"{name}'s run",
            metrics={"total_return_pct": 1.5},
        )
    )
    dash.report_dir.mkdir(exist_ok=True)
    (dash.report_dir / f"backtest-{backtest}.html").write_text(
        f"<!DOCTYPE html><title>{name}'s report</title><p>{name}-report</p>"
    )
    return {"user": user, "bot": bot, "pair": pair, "backtest": backtest, "name": name}


@pytest.fixture
def pair_of_tenants(dash_sqlite):
    """The owner and a stranger, each with a full set of objects."""
    return dash_sqlite, tenant(dash_sqlite, "owner"), tenant(dash_sqlite, "stranger")


def test_every_dashboard_route_with_an_id_is_listed_here(dash_sqlite):
    found = {
        rule.endpoint
        for rule in dash_sqlite.app.url_map.iter_rules()
        if rule.endpoint.startswith("dashboard.")
        and any(arg == "id" or arg.endswith("_id") for arg in rule.arguments)
    }
    assert found == set(ID_ROUTES)


@pytest.mark.parametrize("url", [*ID_ROUTES.values(), *QUERY_ROUTES])
def test_the_owner_can_open_it(pair_of_tenants, url):
    dash, owner, _ = pair_of_tenants
    response = fetch(dash.client(owner["user"]), url.format(**owner))
    assert response.status_code == 200


@pytest.mark.parametrize("url", [*ID_ROUTES.values(), *QUERY_ROUTES])
def test_another_user_gets_a_404_and_none_of_the_owners_data(pair_of_tenants, url):
    dash, owner, stranger = pair_of_tenants
    response = dash.client(stranger["user"]).get(url.format(**owner))
    body = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "owner-bot" not in body and "owner's" not in body and "owner-report" not in body


@pytest.mark.parametrize("url", ID_ROUTES.values())
def test_anonymous_visitors_go_to_the_login_page(pair_of_tenants, url):
    dash, owner, _ = pair_of_tenants
    response = dash.client().get(url.format(**owner))
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


@pytest.mark.parametrize("endpoint", JSON_ROUTES)
def test_anonymous_json_callers_get_a_401(pair_of_tenants, endpoint):
    dash, owner, _ = pair_of_tenants
    response = dash.client().get(
        ID_ROUTES[endpoint].format(**owner), headers={"Accept": "application/json"}
    )
    assert response.status_code == 401 and response.get_json()["status"] == 401


def test_a_backtest_cannot_be_started_from_another_users_pair(pair_of_tenants):
    dash, owner, stranger = pair_of_tenants
    client = dash.client(stranger["user"])
    form = {
        "csrf_token": csrf_token(client, "/dashboard/backtests"),
        "symbol": "BTCUSDT",
        "side": "Long",
        "start": "2026-01-01",
        "end": "2026-02-01",
        "balance": "1000",
        "leverage": "10",
        "interval_minutes": "5",
        "strategy": "martingale",
        "params": "{}",
        "pair_id": str(owner["pair"]),
    }
    response = client.post("/dashboard/backtests", data=form)
    assert response.status_code == 404
    jobs = dash.query(Backtest.__table__.select().where(Backtest.user_id == stranger["user"]))
    assert len(jobs) == 1  # only the stranger's own, made by the fixture


def test_plotlys_files_need_no_login(pair_of_tenants):
    from saas.dashboard.assets import plotly_version

    dash, _, _ = pair_of_tenants
    client = dash.client()
    assert fetch(client, f"/dashboard/assets/plotly-{plotly_version()}.min.js").status_code == 200
    assert fetch(client, f"/dashboard/assets/plotly-{plotly_version()}.css").status_code == 200
