"""PhemexClient against the fake exchange: a full hedged cycle, faults, candles, margin level."""

from __future__ import annotations

import time
from dataclasses import replace
from decimal import Decimal

import pytest

from clients.base import CANCELLED, FILLED, NEW, POST_ONLY, OrderRequest
from clients.errors import (
    DuplicateOrderIdError,
    ExchangeDataError,
    InsufficientFundsError,
    InvalidOrderError,
    OutcomeUnknownError,
    UnknownSymbolError,
)
from strategies.types import Candle
from tests.fixtures.exchange import make_client

SYMBOL = "BTCUSDT"
CREATE = "/g-orders"


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


def test_full_hedged_cycle_sends_the_exact_fields(seeded_exchange, phemex_client):
    """Hedged mode, leverage, open Long and Short, add, reduce, close, look up, cancel."""
    fx, client = seeded_exchange, phemex_client
    client.ensure_hedge_mode(SYMBOL)
    client.set_leverage(SYMBOL, Decimal(10))

    opened_long = client.place_order(order("Buy", "Long", "0.010", None, "b1-p1-1-1"))
    assert (opened_long.status, opened_long.filled_qty) == (FILLED, Decimal("0.01"))
    assert opened_long.avg_price == Decimal("30000")
    opened_short = client.place_order(
        order("Sell", "Short", "0.020", "30000.1", "b1-p2-1-1", time_in_force=POST_ONLY)
    )
    assert opened_short.status == NEW and opened_short.position_side == "Short"
    fx.set_price(SYMBOL, Decimal("30000.3"))
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
    assert (closed.position_side, reduced.position_side) == ("Short", "Long")

    positions = {p.side: p for p in client.get_positions()}
    assert set(positions) == {"Long"} and positions["Long"].size == Decimal("0.010")

    resting = client.place_order(order("Buy", "Long", "0.001", "29000", "b1-p1-4-1"))
    assert resting.status == NEW
    assert client.cancel_orders(SYMBOL, "b1-p1-") == ["b1-p1-4-1"]
    assert client.get_order(SYMBOL, "b1-p1-4-1").status == CANCELLED
    assert client.get_order(SYMBOL, "never-sent") is None

    bodies = [r.body for r in fx.requests_to(CREATE)]
    assert bodies == [
        {
            "symbol": SYMBOL,
            "clOrdID": "b1-p1-1-1",
            "side": "Buy",
            "posSide": "Long",
            "orderQtyRq": "0.01",
            "ordType": "Market",
            "reduceOnly": False,
        },
        {
            "symbol": SYMBOL,
            "clOrdID": "b1-p2-1-1",
            "side": "Sell",
            "posSide": "Short",
            "orderQtyRq": "0.02",
            "ordType": "Limit",
            "priceRp": "30000.1",
            "timeInForce": "PostOnly",
            "reduceOnly": False,
        },
        {
            "symbol": SYMBOL,
            "clOrdID": "b1-p1-2-1",
            "side": "Buy",
            "posSide": "Long",
            "orderQtyRq": "0.005",
            "ordType": "Limit",
            "priceRp": "30000.2",
            "timeInForce": "PostOnly",
            "reduceOnly": False,
        },
        {
            "symbol": SYMBOL,
            "clOrdID": "b1-p1-3-1",
            "side": "Sell",
            "posSide": "Long",
            "orderQtyRq": "0.005",
            "ordType": "Market",
            "reduceOnly": True,
        },
        {
            "symbol": SYMBOL,
            "clOrdID": "b1-p2-2-1",
            "side": "Buy",
            "posSide": "Short",
            "orderQtyRq": "0.02",
            "ordType": "Market",
            "reduceOnly": True,
        },
        {
            "symbol": SYMBOL,
            "clOrdID": "b1-p1-4-1",
            "side": "Buy",
            "posSide": "Long",
            "orderQtyRq": "0.001",
            "ordType": "Limit",
            "priceRp": "29000",
            "timeInForce": "GoodTillCancel",
            "reduceOnly": False,
        },
    ]
    (cancel,) = fx.requests_to("/g-orders/cancel")
    assert cancel.method == "DELETE" and cancel.query["posSide"] == "Long"
    assert fx.requests_to("/g-positions/switch-pos-mode-sync")[0].query == {
        "symbol": SYMBOL,
        "targetPosMode": "Hedged",
    }


