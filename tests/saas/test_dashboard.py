"""The overview and a bot's dashboard: every figure against an independent count of the trades."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from saas.models import BotLog, BotRun
from tests.fixtures.dashboard import (
    expected_equity,
    expected_max_drawdown,
    expected_open_positions,
    expected_totals,
)

CENT = Decimal("0.01")


def text(response) -> str:
    """The body as text."""
    return response.get_data(as_text=True)


def figure(page: str, element_id: str) -> str:
    """The visible text of the element with this id (tags stripped)."""
    found = re.search(rf'id="{element_id}"[^>]*>(.*?)</(strong|dd)>', page, re.S)
    assert found, f"no #{element_id} on the page"
    return re.sub(r"<[^>]+>", "", found.group(1)).strip()


def amount(shown: str) -> Decimal:
    """ "+1,234.56" / "12.3 %" -> Decimal."""
    return Decimal(shown.replace(",", "").replace("%", "").strip())


def near(shown: str, value: Decimal, places: int = 2) -> bool:
    """A figure rounded to ``places`` matches the value (one unit of rounding either way)."""
    return abs(amount(shown) - value) <= Decimal(1).scaleb(-places)


@pytest.fixture
def world(dash):
    """An owner with three bots (two pairs each, four months of fills) and a stranger with two."""
    owner, stranger = dash.user(), dash.user()
    bots, rows = {}, []
    for n, (user, name) in enumerate(
        [
            (owner, "Alpha"),
            (owner, "Beta"),
            (owner, "Gamma"),
            (stranger, "Zeta"),
            (stranger, "Omega"),
        ],
        start=1,
    ):
        bid = dash.bot(user, name=name)
        dash.pair(bid, "BTCUSDT", "Long")
        dash.pair(bid, "ETHUSDT" if n % 2 else "SOLUSDT", "Short", leverage=Decimal(5))
        rows += dash.history(bid, days=120, per_day=8, seed=n)
        bots[name] = bid
    mine = [r for r in rows if r["bot_id"] in (bots["Alpha"], bots["Beta"], bots["Gamma"])]
    return dash, owner, stranger, bots, mine


def test_the_overview_figures_match_the_trades(world):
    dash, owner, _, _, mine = world
    today = datetime.now(UTC).date()
    page = text(dash.client(owner).get("/dashboard/"))
    want, today_want = expected_totals(mine), expected_totals(mine, today)
    equity = expected_equity(mine, today)
    assert len(mine) > 2000
    assert near(figure(page, "figure-equity"), equity[today])
    assert near(figure(page, "figure-net"), want.net)
    assert near(figure(page, "figure-today"), today_want.net)
    assert near(figure(page, "figure-win-rate"), want.win_rate, 1)
    assert figure(page, "figure-positions") == str(len(expected_open_positions(mine)))
    assert f"{want.wins} of {want.closes} reduces and closes" in page
    assert f"{len(mine)} trades in all" in page


def test_the_overview_json_has_the_equity_pnl_and_drawdown_series(world):
    dash, owner, _, _, mine = world
    today = datetime.now(UTC).date()
    data = dash.client(owner).get("/dashboard/overview.json").get_json()
    equity = expected_equity(mine, today)
    assert data["equity"]["x"] == [day.isoformat() for day in sorted(equity)]
    assert all(
        abs(Decimal(str(got)) - equity[day]) < CENT
        for got, day in zip(data["equity"]["equity"], sorted(equity), strict=True)
    )
    worst = expected_max_drawdown(equity)
    assert abs(Decimal(str(min(data["drawdown"]["pct"]))) - worst) < Decimal("0.0001")
    want = expected_totals(mine)
    assert abs(Decimal(data["totals"]["net"]) - want.net) < Decimal("0.000001")
    assert data["totals"]["trades"] == len(mine)
    daily = dict(zip(data["daily_pnl"]["x"], data["daily_pnl"]["net"], strict=True))
    some_day = sorted(daily)[len(daily) // 2]
    day_want = expected_totals(mine, datetime.fromisoformat(some_day).date())
    assert abs(Decimal(str(daily[some_day])) - day_want.net) < CENT


def test_the_overview_shows_only_the_users_own_bots(world):
    dash, owner, stranger, _, _ = world
    page = text(dash.client(owner).get("/dashboard/"))
    assert "Alpha" in page and "Gamma" in page
    assert "Zeta" not in page and "Omega" not in page
    other = text(dash.client(stranger).get("/dashboard/"))
    assert "Zeta" in other and "Alpha" not in other


def test_the_last_twenty_trades_are_the_newest_across_the_users_bots(world):
    dash, owner, _, _, mine = world
    page = text(dash.client(owner).get("/dashboard/"))
    table = page.split("Last 20 trades", 1)[1].split("</table>", 1)[0]
    shown = re.findall(r'<time datetime="([^"]+)"', table)
    newest = sorted(mine, key=lambda r: r["time"], reverse=True)[:20]
    assert shown == [r["time"].astimezone(UTC).isoformat() for r in newest]


def _trade(bid, pid, cid, when, level, *, size="0.05", side="Long", symbol="BTCUSDT"):
    """A fill leaving a position open with this margin level."""
    return {
        "bot_id": bid,
        "pair_id": pid,
        "client_order_id": cid,
        "time": when,
        "symbol": symbol,
        "side": side,
        "action": "ADD",
        "qty": Decimal("0.01"),
        "price": Decimal(28000),
        "fee": Decimal("0.1"),
        "pnl": Decimal(0),
        "position_size": Decimal(size),
        "position_value": Decimal(150),
        "pnl_percentage": Decimal(-40),
        "margin_level": Decimal(level),
        "balance_after": Decimal(900),
    }


def test_open_positions_are_coloured_by_margin_level_and_low_ones_raise_alerts(dash):
    uid = dash.user()
    bid = dash.bot(uid, name="Risky")
    amber, red, calm = dash.pair(bid), dash.pair(bid, "ETHUSDT"), dash.pair(bid, "SOLUSDT")
    now = datetime.now(UTC) - timedelta(minutes=5)
    dash.trades(
        [
            _trade(bid, amber, "r-1", now, "1.8"),
            _trade(bid, red, "r-2", now, "1.2", symbol="ETHUSDT"),
            _trade(bid, calm, "r-3", now, "12", symbol="SOLUSDT"),
        ]
    )
    page = text(dash.client(uid).get("/dashboard/"))
    positions = page.split("<h2>Open positions</h2>", 1)[1].split("</table>", 1)[0]
    assert re.search(r"BTCUSDT Long.*?dash-risk-warning[^>]*>1\.8<", positions, re.S)
    assert re.search(r"ETHUSDT Long.*?dash-risk-danger[^>]*>1\.2<", positions, re.S)
    assert re.search(r"SOLUSDT Long.*?dash-risk-ok[^>]*>12<", positions, re.S)
    alerts = page.split('aria-label="Alerts"', 1)[1].split("</section>", 1)[0]
    assert "margin level 1.2 on ETHUSDT Long" in alerts and "1.8" not in alerts


def test_alerts_name_bots_in_error_failed_runs_and_margin_warnings_of_the_last_run(dash):
    uid = dash.user()
    broken = dash.bot(uid, name="Broken", status="error", last_error="bybit: invalid key")
    failing = dash.bot(uid, name="Failing", last_outcome="error", last_error="timeout")
    warned = dash.bot(uid, name="Warned")
    dash.pair(warned, alert_keys=["margin_warning"])
    dash.bot(uid, name="Quiet", last_outcome="ok")
    page = text(dash.client(uid).get("/dashboard/"))
    alerts = page.split('aria-label="Alerts"', 1)[1].split("</section>", 1)[0]
    assert f'href="/dashboard/bots/{broken}">Broken</a>: in error: bybit: invalid key' in alerts
    assert f'href="/dashboard/bots/{failing}">Failing</a>: last run failed: timeout' in alerts
    assert "margin warning on BTCUSDT Long at its last run" in alerts
    assert "Quiet" not in alerts


def test_bot_cards_show_status_and_the_last_and_next_run(dash):
    uid = dash.user()
    last = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    upcoming = last + timedelta(minutes=5)
    dash.bot(uid, name="Runner", last_run_at=last, next_run_at=upcoming, last_outcome="ok")
    dash.bot(uid, name="Sleeper", status="paused")
    page = text(dash.client(uid).get("/dashboard/"))
    assert "1 running, 1 paused, 0 stopped, 0 in error." in page
    card = page.split(">Runner</a>", 1)[1].split("</article>", 1)[0]
    assert "dash-status-running" in card
    assert "2026-03-01 09:30 UTC</time> (ok)" in card and "2026-03-01 09:35 UTC" in card


def test_a_new_user_sees_empty_states_not_errors(dash):
    uid = dash.user()
    client = dash.client(uid)
    page = text(client.get("/dashboard/"))
    assert "You have no bots yet." in page and "No open positions." in page
    assert 'data-empty="No equity yet' in page
    data = client.get("/dashboard/overview.json").get_json()
    assert data["equity"]["x"] == data["daily_pnl"]["x"] == data["drawdown"]["x"] == []
    assert data["totals"]["win_rate"] is None


def test_the_bot_page_metrics_match_the_bots_trades(world):
    dash, owner, _, bots, mine = world
    bid = bots["Beta"]
    fills = [r for r in mine if r["bot_id"] == bid]
    page = text(dash.client(owner).get(f"/dashboard/bots/{bid}"))
    want = expected_totals(fills)
    assert figure(page, "metric-trades") == str(len(fills))
    assert near(figure(page, "metric-win-rate"), want.win_rate, 1)
    assert near(figure(page, "metric-realised"), want.realised)
    assert near(figure(page, "metric-fees"), want.fees)
    assert near(figure(page, "metric-net"), want.net)
    worst = expected_max_drawdown(expected_equity(fills, datetime.now(UTC).date()))
    assert near(figure(page, "metric-drawdown"), worst)


def test_the_bot_charts_json_has_its_equity_and_every_fills_margin(world):
    dash, owner, _, bots, mine = world
    bid = bots["Alpha"]
    fills = [r for r in mine if r["bot_id"] == bid]
    data = dash.client(owner).get(f"/dashboard/bots/{bid}/charts.json").get_json()
    equity = expected_equity(fills, datetime.now(UTC).date())
    assert len(data["equity"]["x"]) == len(equity)
    assert abs(Decimal(str(data["equity"]["equity"][-1])) - equity[max(equity)]) < CENT
    assert sum(len(line["x"]) for line in data["margin"].values()) == len(fills)
    btc = [r for r in sorted(fills, key=lambda r: r["time"]) if r["symbol"] == "BTCUSDT"]
    levels = data["margin"]["BTCUSDT Long"]["level"]
    assert levels == [float(r["margin_level"]) if r["position_size"] else None for r in btc]


def test_the_bot_page_shows_each_pairs_last_conclusion_and_expands_failed_runs(dash):
    uid = dash.user()
    bid = dash.bot(uid)
    btc, eth = dash.pair(bid), dash.pair(bid, "ETHUSDT", "Short")
    t0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    dash.add(
        BotRun(bot_id=bid, started_at=t0, outcome="error", conclusions={str(btc): "bybit: timeout"})
    )
    dash.add(
        BotRun(
            bot_id=bid,
            started_at=t0 + timedelta(minutes=5),
            outcome="ok",
            conclusions={
                str(btc): "Waiting for dip: price 30000 above 1h EMA100",
                str(eth): "Nothing changed",
            },
        )
    )
    dash.add(
        BotLog(
            bot_id=bid,
            level="error",
            message="order rejected",
            fields={"code": 10001},
            created_at=t0,
        )
    )
    page = text(dash.client(uid).get(f"/dashboard/bots/{bid}"))
    assert re.search(rf'data-conclusion-for="{btc}">Waiting for dip: price 30000', page)
    assert f'data-conclusion-for="{eth}">Nothing changed<' in page
    runs = page.split("<h2>Run log</h2>", 1)[1]
    assert re.search(r"<details open>\s*<summary>.*?<strong>error</strong>", runs, re.S)
    assert re.search(r"<details>\s*<summary>.*?<strong>ok</strong>", runs, re.S)
    assert "BTCUSDT Long: bybit: timeout" in runs
    log = runs.split("<h3>Log</h3>", 1)[1]
    assert "order rejected" in log and '"code": 10001' in log


def test_the_status_json_carries_what_the_page_refreshes(dash):
    uid = dash.user()
    when = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    bid = dash.bot(uid, status="paused", last_run_at=when, last_outcome="ok")
    pid = dash.pair(bid)
    dash.add(BotRun(bot_id=bid, started_at=when, outcome="ok", conclusions={str(pid): "Added"}))
    data = dash.client(uid).get(f"/dashboard/bots/{bid}/status.json").get_json()
    assert data["status"] == "paused" and data["last_outcome"] == "ok"
    assert data["last_run_at"] == "2026-03-02T12:00:00+00:00" and data["next_run_at"] is None
    assert data["conclusions"] == {str(pid): "Added"}


def test_the_panel_partial_renders_with_only_the_bot_in_its_context(dash):
    """B's bots.detail page can include it as it is."""
    from flask import render_template_string
    from flask_login import login_user

    from saas.extensions import db
    from saas.models import Bot, User

    uid = dash.user()
    bid = dash.bot(uid, status="running")
    dash.pair(bid)
    with dash.app.test_request_context(f"/bots/{bid}"):
        login_user(db.session.get(User, uid))
        html = render_template_string(
            '{% include "dashboard/_bot_panel.html" %}', bot=db.session.get(Bot, bid)
        )
    assert f'data-status-src="/dashboard/bots/{bid}/status.json"' in html
    assert "Backtest these settings" in html and 'id="metric-trades">0<' in html
    assert f'action="/bots/{bid}/pause"' in html and f'action="/bots/{bid}/stop"' in html
    assert '<script src="/static/dashboard.js" defer></script>' in html  # it polls by itself
    assert 'href="/static/dashboard.css"' in html


