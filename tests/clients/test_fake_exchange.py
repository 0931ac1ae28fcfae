"""The fake exchange itself: verification, matching, faults and clean shutdown."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
import requests

from clients.base import POST_ONLY, OrderRequest
from clients.errors import AuthenticationError, TemporaryError
from tests.fake_exchange import FakeExchange
from tests.fixtures.exchange import make_client

SYMBOL = "BTCUSDT"


def test_bybit_refuses_a_timestamp_outside_the_recv_window(seeded_exchange):
    """A clock 5 s fast is refused (10002); the client resyncs, and a write is not re-sent."""
    client = make_client("bybit", seeded_exchange, clock=lambda: time.time() + 5)
    with client:
        with pytest.raises(TemporaryError) as caught:
            client.set_leverage(SYMBOL, Decimal(5))
        assert caught.value.code == 10002
        assert [r.path for r in seeded_exchange.requests] == [
            "/v5/position/set-leverage",
            "/v5/market/time",
        ]
        client.set_leverage(SYMBOL, Decimal(5))  # the next run's attempt goes through
    assert seeded_exchange.account("bybit", "test-bybit-key").lev(SYMBOL, "Long") == 5


def test_phemex_refuses_an_expired_request(seeded_exchange):
    client = make_client("phemex", seeded_exchange, clock=lambda: time.time() - 120)
    with client, pytest.raises(AuthenticationError, match="expired"):
        client.get_balance()


def test_unsigned_private_requests_are_refused(seeded_exchange):
    with requests.Session() as session:
        bybit = session.get(
            seeded_exchange.url + "/v5/position/list?category=linear&symbol=BTCUSDT", timeout=2
        )
        phemex = session.get(seeded_exchange.url + "/g-accounts/positions?currency=USDT", timeout=2)
    assert bybit.json()["retCode"] == 10003
    assert phemex.status_code == 401


def test_resting_limits_fill_only_when_the_touch_crosses_them(seeded_exchange, bybit_client):
    bybit_client.ensure_hedge_mode(SYMBOL)
    bybit_client.place_order(
        OrderRequest(SYMBOL, "Buy", "Long", Decimal("0.01"), Decimal("29900"), "b1-p1-1-1")
    )
    seeded_exchange.set_price(SYMBOL, Decimal("29950"))
    assert seeded_exchange.orders("bybit")[0].status == "New"
    seeded_exchange.set_price(SYMBOL, Decimal("29899.9"))  # ask 29900.0 reaches the buy
    filled = seeded_exchange.orders("bybit")[0]
    assert (filled.status, filled.avg_price) == ("Filled", Decimal("29900"))
    position = seeded_exchange.position("bybit", "test-bybit-key", SYMBOL, "Long")
    assert (position.size, position.entry) == (Decimal("0.01"), Decimal("29900"))


def test_market_orders_fill_at_the_scripted_price_and_pay_taker_fees(
    seeded_exchange, phemex_client
):
    phemex_client.ensure_hedge_mode(SYMBOL)
    seeded_exchange.set_price(SYMBOL, Decimal("25000"))
    result = phemex_client.place_order(
        OrderRequest(SYMBOL, "Sell", "Short", Decimal("0.1"), None, "b1-p2-1-1")
    )
    assert result.avg_price == Decimal("25000")
    assert result.fee == Decimal("1.5")  # 0.06 % of 2500
    assert seeded_exchange.account("phemex", "test-phemex-key").balance == Decimal("9998.5")


def test_a_crossing_post_only_is_refused_by_both_dialects(seeded_exchange):
    for exchange in ("bybit", "phemex"):
        client = make_client(exchange, seeded_exchange)
        with client:
            client.ensure_hedge_mode(SYMBOL)
            client.place_order(
                OrderRequest(
                    SYMBOL,
                    "Buy",
                    "Long",
                    Decimal("0.01"),
                    Decimal("30000.1"),
                    "b1-p1-1-1",
                    time_in_force=POST_ONLY,
                )
            )
    statuses = [(o.exchange, o.status, o.filled_qty) for o in seeded_exchange.orders()]
    assert sorted(statuses) == [("bybit", "Cancelled", 0), ("phemex", "Rejected", 0)]


def test_the_log_keeps_parsed_fields_of_every_request(seeded_exchange, bybit_client):
    bybit_client.get_ticker(SYMBOL)
    (entry,) = seeded_exchange.requests
    assert (entry.exchange, entry.method, entry.path) == ("bybit", "GET", "/v5/market/tickers")
    assert entry.fields == {"category": "linear", "symbol": SYMBOL}


def test_unknown_faults_are_refused(fake_exchange):
    with pytest.raises(ValueError, match="unknown fault"):
        fake_exchange.inject("meteor")


def test_stop_returns_promptly_with_a_delayed_answer_in_flight():
    fx = FakeExchange().start()
    fx.seed_market()
    fx.inject("timeout", delay=30, times=3)
    client = make_client("bybit", fx, timeout=0.2)
    with client, pytest.raises(Exception):  # noqa: B017 - any client error; the timing matters
        client.get_ticker(SYMBOL)
    started = time.monotonic()
    fx.stop()
    assert time.monotonic() - started < 3
