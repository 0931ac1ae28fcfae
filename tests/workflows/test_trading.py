"""One run of a bot: lifecycle, reconciliation, hedged pairs, errors, the lock and alerts."""

from decimal import Decimal as D

import pytest

from clients.base import NEW, POST_ONLY, OrderRequest
from workflows import journal as j
from workflows.execution import order_prefix
from workflows.journal import FileJournal
from workflows.trading import AUTH_FAILED, LOCKED, OK, SKIPPED

from .scenario import SYMBOL, Rig

FILL_KINDS = {
    "OPEN": "position_opened",
    "ADD": "position_added",
    "REDUCE": "position_reduced",
    "CLOSE": "position_closed",
}


@pytest.fixture
def rig(tmp_path):
    """A fresh paper exchange, journal and notifier on the scripted market."""
    return Rig(tmp_path / "journal")


def run_every_five_minutes(rig, start, end, pairs):
    """Run the bot on the cron cadence between two offsets (minutes after T0)."""
    results = []
    for minute in range(start, end, 5):
        results.append(rig.run_at(minute, pairs))
    return results


def test_scripted_path_drives_open_add_reduce_close_with_one_trade_per_fill(rig):
    """Does a dip, a recovery and a jump take one Long pair through its whole life?"""
    pair = rig.pair()
    results = run_every_five_minutes(rig, 60, 600, [pair])
    assert all(r.outcome == OK for r in results)

    trades = rig.journal.trades()
    actions = [t.action for t in trades]
    assert actions[0] == "OPEN" and actions[-1] == "CLOSE"
    assert {"ADD", "REDUCE"} <= set(actions)
    assert rig.engine.position(SYMBOL, "Long") is None

    filled = [o for o in rig.journal.orders() if o.status == j.FILLED]
    assert sorted(t.client_order_id for t in trades) == sorted(o.client_order_id for o in filled)
    assert len({t.client_order_id for t in trades}) == len(trades)
    engine_fills = [f for f in rig.engine.fills if f.kind != "LIQUIDATION"]
    assert [f.client_order_id for f in engine_fills] == [t.client_order_id for t in trades]

    # Every fill rested on the book first, so every fee is the maker fee on its own notional.
    for trade in trades:
        assert trade.fee == trade.qty * trade.price * rig.engine.maker_fee
        assert trade.fee > 0
    realised = sum(t.realised_pnl for t in trades)
    assert realised == sum(f.realised_pnl for f in engine_fills)
    assert rig.engine.wallet == rig.balance + realised - sum(t.fee for t in trades)

    fill_events = [e for e in rig.notifier.events if e.kind in FILL_KINDS.values()]
    assert [e.kind for e in fill_events] == [FILL_KINDS[a] for a in actions]
    assert [e.fields["price"] for e in fill_events] == [t.price for t in trades]


def run_until_an_order_is_unknown(rig, pair):
    """Run on the cron cadence until the injected fault has hit an order; its offset."""
    for minute in range(60, 400, 5):
        rig.run_at(minute, [pair])
        lost = [o for o in rig.journal.orders() if o.status == j.UNKNOWN]
        if lost:
            return minute, lost[0]
    raise AssertionError("the strategy never placed an order")


def test_an_order_whose_placement_timed_out_is_settled_by_the_next_run_never_resent(rig):
    """A timeout after the exchange accepted the order: unknown now, looked up next run."""
    pair = rig.pair()
    rig.client.inject("timeout_after_accept")
    minute, lost = run_until_an_order_is_unknown(rig, pair)
    assert len([r for r in rig.client.requests if r[0] == "place_order"]) == 1
    assert rig.engine.result(lost.client_order_id).status == NEW  # it did reach the book

    rig.run_at(minute + 5, [pair])
    settled = next(o for o in rig.journal.orders() if o.client_order_id == lost.client_order_id)
    assert settled.status in (j.FILLED, j.CANCELLED)
    assert list(rig.engine.orders).count(lost.client_order_id) == 1
    trades = [t for t in rig.journal.trades() if t.client_order_id == lost.client_order_id]
    assert len(trades) == (1 if settled.status == j.FILLED else 0)


