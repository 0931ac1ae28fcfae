"""bot_daily_stats: rebuilt from trades, dense through today, refreshed only when trades change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from saas.models import BotDailyStat, Trade
from saas.services.insights import stats
from tests.fixtures.dashboard import (
    expected_equity,
    expected_open_positions,
    expected_totals,
)

TOLERANCE = Decimal("0.000001")  # SQLite sums floats; PostgreSQL is exact


def close(a, b) -> bool:
    """Equal to within TOLERANCE (None only equals None)."""
    if a is None or b is None:
        return a is b
    return abs(Decimal(a) - Decimal(b)) <= TOLERANCE


def run(dash, work):
    """``work(session)`` in an app context, committed; its result."""
    from saas.extensions import db

    with dash.app.app_context():
        result = work(db.session)
        db.session.commit()
        return result


def rows_of(dash, bot_id: int) -> list[BotDailyStat]:
    """The bot's daily rows, oldest first (detached)."""

    def read(session):
        found = session.scalars(
            select(BotDailyStat).where(BotDailyStat.bot_id == bot_id).order_by(BotDailyStat.day)
        ).all()
        for row in found:
            session.expunge(row)
        return found

    return run(dash, read)


@pytest.fixture
def seeded(dash):
    """Two bots of one user (two pairs each), ninety days of fills ending now."""
    uid = dash.user()
    bots, rows = [], []
    for seed in (1, 2):
        bid = dash.bot(uid)
        dash.pair(bid, "BTCUSDT", "Long")
        dash.pair(bid, "ETHUSDT", "Short", leverage=Decimal(5))
        rows += dash.history(bid, days=90, per_day=15, seed=seed)
        bots.append(bid)
    return dash, uid, bots, rows


def test_each_days_row_sums_that_days_trades_of_the_bot(seeded):
    dash, uid, bots, rows = seeded
    today = datetime.now(UTC).date()
    assert run(dash, lambda s: stats.ensure_fresh(s, uid, today)) > 0
    for bid in bots:
        mine = [r for r in rows if r["bot_id"] == bid]
        first = min(r["time"] for r in mine).astimezone(UTC).date()
        days = rows_of(dash, bid)
        span = (today - first).days + 1
        assert [d.day for d in days] == [first + timedelta(n) for n in range(span)]
        for row in days:
            want = expected_totals(mine, row.day)
            assert (row.trades, row.closes, row.wins) == (want.trades, want.closes, want.wins)
            assert close(row.realised_pnl, want.realised) and close(row.fees, want.fees)
        assert sum(d.trades for d in days) == len(mine)


def test_equity_at_each_days_end_is_balance_plus_the_open_positions_pnl(seeded):
    dash, uid, bots, rows = seeded
    today = datetime.now(UTC).date()
    run(dash, lambda s: stats.ensure_fresh(s, uid, today))
    for bid in bots:
        mine = [r for r in rows if r["bot_id"] == bid]
        want = expected_equity(mine, today)
        got = {d.day: d.equity for d in rows_of(dash, bid)}
        assert set(got) == set(want)
        assert all(close(got[day], want[day]) for day in want)


def test_the_newest_row_holds_the_positions_still_open(seeded):
    dash, uid, bots, rows = seeded
    run(dash, lambda s: stats.ensure_fresh(s, uid, datetime.now(UTC).date()))
    want = expected_open_positions(rows)
    for bid in bots:
        newest = rows_of(dash, bid)[-1]
        mine = {(s, side): r for (b, s, side), r in want.items() if b == bid}
        assert set(newest.positions) == {f"{s}/{side}" for s, side in mine}
        for (symbol, side), fill in mine.items():
            held = newest.positions[f"{symbol}/{side}"]
            assert close(held["size"], fill["position_size"])
            assert close(held["margin"], fill["position_value"])
            assert close(held["margin_level"], fill["margin_level"])
        assert close(newest.margin, sum((f["position_value"] for f in mine.values()), Decimal(0)))


