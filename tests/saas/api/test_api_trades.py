"""Trades over the API: cursor pages over 10,000 trades, filters, and cursors that are not ours."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import insert

from saas.models import Trade
from tests.saas.api.conftest import NOW

COUNT = 10_000


def add_trades(site, bot_id: int, count: int, start_id: int = 0) -> None:
    """``count`` trades of one bot; every 7th shares its time with the one before (ties)."""
    rows = []
    for n in range(count):
        moment = NOW - timedelta(minutes=(n - n % 7 // 6))
        rows.append(
            {
                "bot_id": bot_id,
                "client_order_id": f"b{bot_id}-t{start_id + n}",
                "time": moment,
                "symbol": "BTCUSDT" if n % 2 else "ETHUSDT",
                "side": "Long",
                "action": "OPEN" if n % 3 else "CLOSE",
                "qty": Decimal(1),
                "price": Decimal(30000) + n,
            }
        )
    from saas.extensions import db  # noqa: PLC0415

    with site.app.app_context():
        db.session.execute(insert(Trade), rows)
        db.session.commit()


def walk(api, query: str, limit: int) -> list[dict]:
    """Every trade of a query, following next_cursor to the end."""
    seen, cursor = [], None
    while True:
        suffix = f"&cursor={cursor}" if cursor else ""
        response = api.get(f"/trades?limit={limit}{query}{suffix}")
        assert response.status_code == 200, response.get_data(as_text=True)
        body = response.get_json()
        assert len(body["items"]) <= limit
        seen += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return seen


def test_cursor_pages_walk_10000_trades_once_each_newest_first(api_site):
    uid = api_site.plan_user()
    bid = api_site.bot(uid)
    other = api_site.bot(api_site.plan_user(), name="theirs")
    add_trades(api_site, bid, COUNT)
    add_trades(api_site, other, 50, start_id=COUNT)
    api = api_site.api(api_site.token(uid, "read"))
    trades = walk(api, "", 500)
    assert len(trades) == COUNT and len({t["id"] for t in trades}) == COUNT
    keys = [(t["time"], t["id"]) for t in trades]
    assert keys == sorted(keys, reverse=True)
    assert {t["bot_id"] for t in trades} == {bid}


def test_filters_apply_to_every_page(api_site):
    uid = api_site.plan_user()
    bid = api_site.bot(uid)
    add_trades(api_site, bid, 600)
    api = api_site.api(api_site.token(uid, "read"))
    closes = walk(api, f"&bot_id={bid}&symbol=btcusdt&action=CLOSE", 37)
    expected = [n for n in range(600) if n % 2 and n % 3 == 0]
    assert len(closes) == len(expected)
    assert all(t["symbol"] == "BTCUSDT" and t["action"] == "CLOSE" for t in closes)


@pytest.mark.parametrize(
    "query", ["cursor=not-ours", "limit=0", "limit=501", "limit=²", "side=Up", "start=yesterday"]
)
def test_bad_query_values_are_422_problems(api_site, query):
    uid = api_site.plan_user()
    response = api_site.api(api_site.token(uid, "read")).get(f"/trades?{query}")
    assert response.status_code == 422 and response.mimetype == "application/problem+json"


def test_another_users_bot_as_a_filter_is_a_404(api_site):
    uid = api_site.plan_user()
    theirs = api_site.bot(api_site.plan_user())
    response = api_site.api(api_site.token(uid, "read")).get(f"/trades?bot_id={theirs}")
    assert response.status_code == 404