def test_leverage_keeps_cross_margin_and_skips_a_no_op(seeded_exchange, phemex_client):
    phemex_client.ensure_hedge_mode(SYMBOL)
    phemex_client.set_leverage(SYMBOL, Decimal(10))  # default is cross 10 already: nothing to do
    phemex_client.set_leverage(SYMBOL, Decimal(5))
    phemex_client.set_leverage(SYMBOL, Decimal(5))
    puts = [r.query for r in seeded_exchange.requests_to("/g-positions/leverage")]
    assert puts == [{"symbol": SYMBOL, "longLeverageRr": "-5", "shortLeverageRr": "-5"}]


def test_leverage_keeps_isolated_margin_positive(seeded_exchange, phemex_client):
    phemex_client.ensure_hedge_mode(SYMBOL)
    account = seeded_exchange.account("phemex", "test-phemex-key")
    account.leverage[(SYMBOL, "Long")] = account.leverage[(SYMBOL, "Short")] = Decimal(3)
    phemex_client.set_leverage(SYMBOL, Decimal(10))
    query = seeded_exchange.requests_to("/g-positions/leverage")[0].query
    assert (query["longLeverageRr"], query["shortLeverageRr"]) == ("10", "10")


def test_hedge_mode_is_switched_once(seeded_exchange, phemex_client):
    phemex_client.ensure_hedge_mode(SYMBOL)
    phemex_client.ensure_hedge_mode(SYMBOL)
    assert len(seeded_exchange.requests_to("/g-positions/switch-pos-mode-sync")) == 1


def test_orders_need_hedge_mode_first(phemex_client):
    with pytest.raises(InvalidOrderError) as caught:
        phemex_client.place_order(order("Buy", "Long", "0.001", None, "b1-p1-9-1"))
    assert caught.value.code == 20004


def test_cancel_only_touches_our_prefix(seeded_exchange, phemex_client):
    phemex_client.ensure_hedge_mode(SYMBOL)
    assert phemex_client.cancel_orders(SYMBOL, "b1-p1-") == []  # "not found" means none open
    for client_id in ("b1-p1-1-1", "b1-p2-1-1", "b2-p1-1-1", "manual-1"):
        phemex_client.place_order(order("Buy", "Long", "0.001", "29000", client_id))
    assert phemex_client.cancel_orders(SYMBOL, "b1-p1-") == ["b1-p1-1-1"]
    still_open = sorted(o.client_id for o in seeded_exchange.orders("phemex") if o.is_open)
    assert still_open == ["b1-p2-1-1", "b2-p1-1-1", "manual-1"]


@pytest.mark.parametrize("fault", ["timeout", "drop", "5xx"])
def test_an_order_with_unknown_outcome_is_looked_up_never_resent(seeded_exchange, fault):
    fx = seeded_exchange
    client = make_client("phemex", fx)
    with client:
        client.ensure_hedge_mode(SYMBOL)
        fx.inject(fault, path=CREATE, method="POST", delay=1.0)
        with pytest.raises(OutcomeUnknownError):
            client.place_order(order("Sell", "Short", "0.002", None, "b1-p2-5-1"))
        assert len(fx.requests_to(CREATE)) == 1
        found = client.get_order(SYMBOL, "b1-p2-5-1")
    assert (found.status, found.filled_qty, found.position_side) == (
        FILLED,
        Decimal("0.002"),
        "Short",
    )
    assert len(fx.requests_to(CREATE)) == 1


def test_a_duplicate_id_is_already_placed(seeded_exchange, phemex_client):
    phemex_client.ensure_hedge_mode(SYMBOL)
    phemex_client.place_order(order("Buy", "Long", "0.001", "29000", "b1-p1-7-1"))
    with pytest.raises(DuplicateOrderIdError, match="already placed"):
        phemex_client.place_order(order("Buy", "Long", "0.001", "29000", "b1-p1-7-1"))
    assert len(seeded_exchange.orders("phemex")) == 1


def test_a_rate_limited_order_backs_off_and_succeeds(seeded_exchange, phemex_client):
    phemex_client.ensure_hedge_mode(SYMBOL)
    seeded_exchange.inject("rate_limit", path=CREATE)
    placed = phemex_client.place_order(order("Buy", "Long", "0.001", None, "b1-p1-9-1"))
    assert placed.status == FILLED
    assert [r.status for r in seeded_exchange.requests_to(CREATE)] == [429, 200]
    assert max(phemex_client.slept) >= 1.0  # the x-ratelimit-retry-after header said 1 s