def breakdown_rows(page: str, heading: str) -> dict[str, list[str]]:
    """A breakdown table of the analytics page: label -> the texts of its other cells."""
    table = page.split(f"<h2>{heading}</h2>", 1)[1].split("</table>", 1)[0]
    rows = {}
    for label, cells in re.findall(r"<tr>\s*<td>([^<]+)</td>(.*?)</tr>", table, re.S):
        rows[label] = [
            re.sub(r"<[^>]+>", "", c).strip()
            for c in re.findall(r"<td[^>]*>(.*?)</td>", cells, re.S)
        ]
    return rows


def test_analytics_break_the_figures_down_by_symbol_and_by_bot(world):
    dash, owner, _, bots, mine = world
    page = text(dash.client(owner).get("/dashboard/analytics"))
    by_symbol = {
        f"{s} {side}": [r for r in mine if (r["symbol"], r["side"]) == (s, side)]
        for s, side in sorted({(r["symbol"], r["side"]) for r in mine})
    }
    by_bot = {
        name: [r for r in mine if r["bot_id"] == bots[name]] for name in ("Alpha", "Beta", "Gamma")
    }
    for heading, groups in (("By symbol", by_symbol), ("By bot", by_bot)):
        shown = breakdown_rows(page, heading)
        assert list(shown) == list(groups)
        for label, (trades, closes, win_rate, _, realised, _, net) in shown.items():
            want = expected_totals(groups[label])
            assert (trades, closes) == (str(want.trades), str(want.closes))
            assert near(win_rate, want.win_rate, 1)
            assert near(realised, want.realised) and near(net, want.net)
    assert "Zeta" not in page


def test_analytics_json_of_one_bot_has_its_drawdown_and_symbols(world):
    dash, owner, _, bots, mine = world
    fills = [r for r in mine if r["bot_id"] == bots["Gamma"]]
    data = dash.client(owner).get(f"/dashboard/analytics.json?bot={bots['Gamma']}").get_json()
    worst = expected_max_drawdown(expected_equity(fills, datetime.now(UTC).date()))
    assert abs(Decimal(str(min(data["drawdown"]["pct"]))) - worst) < Decimal("0.0001")
    labels = {item["label"]: item for item in data["symbols"]}
    assert set(labels) == {f"{r['symbol']} {r['side']}" for r in fills}
    btc = expected_totals([r for r in fills if r["symbol"] == "BTCUSDT"])
    assert abs(Decimal(str(labels["BTCUSDT Long"]["net"])) - btc.net) < CENT
