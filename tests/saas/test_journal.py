"""The database journal: durable intents, one trade per order, runs, logs, alerts and the lock."""

from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest
from sqlalchemy import select

from clients.base import NEW
from saas.db import make_session_factory
from saas.models import BotLog, BotRun, Order, TradingPair
from saas.services.runs.journal import DatabaseJournal
from tests.fixtures.database import gen_bot, gen_pair, gen_user
from tests.workflows.scenario import Rig
from workflows import journal as j
from workflows.journal import OrderRecord, RunRecord, TradeRecord
from workflows.trading import OK, TradingWorkflow

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
def bot_with_pair(db_session):
    """A bot with one pair, committed; (bot id, pair id)."""
    bot = gen_bot(db_session, gen_user(db_session))
    pair = gen_pair(db_session, bot)
    db_session.commit()
    return bot.id, pair.id


@pytest.fixture
def journal(db_engine, bot_with_pair):
    """The journal of that bot, with a fixed clock."""
    return DatabaseJournal(db_engine, bot_with_pair[0], clock=lambda: NOW)


def intent(pair_id, run_id, n=1, **fields):
    """A pending OPEN order record."""
    values = dict(
        client_order_id=f"b1-p{pair_id}-{run_id}-{n}",
        pair_key=str(pair_id),
        symbol="BTCUSDT",
        side="Long",
        action="OPEN",
        order_side="Buy",
        qty=D("0.012"),
        price=D("29999.9"),
        status=j.PENDING,
        run_id=run_id,
        created_at=NOW,
        post_only=True,
        reason="dip",
        ref_entry_price=None,
        ref_margin=None,
    )
    return OrderRecord(**(values | fields))


def test_an_intent_is_committed_before_the_order_is_sent(journal, db_engine, bot_with_pair):
    run_id = journal.start_run(NOW)
    journal.record_intent(intent(bot_with_pair[1], run_id))
    with make_session_factory(db_engine)() as other:  # another connection sees it at once
        row = other.scalars(select(Order)).one()
    assert (row.status, row.qty, row.price, row.run_id) == (
        "pending",
        D("0.012"),
        D("29999.9"),
        int(run_id),
    )


def test_orders_read_back_exactly_and_unsettled_ones_are_listed(journal, bot_with_pair):
    pair_id = bot_with_pair[1]
    run_id = journal.start_run(NOW)
    pending, filled = intent(pair_id, run_id, 1), intent(pair_id, run_id, 2)
    for record in (pending, filled):
        journal.record_intent(record)
    filled.status, filled.filled_qty, filled.avg_price = j.FILLED, D("0.012"), D("29999.9")
    filled.fee, filled.exchange_order_id, filled.updated_at = D("0.036"), "x-1", NOW
    journal.book_fill(filled, fill_trade(filled))
    assert [asdict(o) for o in journal.unsettled_orders(str(pair_id))] == [asdict(pending)]
    assert [asdict(o) for o in journal.orders()] == [asdict(pending), asdict(filled)]


def fill_trade(order: OrderRecord) -> TradeRecord:
    """The trade of a filled order record."""
    return TradeRecord(
        time=NOW,
        pair_key=order.pair_key,
        symbol=order.symbol,
        side=order.side,
        action=order.action,
        qty=order.filled_qty,
        price=order.avg_price,
        fee=order.fee,
        realised_pnl=D(0),
        client_order_id=order.client_order_id,
    )


def test_a_filled_order_without_its_trade_is_listed_until_booked(journal, bot_with_pair):
    """A run killed between "filled" and its trade (old rows) leaves it for reconciliation."""
    pair_id = bot_with_pair[1]
    run_id = journal.start_run(NOW)
    filled = intent(pair_id, run_id, 1)
    journal.record_intent(filled)
    filled.status, filled.filled_qty, filled.avg_price = j.FILLED, D("0.012"), D("29999.9")
    journal.update_order(filled)  # the status alone, as a run killed in between left it
    assert [o.client_order_id for o in journal.unsettled_orders(str(pair_id))] == [
        filled.client_order_id
    ]
    assert journal.book_fill(filled, fill_trade(filled)) is True
    assert journal.book_fill(filled, fill_trade(filled)) is False  # a retry never books twice
    assert journal.unsettled_orders(str(pair_id)) == []
    assert [t.client_order_id for t in journal.trades()] == [filled.client_order_id]


def test_a_trade_is_written_once_per_client_order_id(journal, bot_with_pair):
    pair_id = bot_with_pair[1]
    run_id = journal.start_run(NOW)
    journal.record_intent(intent(pair_id, run_id))
    trade = TradeRecord(
        time=NOW,
        pair_key=str(pair_id),
        symbol="BTCUSDT",
        side="Long",
        action="OPEN",
        qty=D("0.012"),
        price=D("29999.9"),
        fee=D("0.036"),
        realised_pnl=D(0),
        client_order_id=f"b1-p{pair_id}-{run_id}-1",
        position_size=D("0.012"),
        position_value=D("35.99988"),
        pnl_percentage=D("-0.5"),
        margin_level=D("123.45"),
        balance=D("999.96"),
    )
    assert journal.record_trade(trade) is True
    assert journal.record_trade(trade) is False
    assert [asdict(t) for t in journal.trades()] == [asdict(trade)]