def test_post_only_that_would_cross_is_rejected(seeded_exchange, phemex_client):
    phemex_client.ensure_hedge_mode(SYMBOL)
    result = phemex_client.place_order(
        order("Sell", "Short", "0.001", "29999.9", "b1-p2-1-1", time_in_force=POST_ONLY)
    )
    assert result.status == "rejected"


def test_insufficient_balance_is_its_own_error(seeded_exchange, phemex_client):
    phemex_client.ensure_hedge_mode(SYMBOL)
    with pytest.raises(InsufficientFundsError) as caught:
        phemex_client.place_order(order("Buy", "Long", "50", None, "b1-p1-1-1"))
    assert caught.value.code == 11001


def test_candle_limit_is_the_smallest_allowed_and_the_forming_candle_is_dropped(
    seeded_exchange,
):
    step, frozen = 60_000, time.time()  # the client's clock stands still: no boundary race
    current = int(frozen * 1000) // step * step
    seeded_exchange.set_candles(
        SYMBOL,
        1,
        [
            Candle(
                current - i * step,
                Decimal(100),
                Decimal(101),
                Decimal(99),
                Decimal(100),
                Decimal(i),
            )
            for i in range(120)
        ],
    )
    with make_client("phemex", seeded_exchange, clock=lambda: frozen) as client:
        candles = client.get_candles(SYMBOL, 1, 50)
    assert len(candles) == 50
    assert candles[-1].ts_ms == current - step and candles[0].ts_ms == current - 50 * step
    query = seeded_exchange.requests_to("/exchange/public/md/v2/kline/last")[0].query
    assert query == {"symbol": SYMBOL, "resolution": "60", "limit": "100"}


def test_unsupported_candle_interval_is_refused_before_sending(phemex_client):
    with pytest.raises(InvalidOrderError, match="3-minute"):
        phemex_client.get_candles(SYMBOL, 3, 10)


def test_positions_use_the_spec_margin_level(seeded_exchange, phemex_client):
    phemex_client.ensure_hedge_mode(SYMBOL)
    account = seeded_exchange.account("phemex", "test-phemex-key")
    account.leverage[(SYMBOL, "Long")] = account.leverage[(SYMBOL, "Short")] = Decimal(10)
    phemex_client.place_order(order("Buy", "Long", "0.1", None, "b1-p1-1-1"))
    seeded_exchange.set_price(SYMBOL, Decimal("29000"))
    (long,) = phemex_client.get_positions()
    # isolated: (positionMargin 300 + uPnL -100) / (0.1 x 29000 x 0.005) = 13.79
    assert (long.margin, long.unrealised_pnl, long.margin_level) == (300, -100, Decimal("13.79"))
    assert long.leverage == 10 and long.mark_price == Decimal("29000")


def test_positions_report_their_margin_mode_from_the_leverage_sign(seeded_exchange, phemex_client):
    phemex_client.ensure_hedge_mode(SYMBOL)
    account = seeded_exchange.account("phemex", "test-phemex-key")
    account.leverage[(SYMBOL, "Long")] = Decimal(10)
    account.leverage[(SYMBOL, "Short")] = Decimal(-10)  # Phemex: negative leverage is cross
    phemex_client.place_order(order("Buy", "Long", "0.1", None, "b1-p1-1-1"))
    phemex_client.place_order(order("Sell", "Short", "0.1", None, "b1-p2-1-1"))
    modes = {p.side: p.margin_mode for p in phemex_client.get_positions()}
    assert modes == {"Long": "isolated", "Short": "cross"}


def test_zero_maintenance_margin_is_a_clear_data_error(seeded_exchange, phemex_client):
    phemex_client.ensure_hedge_mode(SYMBOL)
    phemex_client.place_order(order("Buy", "Long", "0.01", None, "b1-p1-1-1"))
    rules = seeded_exchange.market.rules(SYMBOL)
    seeded_exchange.set_rules(SYMBOL, replace(rules, maint_margin_rate=Decimal(0)))
    with pytest.raises(ExchangeDataError, match="maintenance margin is zero"):
        phemex_client.get_positions()


def test_balance_and_instrument_are_decimal(phemex_client):
    balance = phemex_client.get_balance()
    assert balance.wallet == Decimal("10000") and isinstance(balance.used, Decimal)
    rules = phemex_client.get_instrument(SYMBOL)
    assert (rules.qty_step, rules.tick_size, rules.min_notional) == (
        Decimal("0.001"),
        Decimal("0.1"),
        Decimal("5"),
    )
    with pytest.raises(UnknownSymbolError, match="unknown symbol"):
        phemex_client.get_instrument("NOPEUSDT")
