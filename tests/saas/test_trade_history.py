"""Trade history: filters, server-side pages without gaps, and the streamed CSV export."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import delete

from saas.models import Trade
from saas.services.insights import stats, trade_history
from saas.services.insights.trade_history import TradeFilter


def in_app(dash, work):
    """``work(session)`` in an app context, committed; its result."""
    from saas.extensions import db

    with dash.app.app_context():
        result = work(db.session)
        db.session.commit()
        return result


@pytest.fixture
def history(dash):
    """A user with two bots (three pairs) and two months of fills; a stranger with one bot."""
    owner, stranger = dash.user(), dash.user()
    alpha, beta, other = (
        dash.bot(owner, name="Alpha"),
        dash.bot(owner, name="Beta"),
        dash.bot(stranger, name="Other"),
    )
    dash.pair(alpha, "BTCUSDT", "Long")
    dash.pair(alpha, "ETHUSDT", "Short")
    dash.pair(beta, "BTCUSDT", "Short")
    dash.pair(other, "BTCUSDT", "Long")
    rows = dash.history(alpha, days=60, per_day=20, seed=4)
    rows += dash.history(beta, days=45, per_day=15, seed=5)
    dash.history(other, days=30, per_day=10, seed=6)
    return dash, owner, {"Alpha": alpha, "Beta": beta, "Other": other}, rows


def newest_first(rows):
    return sorted(rows, key=lambda r: r["time"], reverse=True)


def matching(rows, f: TradeFilter):
    """The rows a filter keeps, computed in Python."""

    def keep(r):
        day = r["time"].astimezone(UTC).date()
        return (
            (f.bot_id is None or r["bot_id"] == f.bot_id)
            and (f.symbol is None or r["symbol"] == f.symbol)
            and (f.side is None or r["side"] == f.side)
            and (f.action is None or r["action"] == f.action)
            and (f.start is None or day >= f.start)
            and (f.end is None or day <= f.end)
        )

    return [r for r in rows if keep(r)]


def all_pages(dash, owner, f: TradeFilter) -> list[str]:
    """Client order ids of every page of a filter, in page order."""

    def read(session, page):
        result = trade_history.trade_page(session, owner, replace(f, page=page))
        return [trade.client_order_id for trade, _ in result.rows], result.has_next

    seen, page = [], 1
    while True:
        ids, more = in_app(dash, lambda s, page=page: read(s, page))
        seen += ids
        if not more:
            return seen
        page += 1


def filters(bots) -> list[TradeFilter]:
    today = datetime.now(UTC).date()
    return [
        TradeFilter(per_page=100),
        TradeFilter(bot_id=bots["Alpha"], per_page=150),
        TradeFilter(symbol="BTCUSDT", side="Long", per_page=120),
        TradeFilter(action="CLOSE", per_page=70),
        TradeFilter(start=today - timedelta(days=20), end=today - timedelta(days=5), per_page=90),
        TradeFilter(bot_id=bots["Beta"], action="ADD", start=today - timedelta(days=30)),
    ]


def test_pages_walk_every_filtered_trade_newest_first_without_gaps(history):
    dash, owner, bots, rows = history
    in_app(dash, lambda s: stats.ensure_fresh(s, owner, datetime.now(UTC).date()))
    for f in filters(bots):
        want = [r["client_order_id"] for r in newest_first(matching(rows, f))]
        assert want, f
        assert all_pages(dash, owner, f) == want


def test_pages_stay_complete_when_the_daily_counts_are_behind(history):
    """Counts say there are trades that are gone, and miss new ones: pages are still right."""
    dash, owner, bots, rows = history
    in_app(dash, lambda s: stats.ensure_fresh(s, owner, datetime.now(UTC).date()))
    cutoff = datetime.now(UTC) - timedelta(days=2)
    gone = {
        r["client_order_id"] for r in rows if r["time"] > cutoff and r["bot_id"] == bots["Beta"]
    }
    in_app(dash, lambda s: s.execute(delete(Trade).where(Trade.client_order_id.in_(gone))))
    kept = [r for r in rows if r["client_order_id"] not in gone]
    extra = dash.trades(
        [
            {
                **kept[-1],
                "client_order_id": f"new-{n}",
                "time": datetime.now(UTC) - timedelta(seconds=n),
            }
            for n in range(1, 30)
        ]
    )
    everything = kept + extra
    f = TradeFilter(per_page=60)
    assert all_pages(dash, owner, f) == [r["client_order_id"] for r in newest_first(everything)]


def test_the_page_lists_the_filtered_trades_and_links_to_older_ones(history):
    dash, owner, bots, rows = history
    client = dash.client(owner)
    page = client.get(f"/dashboard/trades?bot={bots['Alpha']}&side=short&action=add")
    body = page.get_data(as_text=True)
    want = newest_first(
        [
            r
            for r in rows
            if r["bot_id"] == bots["Alpha"] and r["side"] == "Short" and r["action"] == "ADD"
        ]
    )
    assert page.status_code == 200
    assert body.count("<tr>") - 1 == min(50, len(want))  # rows plus the header
    assert f'<option value="{bots["Alpha"]}" selected>Alpha</option>' in body
    older = f"/dashboard/trades?bot={bots['Alpha']}&amp;side=Short&amp;action=ADD&amp;page=2"
    assert f'href="{older}"' in body
    assert "Other" not in body.split("<table", 1)[1]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("side=up", "side must be one of Long, Short"),
        ("action=BUY", "action must be one of OPEN, ADD, REDUCE, CLOSE"),
        ("start=yesterday", "start must be a date"),
        ("start=2026-03-02&end=2026-03-01", "end must not be before start"),
        ("page=0", "page must be a whole number"),
        ("symbol=BTC-USDT", "symbol must be letters and digits"),
    ],
)
def test_a_bad_filter_is_refused_with_its_reason(dash_sqlite, query, message):
    uid = dash_sqlite.user()
    client = dash_sqlite.client(uid)
    page = client.get(f"/dashboard/trades?{query}")
    assert page.status_code == 400 and message in page.get_data(as_text=True)
    export = client.get(f"/dashboard/trades.csv?{query}")
    assert export.status_code == 400 and message in export.get_data(as_text=True)


def read_csv(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def test_the_csv_export_is_the_whole_filtered_set_oldest_first(history):
    dash, owner, bots, rows = history
    start = datetime.now(UTC).date() - timedelta(days=40)
    response = dash.client(owner).get(
        f"/dashboard/trades.csv?bot={bots['Alpha']}&symbol=btcusdt&start={start}"
    )
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith(
        f'attachment; filename="trades-bot{bots["Alpha"]}-BTCUSDT-'
    )
    got = read_csv(response)
    want = sorted(
        matching(rows, TradeFilter(bot_id=bots["Alpha"], symbol="BTCUSDT", start=start)),
        key=lambda r: r["time"],
    )
    assert [g["client_order_id"] for g in got] == [r["client_order_id"] for r in want]
    for g, r in zip(got, want, strict=True):
        assert g["bot"] == "Alpha" and g["action"] == r["action"]
        assert Decimal(g["qty"]) == r["qty"] and Decimal(g["price"]) == r["price"]
        assert Decimal(g["fee"]) == r["fee"] and Decimal(g["realised_pnl"]) == r["pnl"]
        assert datetime.fromisoformat(g["time"]) == r["time"]
        assert g["margin_level"] == (
            "" if r["margin_level"] is None else format(r["margin_level"].normalize(), "f")
        )


def test_the_csv_is_streamed_in_batches(history, monkeypatch):
    dash, owner, _, rows = history
    monkeypatch.setattr(trade_history, "STREAM_BATCH", 100)
    response = dash.client(owner).get("/dashboard/trades.csv")
    assert response.is_streamed
    chunks = list(response.response)
    response.close()
    assert len(chunks) == 1 + -(-len(rows) // 100)  # the header, then one chunk per batch
    assert sum(chunk.count(b"\n") for chunk in chunks) == len(rows) + 1


def test_text_a_spreadsheet_would_run_is_quoted_in_the_csv(dash):
    uid = dash.user()
    bid = dash.bot(uid, name='=HYPERLINK("http://x")')
    pid = dash.pair(bid)
    dash.trades(
        [
            {
                "bot_id": bid,
                "pair_id": pid,
                "client_order_id": "c-1",
                "time": datetime(2026, 3, 2, 12, 0, tzinfo=UTC),
                "symbol": "BTCUSDT",
                "side": "Long",
                "action": "OPEN",
                "qty": Decimal("0.5"),
                "price": Decimal("30000.5"),
                "fee": Decimal("0.00825"),
                "pnl": Decimal(0),
                "position_size": Decimal("0.5"),
                "position_value": Decimal("1500.025"),
                "pnl_percentage": Decimal("-1.25"),
                "margin_level": None,
                "balance_after": Decimal("998.5"),
            }
        ]
    )
    (row,) = read_csv(dash.client(uid).get("/dashboard/trades.csv"))
    assert row["bot"] == '\'=HYPERLINK("http://x")'
    assert (row["qty"], row["price"], row["fee"], row["pnl_percentage"]) == (
        "0.5",
        "30000.5",
        "0.00825",
        "-1.25",
    )
    assert row["time"] == "2026-03-02T12:00:00.000000Z" and row["margin_level"] == ""


def test_the_filename_names_what_the_export_holds():
    f = TradeFilter(bot_id=7, symbol="ETHUSDT")
    assert trade_history.csv_filename(f, date(2026, 3, 2)) == "trades-bot7-ETHUSDT-2026-03-02.csv"
    assert trade_history.csv_filename(TradeFilter(), date(2026, 3, 2)) == "trades-2026-03-02.csv"