def test_a_run_row_exists_from_its_start_and_is_completed_at_its_end(journal, db_session):
    run_id = journal.start_run(NOW)
    row = db_session.get(BotRun, int(run_id))
    assert (row.outcome, row.finished_at) == ("running", None)
    journal.log("warning", "order rejected", symbol="BTCUSDT", qty=D("0.5"))
    journal.finish_run(
        RunRecord(run_id, NOW, NOW + timedelta(milliseconds=250), OK, {"1": "Opened"})
    )
    db_session.expire_all()
    row = db_session.get(BotRun, int(run_id))
    assert (row.outcome, row.duration_ms, row.conclusions) == (OK, 250, {"1": "Opened"})
    log = db_session.scalars(select(BotLog)).one()
    assert (log.level, log.message, log.run_id, log.created_at) == (
        "warning",
        "order rejected",
        int(run_id),
        NOW,
    )
    assert log.fields == {"symbol": "BTCUSDT", "qty": "0.5"}


def test_alert_state_is_kept_on_the_pair(journal, bot_with_pair, db_session):
    pair_key = str(bot_with_pair[1])
    assert journal.active_alerts(pair_key) == set()
    journal.set_active_alerts(pair_key, {"order_skipped:cap", "margin_warning"})
    assert journal.active_alerts(pair_key) == {"order_skipped:cap", "margin_warning"}
    assert db_session.get(TradingPair, bot_with_pair[1]).alert_keys == [
        "margin_warning",
        "order_skipped:cap",
    ]


def test_the_bot_lock_is_exclusive_and_released(db_engine, bot_with_pair):
    first = DatabaseJournal(db_engine, bot_with_pair[0])
    second = DatabaseJournal(db_engine, bot_with_pair[0])
    other_bot = DatabaseJournal(db_engine, bot_with_pair[0] + 1)
    assert first.acquire_lock()
    try:
        assert not second.acquire_lock()
        assert other_bot.acquire_lock()  # one bot's run never blocks another bot
        other_bot.release_lock()
    finally:
        first.release_lock()
    assert second.acquire_lock()
    second.release_lock()


def rig_on(journal, folder, pair_id):
    """The workflow tests' scripted paper exchange, journaling into ``journal``."""
    rig = Rig(folder)
    if journal is not None:
        rig.journal = journal
        rig.workflow = TradingWorkflow(rig.client, journal, rig.notifier, bot_key="1")
    rig.pairs = [rig.pair(key=str(pair_id))]
    return rig


def comparable(rig):
    """Orders by client id and trades in order, as dicts."""
    orders = sorted(map(asdict, rig.journal.orders()), key=lambda o: o["client_order_id"])
    return orders, [asdict(t) for t in rig.journal.trades()]


def same_within_storage_precision(ours: list[dict], theirs: list[dict]) -> bool:
    """Equal, except Decimals may differ in the 10th decimal: money is stored to ten places, and
    a realised PnL computed from a stored entry price inherits that rounding."""
    if len(ours) != len(theirs):
        return False
    for mine, other in zip(ours, theirs, strict=True):
        for name, value in mine.items():
            expected = other[name]
            if isinstance(value, D) and isinstance(expected, D):
                if abs(value - expected) > D("1E-9"):
                    return False
            elif value != expected:
                return False
    return True


def test_a_whole_position_lifecycle_journals_exactly_as_the_file_journal(
    journal, bot_with_pair, tmp_path
):
    """Open, add, reduce and close on the scripted market: same orders and trades as on files."""
    pair_id = bot_with_pair[1]
    on_files = rig_on(None, tmp_path / "files", pair_id)
    on_database = rig_on(journal, tmp_path / "unused", pair_id)
    for minute in range(60, 600, 5):
        assert on_files.run_at(minute).outcome == OK
        assert on_database.run_at(minute).outcome == OK
    orders, trades = comparable(on_database)
    assert [t["action"] for t in trades][0 :: len(trades) - 1] == ["OPEN", "CLOSE"]
    file_orders, file_trades = comparable(on_files)
    assert same_within_storage_precision(orders, file_orders)
    assert same_within_storage_precision(trades, file_trades)


def test_an_order_lost_in_a_timeout_is_settled_by_the_next_run(journal, bot_with_pair, tmp_path):
    rig = rig_on(journal, tmp_path, bot_with_pair[1])
    rig.client.inject("timeout_after_accept")
    minute = next(
        m
        for m in range(60, 400, 5)
        if rig.run_at(m) and any(o.status == j.UNKNOWN for o in journal.orders())
    )
    lost = next(o for o in journal.orders() if o.status == j.UNKNOWN)
    assert rig.engine.result(lost.client_order_id).status == NEW  # it reached the book
    rig.run_at(minute + 5)
    settled = next(o for o in journal.orders() if o.client_order_id == lost.client_order_id)
    assert settled.status in (j.FILLED, j.CANCELLED)
    booked = [t for t in journal.trades() if t.client_order_id == lost.client_order_id]
    assert len(booked) == (1 if settled.status == j.FILLED else 0)


def test_a_run_left_running_by_a_killed_process_is_closed_by_the_next(journal, db_session):
    killed = journal.start_run(NOW)
    current = journal.start_run(NOW + timedelta(minutes=5))
    old = db_session.get(BotRun, int(killed))
    assert old.outcome == "error" and "interrupted" in old.conclusions["run"]
    assert db_session.get(BotRun, int(current)).outcome == "running"
    log = db_session.scalars(select(BotLog)).one()
    assert log.level == "warning" and log.message.startswith(f"run {killed} was interrupted")