def test_nothing_is_rebuilt_until_a_new_trade_arrives(seeded):
    dash, uid, bots, rows = seeded
    today = datetime.now(UTC).date()
    run(dash, lambda s: stats.ensure_fresh(s, uid, today))
    assert run(dash, lambda s: stats.ensure_fresh(s, uid, today)) == 0
    before = {d.day: d.updated_at for d in rows_of(dash, bots[0])}
    last = max((r for r in rows if r["bot_id"] == bots[0]), key=lambda r: r["time"])
    late = {
        **last,
        "client_order_id": "late-1",
        "time": datetime.now(UTC),
        "action": "CLOSE",
        "pnl": Decimal("12.5"),
        "fee": Decimal("0.5"),
        "position_size": Decimal(0),
        "position_value": Decimal(0),
        "pnl_percentage": None,
        "margin_level": None,
        "balance_after": last["balance_after"] + 12,
    }
    dash.trades([late])
    written = run(dash, lambda s: stats.ensure_fresh(s, uid, today))
    after = rows_of(dash, bots[0])
    assert 1 <= written <= 2  # the day of the last counted trade and today, nothing older
    assert all(d.updated_at == before[d.day] for d in after if d.day < today - timedelta(1))
    assert close(after[-1].balance, late["balance_after"])
    assert f"{late['symbol']}/{late['side']}" not in after[-1].positions


def test_days_without_trades_carry_the_balance_and_positions_forward(dash):
    uid = dash.user()
    bid = dash.bot(uid)
    pid = dash.pair(bid)
    today = datetime.now(UTC).date()
    long_ago = datetime.now(UTC) - timedelta(days=10)
    dash.trades(
        [
            {
                "bot_id": bid,
                "pair_id": pid,
                "client_order_id": "only-1",
                "time": long_ago,
                "symbol": "BTCUSDT",
                "side": "Long",
                "action": "OPEN",
                "qty": Decimal("0.02"),
                "price": Decimal(30000),
                "fee": Decimal("0.33"),
                "pnl": Decimal(0),
                "position_size": Decimal("0.02"),
                "position_value": Decimal(60),
                "pnl_percentage": Decimal(-5),
                "margin_level": Decimal("18.5"),
                "balance_after": Decimal("999.67"),
            }
        ]
    )
    run(dash, lambda s: stats.ensure_fresh(s, uid, today))
    days = rows_of(dash, bid)
    assert len(days) == 11 and days[-1].day == today
    assert [d.trades for d in days] == [1] + [0] * 10
    assert all(close(d.equity, Decimal("999.67") - 3) for d in days)  # -5 % of 60 unrealised
    assert all(set(d.positions) == {"BTCUSDT/Long"} for d in days)


def test_refresh_daily_stats_recomputes_a_day_and_every_later_one(seeded):
    """The runner's hook: a trade booked late into an old day changes that day and the rest."""
    dash, uid, bots, rows = seeded
    today = datetime.now(UTC).date()
    run(dash, lambda s: stats.ensure_fresh(s, uid, today))
    old = min((r for r in rows if r["bot_id"] == bots[0]), key=lambda r: r["time"])
    day = old["time"].astimezone(UTC).date()
    before = {d.day: d for d in rows_of(dash, bots[0])}
    run(
        dash,
        lambda s: s.execute(
            update(Trade)
            .where(Trade.client_order_id == old["client_order_id"])
            .values(fee=old["fee"] + 100, balance_after=old["balance_after"] - 100)
        ),
    )
    written = run(dash, lambda s: stats.refresh_daily_stats(s, bots[0], day))
    after = {d.day: d for d in rows_of(dash, bots[0])}
    assert written == len(after) == len(before)
    assert close(after[day].fees, before[day].fees + 100)
    later = [d for d in after if d > day]
    assert all(after[d].updated_at >= before[d].updated_at for d in later)


def test_a_full_rebuild_matches_the_incremental_rows(seeded):
    dash, uid, bots, _ = seeded
    today = datetime.now(UTC).date()
    run(dash, lambda s: stats.ensure_fresh(s, uid, today))
    incremental = [(d.day, d.trades, d.equity, d.positions) for d in rows_of(dash, bots[1])]
    run(dash, lambda s: stats.rebuild_bot_stats(s, bots[1], today))
    rebuilt = [(d.day, d.trades, d.equity, d.positions) for d in rows_of(dash, bots[1])]
    assert rebuilt == incremental


def test_a_bot_without_trades_gets_no_rows(dash):
    uid = dash.user()
    bid = dash.bot(uid)
    assert run(dash, lambda s: stats.ensure_fresh(s, uid, datetime.now(UTC).date())) == 0
    assert rows_of(dash, bid) == []


def test_another_users_bots_are_left_alone(seeded):
    dash, _, bots, _ = seeded
    stranger = dash.user()
    assert run(dash, lambda s: stats.ensure_fresh(s, stranger, datetime.now(UTC).date())) == 0
    assert rows_of(dash, bots[0]) == []