def test_an_order_that_never_arrived_is_marked_rejected_by_the_next_run(rig):
    pair = rig.pair()
    rig.client.inject("timeout_before_accept")
    minute, lost = run_until_an_order_is_unknown(rig, pair)
    rig.run_at(minute + 5, [pair])
    settled = next(o for o in rig.journal.orders() if o.client_order_id == lost.client_order_id)
    assert settled.status == j.REJECTED
    assert lost.client_order_id not in rig.engine.orders


def test_long_and_short_on_one_symbol_never_cancel_each_others_orders(rig):
    """Q8: each pair cancels only orders carrying its own client-order-id prefix."""
    long_pair, short_pair = rig.pair("1", "Long"), rig.pair("2", "Short")
    resting_long = []
    for minute in range(60, 400, 5):
        # The Short pair runs after the Long one in the same bot run, cancelling its own orders.
        rig.run_at(minute, [long_pair, short_pair])
        resting_long = [
            cid
            for cid in rig.engine.open_ids.get(SYMBOL, [])
            if cid.startswith(order_prefix("1", "1"))
        ]
        if resting_long:
            break
    assert resting_long, "the Long pair's entry should still rest after the Short pair ran"
    manual = OrderRequest(SYMBOL, "Buy", "Long", D(1), D("90.00"), "my-own-order", False, POST_ONLY)
    rig.client.place_order(manual)  # the user's own order on the same symbol
    assert rig.journal.acquire_lock()  # reconciling writes to the exchange: only under the lock
    try:
        rig.workflow.orders.reconcile(short_pair, rig.now)
    finally:
        rig.journal.release_lock()
    for cid in [*resting_long, "my-own-order"]:
        assert rig.engine.result(cid).status == NEW


def test_a_failing_pair_is_reported_and_the_next_pair_still_runs(rig):
    """Q1: an error reaches the owner and the exit status; other pairs run."""
    first, second = rig.pair("1", "Long"), rig.pair("2", "Short")
    rig.client.inject("temporary")
    result = rig.run_at(60, [first, second])
    assert [p.outcome for p in result.pairs] == [SKIPPED, OK]
    assert result.exit_code == 1
    (error,) = [e for e in rig.notifier.events if e.kind == "error"]
    assert error.fields["symbol"] == SYMBOL and "temporary" in error.fields["message"]


def test_an_authentication_error_stops_the_run(rig):
    first, second = rig.pair("1", "Long"), rig.pair("2", "Short")
    rig.client.inject("auth")
    result = rig.run_at(60, [first, second])
    assert result.outcome == AUTH_FAILED and len(result.pairs) == 1
    assert result.exit_code == 1
    assert "authentication" in rig.notifier.events[0].fields["message"]


def test_a_second_run_while_the_first_holds_the_lock_exits_at_once(rig, tmp_path):
    other = FileJournal(tmp_path / "journal")
    assert other.acquire_lock()
    try:
        result = rig.run_at(60, [rig.pair()])
    finally:
        other.release_lock()
    assert result.outcome == LOCKED and result.exit_code == 3
    assert rig.client.requests == []
    assert rig.run_at(65, [rig.pair()]).outcome == OK


def test_a_refused_order_is_reported_once_per_condition(rig):
    """Q4 side effect: the margin cap refusal is told once, not on every run."""
    pair = rig.pair(params={"max_margin_pct": "0.001", "min_one_step": True})
    run_every_five_minutes(rig, 120, 160, [pair])
    skipped = [e for e in rig.notifier.events if e.kind == "order_skipped"]
    assert len(skipped) == 1
    assert rig.engine.orders == {}


def test_leverage_from_the_pair_is_set_on_the_exchange(rig):
    """Q7: the pair's leverage is what the exchange uses and what sizing assumes."""
    pair = rig.pair()
    pair.leverage = D(7)
    rig.run_at(60, [pair])
    assert rig.engine.leverage[SYMBOL] == D(7)


def test_a_position_liquidated_between_runs_is_reported(tmp_path):
    """The exchange closed it, not us: the owner hears about it once (isolated margin)."""
    crash = ([-1e9, 0, 120, 200, 320, 600], [100, 100, 99, 99, 80, 80])
    rig = Rig(tmp_path / "journal", knots=crash, margin_mode="isolated")
    run_every_five_minutes(rig, 60, 500, [rig.pair()])
    assert rig.engine.liquidations >= 1
    outside = [
        e
        for e in rig.notifier.events
        if e.kind == "position_closed" and "outside" in e.fields.get("reason", "")
    ]
    assert len(outside) == rig.engine.liquidations
