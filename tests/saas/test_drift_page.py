"""The live-versus-backtest page of a bot: the replay of its week and each divergence."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

from saas.dashboard.common import now
from saas.models import Order


def test_the_drift_page_replays_the_week_and_lists_an_order_the_replay_did_not_make(dash_sqlite):
    dash = dash_sqlite
    uid = dash.user()
    bid = dash.bot(uid)
    # A margin cap so small that the replay never opens: the bot's one order is the difference.
    pid = dash.pair(bid, "BTCUSDT", "Long", strategy_params={"max_margin_pct": "0.000001"})
    client = dash.client(uid)
    with client.application.app_context():
        when = now() - timedelta(days=1)
    dash.add(
        Order(
            bot_id=bid,
            pair_id=pid,
            client_order_id=f"b{bid}-p{pid}-77-1",
            symbol="BTCUSDT",
            side="Long",
            action="OPEN",
            order_side="Buy",
            qty=Decimal("0.001"),
            price=Decimal("1.0"),  # far from any price the replay would bid
            status="rejected",
            error="simulated refusal",
            created_at=when,
        )
    )
    page = client.get(f"/dashboard/bots/{bid}/drift").get_data(as_text=True)
    assert "Live versus backtest" in page
    assert 'id="live-orders">1<' in page
    assert "The replay starts flat" in page
    assert 'id="replay-orders">0<' in page
    assert re.search(
        r"live OPEN 0\.0010* @ 1(\.0*)? \(refused\); replay nothing: different decision", page
    )
    assert '<td class="cause">different decision</td>' in page
    assert "BTCUSDT Long" in page


def test_another_users_bot_has_no_drift_page(dash_sqlite):
    dash = dash_sqlite
    owner, other = dash.user(), dash.user()
    bid = dash.bot(owner)
    dash.pair(bid)
    assert dash.client(other).get(f"/dashboard/bots/{bid}/drift").status_code == 404
