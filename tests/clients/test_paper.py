"""The simulated exchange: fills, fees, liquidation, funding, cancels, persistence and faults."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import numpy as np
import pytest

from clients.base import FILLED, NEW, POST_ONLY, OrderRequest, margin_level
from clients.errors import (
    DuplicateOrderIdError,
    InsufficientFundsError,
    InvalidOrderError,
    OutcomeUnknownError,
)
from clients.market import PathMarket
from clients.paper import PaperClient, engine_from_dict, engine_to_dict, load_engine
from clients.paper_engine import PaperEngine, liquidation_price
from strategies.types import InstrumentRules

RULES = InstrumentRules(
    "TESTUSDT", D("0.01"), D("0.01"), D("1000"), D("0.1"), D("5"), D("100"), D("0.005")
)
T0 = 1_700_000_000_000


def order(
    cid, side="Buy", pos="Long", qty="1", price=None, reduce_only=False, tif="GoodTillCancel"
):
    """An order request on TESTUSDT."""
    return OrderRequest(
        "TESTUSDT", side, pos, D(qty), None if price is None else D(price), cid, reduce_only, tif
    )


@pytest.fixture
def engine():
    """A 10,000 USDT isolated-margin account at 10x with round fees for hand checks."""
    e = PaperEngine(
        balance=D("10000"),
        maker_fee=D("0.0002"),
        taker_fee=D("0.0005"),
        slippage=D("0.001"),
        margin_mode="isolated",
    )
    e.leverage["TESTUSDT"] = D(10)
    return e


def test_market_buy_fills_at_the_ask_plus_slippage_and_pays_taker_fee(engine):
    result = engine.place(order("m1"), RULES, D("99.9"), D("100"), T0)
    assert result.status == FILLED
    assert result.avg_price == D("100.1")
    assert result.fee == D("100.1") * D("0.0005")
    assert engine.wallet == D("10000") - result.fee
    pos = engine.position("TESTUSDT", "Long")
    assert pos.size == D(1) and pos.margin == D("10.01")


def test_post_only_buy_rests_then_fills_when_a_candle_trades_below_it(engine):
    result = engine.place(order("p1", price="99.9", tif=POST_ONLY), RULES, D("99.9"), D("100"), T0)
    assert result.status == NEW
    engine.on_candle("TESTUSDT", T0 + 60_000, D("100.5"), D("99.9"), D("100"))  # touch only
    assert engine.result("p1").status == NEW
    engine.on_candle("TESTUSDT", T0 + 120_000, D("100.5"), D("99.8"), D("100"))
    filled = engine.result("p1")
    assert filled.status == FILLED and filled.avg_price == D("99.9")
    assert filled.fee == D("99.9") * D("0.0002")  # maker


def test_post_only_that_would_cross_is_refused(engine):
    with pytest.raises(InvalidOrderError, match="post-only"):
        engine.place(order("p2", price="100", tif=POST_ONLY), RULES, D("99.9"), D("100"), T0)
    assert "p2" not in engine.orders


def test_reduce_and_close_realise_pnl_and_shrink_margin(engine):
    engine.place(order("o1", qty="2"), RULES, D("100"), D("100"), T0)  # fills at 100.1
    engine.place(
        order("r1", side="Sell", qty="0.5", reduce_only=True), RULES, D("110"), D("110.1"), T0
    )
    pos = engine.position("TESTUSDT", "Long")
    assert pos.size == D("1.5")
    assert pos.margin == D("20.02") * D("1.5") / D(2)
    reduce_fill = engine.fills[-1]
    assert reduce_fill.kind == "REDUCE"
    assert reduce_fill.realised_pnl == (D("110") * D("0.999") - D("100.1")) * D("0.5")
    engine.place(
        order("c1", side="Sell", qty="5", reduce_only=True), RULES, D("110"), D("110.1"), T0
    )
    assert engine.position("TESTUSDT", "Long") is None
    assert engine.fills[-1].kind == "CLOSE" and engine.fills[-1].qty == D("1.5")
    realised = sum(f.realised_pnl for f in engine.fills)
    assert engine.wallet == D("10000") + realised - engine.fees_paid


def test_short_close_realises_profit_when_price_fell(engine):
    engine.place(order("s1", side="Sell", pos="Short", qty="1"), RULES, D("100"), D("100.1"), T0)
    engine.place(
        order("s2", side="Buy", pos="Short", qty="1", reduce_only=True),
        RULES,
        D("90"),
        D("90.1"),
        T0,
    )
    assert engine.fills[-1].realised_pnl == D("100") * D("0.999") - D("90.1") * D("1.001")
    assert engine.fills[-1].realised_pnl > 0


def test_entry_needs_available_margin(engine):
    with pytest.raises(InsufficientFundsError):
        engine.place(order("big", qty="999"), RULES, D("100"), D("100.1"), T0)


def test_off_step_and_below_minimum_orders_are_invalid(engine):
    with pytest.raises(InvalidOrderError, match="step"):
        engine.place(order("x1", qty="0.015"), RULES, D("100"), D("100.1"), T0)
    with pytest.raises(InvalidOrderError, match="minimum"):
        engine.place(order("x2", qty="0.01", price="99"), RULES, D("100"), D("100.1"), T0)
    with pytest.raises(InvalidOrderError, match="no position"):
        engine.place(order("x3", side="Sell", reduce_only=True), RULES, D("100"), D("100.1"), T0)


def test_duplicate_client_id_is_refused(engine):
    engine.place(order("d1", price="99", tif=POST_ONLY), RULES, D("100"), D("100.1"), T0)
    with pytest.raises(DuplicateOrderIdError):
        engine.place(order("d1", price="99", tif=POST_ONLY), RULES, D("100"), D("100.1"), T0)


@pytest.mark.parametrize("side", ["Long", "Short"])
def test_liquidation_happens_exactly_when_margin_level_reaches_one(engine, side):
    buy = side == "Long"
    engine.place(
        order("l1", side="Buy" if buy else "Sell", pos=side, qty="10"),
        RULES,
        D("100"),
        D("100"),
        T0,
    )
    pos = engine.positions[("TESTUSDT", side)]
    liq = liquidation_price(side, pos.size, pos.entry, pos.margin, pos.maint_rate)
    upnl = (liq - pos.entry) * pos.size if buy else (pos.entry - liq) * pos.size
    assert margin_level(pos.margin, upnl, pos.size, liq, pos.maint_rate) == D("1.00")
    near = liq + D("0.01") if buy else liq - D("0.01")
    engine.on_candle("TESTUSDT", T0 + 60_000, max(near, D(100)), min(near, D(100)), D(100))
    assert engine.liquidations == 0
    engine.on_candle("TESTUSDT", T0 + 120_000, max(liq, D(100)), min(liq, D(100)), D(100))
    assert engine.liquidations == 1
    assert engine.position("TESTUSDT", side) is None
    assert engine.fills[-1].kind == "LIQUIDATION" and engine.fills[-1].realised_pnl == -pos.margin


def test_funding_is_paid_by_longs_and_received_by_shorts(engine):
    engine.place(order("f1", qty="2"), RULES, D("100"), D("100"), T0)
    engine.place(order("f2", side="Sell", pos="Short", qty="1"), RULES, D("100"), D("100"), T0)
    before = engine.wallet
    paid = engine.apply_funding("TESTUSDT", D("0.0001"), D("100"), T0)
    assert paid == D("0.02") - D("0.01")
    assert engine.wallet == before - paid
    assert engine.funding_paid == paid


def test_cancel_by_prefix_leaves_other_orders_alone(engine):
    for cid in ("b1-p1-1-1", "b1-p2-1-1", "manual-1"):
        engine.place(order(cid, price="90", tif=POST_ONLY), RULES, D("100"), D("100.1"), T0)
    assert engine.cancel("TESTUSDT", "b1-p1-") == ["b1-p1-1-1"]
    assert engine.open_ids["TESTUSDT"] == ["b1-p2-1-1", "manual-1"]


def test_engine_state_survives_a_save_and_load(engine):
    engine.place(order("o1", qty="2"), RULES, D("100"), D("100"), T0)
    engine.place(order("o2", price="95", tif=POST_ONLY), RULES, D("100"), D("100.1"), T0)
    copy = engine_from_dict(engine_to_dict(engine))
    assert copy.wallet == engine.wallet
    assert copy.position("TESTUSDT", "Long") == engine.position("TESTUSDT", "Long")
    assert copy.result("o2") == engine.result("o2")
    assert copy.balance() == engine.balance()


def flat_market(price=100.0):
    """A market whose every minute trades around one price."""
    return PathMarket({"TESTUSDT": lambda m: np.full(len(m), price)}, {"TESTUSDT": RULES})


def test_paper_client_timeout_after_accept_keeps_the_order(tmp_path):
    now = datetime(2026, 1, 1, tzinfo=UTC)
    client = PaperClient(flat_market(), lambda: now, state_path=tmp_path / "s.json")
    client.inject("timeout_after_accept")
    with pytest.raises(OutcomeUnknownError):
        client.place_order(order("t1", price="99", tif=POST_ONLY))
    assert client.get_order("TESTUSDT", "t1").status == NEW
    reloaded = load_engine(tmp_path / "s.json")
    assert "t1" in reloaded.orders


def test_paper_client_fills_resting_orders_from_the_minutes_that_passed():
    clock = {"now": datetime(2026, 1, 1, tzinfo=UTC)}
    path = {"TESTUSDT": lambda m: 100.0 - (m - m.min()) * 0.0}  # replaced below
    market = PathMarket(path, {"TESTUSDT": RULES}, wick=0.0)
    start = int(clock["now"].timestamp() // 60)
    market.paths["TESTUSDT"] = lambda m: np.where(m < start + 3, 100.0, 98.0)
    client = PaperClient(market, lambda: clock["now"])
    client.set_leverage("TESTUSDT", D(10))
    client.place_order(order("r1", price="99", tif=POST_ONLY))
    assert client.get_order("TESTUSDT", "r1").status == NEW
    clock["now"] += timedelta(minutes=10)
    result = client.get_order("TESTUSDT", "r1")
    assert result.status == FILLED and result.avg_price == D("99")
