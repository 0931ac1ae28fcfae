"""BybitClient against the fake exchange: a full hedge-mode cycle, faults, candles, clock skew."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

import clients.bybit as bybit_module
from clients.base import FILLED, NEW, POST_ONLY, OrderRequest
from clients.errors import (
    DuplicateOrderIdError,
    InsufficientFundsError,
    InvalidOrderError,
    OutcomeUnknownError,
)
from strategies.types import Candle
from tests.fake_exchange import FakeExchange
from tests.fixtures.exchange import make_client

SYMBOL = "BTCUSDT"
KEY = "test-bybit-key"
CREATE = "/v5/order/create"


def order(side, position_side, qty, price, client_id, **kwargs) -> OrderRequest:
    """An OrderRequest on BTCUSDT with Decimal quantity and price."""
    return OrderRequest(
        SYMBOL,
        side,
        position_side,
        Decimal(qty),
        None if price is None else Decimal(price),
        client_id,
        **kwargs,
    )


def test_full_hedge_cycle_sends_the_exact_fields(seeded_exchange, bybit_client):
    """Hedge mode, leverage, open Long and Short, add, reduce, close, look up, cancel."""
    fx, client = seeded_exchange, bybit_client
    client.ensure_hedge_mode(SYMBOL)
    client.set_leverage(SYMBOL, Decimal(10))

    opened_long = client.place_order(order("Buy", "Long", "0.010", None, "b1-p1-1-1"))
    assert (opened_long.status, opened_long.filled_qty) == (FILLED, Decimal("0.01"))
    opened_short = client.place_order(
        order("Sell", "Short", "0.020", "30000.1", "b1-p2-1-1", time_in_force=POST_ONLY)
    )
    assert opened_short.status == NEW
    fx.set_price(SYMBOL, Decimal("30000.3"))  # the bid reaches the resting sell
    assert client.get_order(SYMBOL, "b1-p2-1-1").status == FILLED

    added = client.place_order(
        order("Buy", "Long", "0.005", "30000.2", "b1-p1-2-1", time_in_force=POST_ONLY)
    )
    fx.set_price(SYMBOL, Decimal("29990"))
    assert added.status == NEW and client.get_order(SYMBOL, "b1-p1-2-1").status == FILLED
    reduced = client.place_order(
        order("Sell", "Long", "0.005", None, "b1-p1-3-1", reduce_only=True)
    )
    closed = client.place_order(order("Buy", "Short", "0.020", None, "b1-p2-2-1", reduce_only=True))
    assert reduced.status == closed.status == FILLED

    positions = {p.side: p for p in client.get_positions()}
    assert set(positions) == {"Long"}
    assert positions["Long"].size == Decimal("0.010")
    assert positions["Long"].entry_price.quantize(Decimal("0.001")) == Decimal("30000.067")

    resting = client.place_order(order("Buy", "Long", "0.001", "29000", "b1-p1-4-1"))
    assert resting.status == NEW
    assert client.cancel_orders(SYMBOL, "b1-p1-") == ["b1-p1-4-1"]
    assert client.get_order(SYMBOL, "b1-p1-4-1").status == "cancelled"
    assert client.get_order(SYMBOL, "never-sent") is None

    bodies = [r.body for r in fx.requests_to(CREATE)]
    assert bodies == [
        {
            "category": "linear",
            "symbol": SYMBOL,
            "side": "Buy",
            "orderType": "Market",
            "qty": "0.01",
            "positionIdx": 1,
            "orderLinkId": "b1-p1-1-1",
            "reduceOnly": False,
        },
        {
            "category": "linear",
            "symbol": SYMBOL,
            "side": "Sell",
            "orderType": "Limit",
            "qty": "0.02",
            "price": "30000.1",
            "timeInForce": "PostOnly",
            "positionIdx": 2,
            "orderLinkId": "b1-p2-1-1",
            "reduceOnly": False,
        },
        {
            "category": "linear",
            "symbol": SYMBOL,
            "side": "Buy",
            "orderType": "Limit",
            "qty": "0.005",
            "price": "30000.2",
            "timeInForce": "PostOnly",
            "positionIdx": 1,
            "orderLinkId": "b1-p1-2-1",
            "reduceOnly": False,
        },
        {
            "category": "linear",
            "symbol": SYMBOL,
            "side": "Sell",
            "orderType": "Market",
            "qty": "0.005",
            "positionIdx": 1,
            "orderLinkId": "b1-p1-3-1",
            "reduceOnly": True,
        },
        {
            "category": "linear",
            "symbol": SYMBOL,
            "side": "Buy",
            "orderType": "Market",
            "qty": "0.02",
            "positionIdx": 2,
            "orderLinkId": "b1-p2-2-1",
            "reduceOnly": True,
        },
        {
            "category": "linear",
            "symbol": SYMBOL,
            "side": "Buy",
            "orderType": "Limit",
            "qty": "0.001",
            "price": "29000",
            "timeInForce": "GTC",
            "positionIdx": 1,
            "orderLinkId": "b1-p1-4-1",
            "reduceOnly": False,
        },
    ]
    assert [r.body for r in fx.requests_to("/v5/position/set-leverage")] == [
        {"category": "linear", "symbol": SYMBOL, "buyLeverage": "10", "sellLeverage": "10"}
    ]
    assert fx.requests_to("/v5/position/switch-mode")[0].body["mode"] == 3


def test_hedge_mode_and_leverage_not_modified_are_success(seeded_exchange, bybit_client):
    for _ in range(2):
        bybit_client.ensure_hedge_mode(SYMBOL)
        bybit_client.set_leverage(SYMBOL, Decimal(10))
    codes = [r.status for r in seeded_exchange.requests_to("/v5/position/switch-mode")]
    assert codes == [200, 200]  # the second answered retCode 110025, which is success


def test_orders_need_hedge_mode_first(seeded_exchange, bybit_client):
    with pytest.raises(InvalidOrderError, match="position idx"):
        bybit_client.place_order(order("Buy", "Long", "0.001", None, "b1-p1-9-1"))


def test_cancel_only_touches_our_prefix(seeded_exchange, bybit_client):
    bybit_client.ensure_hedge_mode(SYMBOL)
    for client_id in ("b1-p1-1-1", "b1-p2-1-1", "b2-p1-1-1", "manual-1"):
        bybit_client.place_order(order("Buy", "Long", "0.001", "29000", client_id))
    assert bybit_client.cancel_orders(SYMBOL, "b1-p1-") == ["b1-p1-1-1"]
    still_open = sorted(o.client_id for o in seeded_exchange.orders("bybit") if o.is_open)
    assert still_open == ["b1-p2-1-1", "b2-p1-1-1", "manual-1"]
    with pytest.raises(InvalidOrderError, match="empty client id prefix"):
        bybit_client.cancel_orders(SYMBOL, "")


@pytest.mark.parametrize("fault", ["timeout", "drop", "5xx"])
def test_an_order_with_unknown_outcome_is_looked_up_never_resent(seeded_exchange, fault):
    fx = seeded_exchange
    client = make_client("bybit", fx)
    with client:
        client.ensure_hedge_mode(SYMBOL)
        fx.inject(fault, path=CREATE, delay=1.0)
        started = time.monotonic()
        with pytest.raises(OutcomeUnknownError, match="do not re-send"):
            client.place_order(order("Buy", "Long", "0.002", None, "b1-p1-5-1"))
        assert time.monotonic() - started < 1.0
        assert len(fx.requests_to(CREATE)) == 1
        found = client.get_order(SYMBOL, "b1-p1-5-1")
    assert found.status == FILLED and found.filled_qty == Decimal("0.002")
    assert len(fx.requests_to(CREATE)) == 1


def test_malformed_answer_to_an_order_is_an_unknown_outcome(seeded_exchange, bybit_client):
    bybit_client.ensure_hedge_mode(SYMBOL)
    seeded_exchange.inject("malformed", path=CREATE, process=True)
    with pytest.raises(OutcomeUnknownError, match="malformed JSON"):
        bybit_client.place_order(order("Buy", "Long", "0.001", None, "b1-p1-6-1"))
    assert bybit_client.get_order(SYMBOL, "b1-p1-6-1").status == FILLED


def test_a_duplicate_id_is_already_placed(seeded_exchange, bybit_client):
    bybit_client.ensure_hedge_mode(SYMBOL)
    first = bybit_client.place_order(order("Buy", "Long", "0.001", "29000", "b1-p1-7-1"))
    with pytest.raises(DuplicateOrderIdError, match="already placed") as caught:
        bybit_client.place_order(order("Buy", "Long", "0.001", "29000", "b1-p1-7-1"))
    assert caught.value.code == 110072
    assert [o.order_id for o in seeded_exchange.orders("bybit")] == [first.exchange_order_id]
    seeded_exchange.inject("duplicate", path=CREATE)
    with pytest.raises(DuplicateOrderIdError):
        bybit_client.place_order(order("Buy", "Long", "0.001", "29000", "b1-p1-8-1"))


def test_a_rate_limited_order_is_retried_because_it_was_refused(seeded_exchange, bybit_client):
    bybit_client.ensure_hedge_mode(SYMBOL)
    seeded_exchange.inject("rate_limit", path=CREATE)
    placed = bybit_client.place_order(order("Buy", "Long", "0.001", None, "b1-p1-9-1"))
    assert placed.status == FILLED
    assert [r.fault for r in seeded_exchange.requests_to(CREATE)] == ["rate_limit", None]
    assert len(seeded_exchange.orders("bybit")) == 1


def test_post_only_that_would_cross_comes_back_cancelled(seeded_exchange, bybit_client):
    bybit_client.ensure_hedge_mode(SYMBOL)
    result = bybit_client.place_order(
        order("Buy", "Long", "0.001", "30000.1", "b1-p1-1-1", time_in_force=POST_ONLY)
    )
    assert result.status == "cancelled" and result.filled_qty == 0


def test_clock_skew_is_resynced_from_server_time_and_the_read_retried_once(seeded_exchange):
    client = make_client("bybit", seeded_exchange, clock=lambda: time.time() - 30)
    with client:
        assert client.get_balance().wallet == Decimal("10000")
        assert 29_000 < client._offset_ms < 31_000
    paths = [r.path for r in seeded_exchange.requests]
    assert paths == ["/v5/account/wallet-balance", "/v5/market/time", "/v5/account/wallet-balance"]


def _candles(start_ms: int, count: int, step_ms: int) -> list[Candle]:
    return [
        Candle(
            start_ms + i * step_ms,
            Decimal(100 + i),
            Decimal(101 + i),
            Decimal(99 + i),
            Decimal("100.5") + i,
            Decimal(1),
        )
        for i in range(count)
    ]


def test_candles_are_closed_and_oldest_first(seeded_exchange):
    step, frozen = 300_000, time.time()  # the client's clock stands still: no boundary race
    current = int(frozen * 1000) // step * step
    seeded_exchange.set_candles(SYMBOL, 5, _candles(current - 9 * step, 10, step))
    with make_client("bybit", seeded_exchange, clock=lambda: frozen) as client:
        candles = client.get_candles(SYMBOL, 5, 4)
    assert [c.ts_ms for c in candles] == [current - k * step for k in (4, 3, 2, 1)]
    query = seeded_exchange.requests_to("/v5/market/kline")[0].query
    assert query == {"category": "linear", "symbol": SYMBOL, "interval": "5", "limit": "5"}


def test_candles_page_back_when_the_server_caps_the_page(
    seeded_exchange, bybit_client, monkeypatch
):
    monkeypatch.setattr(bybit_module, "KLINE_PAGE", 100)
    candles = bybit_client.get_candles(SYMBOL, 1, 250)
    stamps = [c.ts_ms for c in candles]
    assert len(stamps) == 250 and stamps == sorted(stamps)
    assert all(b - a == 60_000 for a, b in zip(stamps, stamps[1:], strict=False))
    assert len(seeded_exchange.requests_to("/v5/market/kline")) == 3


def test_positions_carry_margin_level_from_maintenance_margin(seeded_exchange, bybit_client):
    bybit_client.ensure_hedge_mode(SYMBOL)
    bybit_client.place_order(order("Sell", "Short", "0.1", None, "b1-p2-1-1"))
    seeded_exchange.set_price(SYMBOL, Decimal("31000"))
    (short,) = bybit_client.get_positions()
    # margin 300, uPnL -100, maintenance 0.1 x 31000 x 0.005 = 15.5 -> (300 - 100) / 15.5
    assert (short.side, short.margin, short.unrealised_pnl) == ("Short", 300, -100)
    assert short.margin_level == Decimal("12.90")
    assert short.mark_price == Decimal("31000")


def test_positions_report_their_margin_mode(seeded_exchange, bybit_client):
    bybit_client.ensure_hedge_mode(SYMBOL)
    bybit_client.place_order(order("Buy", "Long", "0.1", None, "b1-p1-1-1"))
    (long,) = bybit_client.get_positions()
    assert long.margin_mode == "cross"  # tradeMode 0, the unified account's default


def test_balance_counts_position_and_order_margin(seeded_exchange, bybit_client):
    bybit_client.ensure_hedge_mode(SYMBOL)
    bybit_client.place_order(order("Buy", "Long", "0.1", None, "b1-p1-1-1"))
    bybit_client.place_order(order("Buy", "Long", "0.1", "29000", "b1-p1-2-1"))
    balance = bybit_client.get_balance()
    assert balance.used == Decimal("300") + Decimal("290")
    assert balance.wallet == Decimal("10000") - Decimal("1.65")  # taker fee 0.055 %


def test_an_old_closed_order_is_found_in_the_history():
    """/v5/order/realtime forgets closed orders after a while; get_order then asks the history."""
    now = [time.time()]
    fx = FakeExchange(clock=lambda: now[0]).start()
    try:
        fx.seed_market(SYMBOL, Decimal("30000"))
        client = make_client("bybit", fx, clock=lambda: now[0])
        with client:
            client.ensure_hedge_mode(SYMBOL)
            client.place_order(order("Buy", "Long", "0.001", None, "b1-p1-1-1"))
            now[0] += 3600
            found = client.get_order(SYMBOL, "b1-p1-1-1")
    finally:
        fx.stop()
    assert found.status == FILLED
    lookups = [r.path for r in fx.requests if r.query.get("orderLinkId") == "b1-p1-1-1"]
    assert lookups[-2:] == ["/v5/order/realtime", "/v5/order/history"]


def test_insufficient_balance_is_its_own_error(bybit_client):
    bybit_client.ensure_hedge_mode(SYMBOL)
    with pytest.raises(InsufficientFundsError) as caught:
        bybit_client.place_order(order("Buy", "Long", "50", None, "b1-p1-1-1"))
    assert caught.value.code == 110007
