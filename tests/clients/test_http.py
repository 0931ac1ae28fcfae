"""The shared base: request budget, encodings, retry policy, error mapping and secret hygiene."""

from __future__ import annotations

import logging
import time
from decimal import Decimal

import pytest

from clients.bybit import BybitClient
from clients.errors import (
    AuthenticationError,
    ExchangeDataError,
    OutcomeUnknownError,
    RateLimitedError,
    TemporaryError,
)
from clients.http import (
    RequestBudget,
    encode_body,
    encode_query,
    fmt_decimal,
    resolve_base_url,
    to_decimal,
)
from clients.phemex import PhemexClient
from tests.fixtures.exchange import RecordingSleep, make_client

EXCHANGES = ["bybit", "phemex"]
BALANCE_PATH = {"bybit": "/v5/account/wallet-balance", "phemex": "/g-accounts/accountPositions"}
TICKER_PATH = {"bybit": "/v5/market/tickers", "phemex": "/md/v3/ticker/24hr"}


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self, now: float = 1000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_budget_lets_a_burst_through_then_paces_requests():
    clock, sleep = FakeClock(), RecordingSleep()
    budget = RequestBudget(2, 3, clock=clock, sleep=sleep)
    waits = [budget.acquire() for _ in range(5)]
    assert waits[:3] == [0, 0, 0]
    assert waits[3:] == [pytest.approx(0.5), pytest.approx(0.5)]
    assert sleep.calls == waits[3:]


def test_budget_refills_with_time_and_charges_weight():
    clock, sleep = FakeClock(), RecordingSleep()
    budget = RequestBudget(10, 10, clock=clock, sleep=sleep)
    assert budget.acquire(10) == 0
    clock.now += 0.5
    assert budget.acquire(5) == 0
    assert budget.acquire(5) == pytest.approx(0.5)


def test_client_stays_under_its_rate_limit(seeded_exchange):
    """Fifteen back-to-back Bybit trade calls at 10 a second wait about half a second in all."""
    frozen = time.time()  # no time passes for the bucket; still inside Bybit's recv window
    client = make_client("bybit", seeded_exchange, clock=lambda: frozen)
    with client:
        for _ in range(10):
            client.get_ticker("BTCUSDT")
        assert client.slept == []  # reads have their own, larger budget
        for _ in range(15):
            client.set_leverage("BTCUSDT", Decimal(10))
    assert sum(client.slept) == pytest.approx(0.5)


def test_query_is_encoded_in_order_with_plain_decimals_and_lowercase_booleans():
    query = encode_query({"symbol": "BTCUSDT", "qty": Decimal("1.500"), "reduce": True, "x": None})
    assert query == "symbol=BTCUSDT&qty=1.5&reduce=true"


def test_body_is_compact_json():
    assert encode_body({"a": "1", "b": False}) == b'{"a":"1","b":false}'
    assert encode_body(None) == b""


@pytest.mark.parametrize(
    ("value", "text"),
    [("30000", "30000"), ("0.0010", "0.001"), ("1E+2", "100"), ("-0", "0"), ("12.50", "12.5")],
)
def test_decimals_are_sent_without_exponent_or_trailing_zeros(value, text):
    assert fmt_decimal(Decimal(value)) == text


def test_numbers_from_the_exchange_must_be_finite_numbers():
    assert to_decimal("0.1", "x") == Decimal("0.1")
    for bad in ("abc", None, "NaN", True):
        with pytest.raises(ExchangeDataError, match="'x'"):
            to_decimal(bad, "x")


def test_base_urls_default_to_mainnet_and_follow_testnet_and_overrides():
    assert resolve_base_url("bybit") == "https://api.bybit.com"
    assert resolve_base_url("bybit", testnet=True) == "https://api-testnet.bybit.com"
    assert resolve_base_url("phemex") == "https://api.phemex.com"
    assert resolve_base_url("phemex", testnet=True) == "https://testnet-api.phemex.com"
    assert resolve_base_url("phemex", base_url="http://127.0.0.1:1/") == "http://127.0.0.1:1"
    assert BybitClient("", "", testnet=True).base_url == "https://api-testnet.bybit.com"
    assert PhemexClient("", "").base_url == "https://api.phemex.com"


@pytest.mark.parametrize("exchange", EXCHANGES)
def test_public_endpoints_work_without_keys_and_private_ones_refuse_early(
    seeded_exchange, exchange
):
    client = make_client(exchange, seeded_exchange, key="", secret="")
    with client:
        assert client.get_ticker("BTCUSDT").ask > 0
        assert client.get_instrument("BTCUSDT").qty_step == Decimal("0.001")
        assert len(client.get_candles("BTCUSDT", 5, 10)) == 10
        sent = len(seeded_exchange.requests)
        with pytest.raises(AuthenticationError, match="needs an API key"):
            client.get_balance()
    assert len(seeded_exchange.requests) == sent


@pytest.mark.parametrize("exchange", EXCHANGES)
def test_a_read_is_retried_with_backoff_after_a_5xx(seeded_exchange, exchange):
    seeded_exchange.inject("5xx", path=BALANCE_PATH[exchange], times=2)
    client = make_client(exchange, seeded_exchange)
    with client:
        assert client.get_balance().wallet == Decimal("10000")
    assert client.slept[-2:] == [0.5, 1.0]
    assert len(seeded_exchange.requests_to(BALANCE_PATH[exchange])) == 3


@pytest.mark.parametrize("exchange", EXCHANGES)
def test_a_read_gives_up_after_three_attempts(seeded_exchange, exchange):
    seeded_exchange.inject("5xx", path=TICKER_PATH[exchange], times=5)
    client = make_client(exchange, seeded_exchange)
    with client, pytest.raises(TemporaryError, match="HTTP 503"):
        client.get_ticker("BTCUSDT")
    assert len(seeded_exchange.requests_to(TICKER_PATH[exchange])) == 3


@pytest.mark.parametrize("exchange", EXCHANGES)
def test_a_rate_limit_answer_backs_off_and_succeeds(seeded_exchange, exchange):
    seeded_exchange.inject("rate_limit", path=TICKER_PATH[exchange])
    client = make_client(exchange, seeded_exchange)
    with client:
        assert client.get_ticker("BTCUSDT").bid == Decimal("29999.9")
    assert max(client.slept) >= 0.5
    statuses = [r.fault for r in seeded_exchange.requests_to(TICKER_PATH[exchange])]
    assert statuses == ["rate_limit", None]


@pytest.mark.parametrize("exchange", EXCHANGES)
def test_persistent_rate_limiting_surfaces_as_rate_limited(seeded_exchange, exchange):
    seeded_exchange.inject("rate_limit", path=TICKER_PATH[exchange], times=3)
    client = make_client(exchange, seeded_exchange)
    with client, pytest.raises(RateLimitedError):
        client.get_ticker("BTCUSDT")


@pytest.mark.parametrize("exchange", EXCHANGES)
def test_malformed_json_on_a_read_is_a_clear_data_error(seeded_exchange, exchange):
    seeded_exchange.inject("malformed", path=TICKER_PATH[exchange])
    client = make_client(exchange, seeded_exchange)
    with client, pytest.raises(ExchangeDataError, match="malformed JSON") as caught:
        client.get_ticker("BTCUSDT")
    assert TICKER_PATH[exchange] in str(caught.value)


@pytest.mark.parametrize("exchange", EXCHANGES)
def test_bad_key_is_an_authentication_error_that_never_shows_the_key(
    seeded_exchange, exchange, caplog
):
    key, secret = "leaky-key-8f2a1c", "leaky-secret-77d0e9"
    client = make_client(exchange, seeded_exchange, key=key, secret=secret)
    caplog.set_level(logging.DEBUG)
    with client, pytest.raises(AuthenticationError) as caught:
        client.get_balance()
    shown = [str(caught.value), repr(caught.value), caught.value.message, caplog.text, repr(client)]
    for text in shown:
        assert key not in text and secret not in text
    # The exchange's own answer did echo the key (Phemex) or the signed string (Bybit).
    assert caught.value.code in (10003, 10500)


@pytest.mark.parametrize("exchange", EXCHANGES)
def test_a_bad_signature_never_echoes_the_key_either(seeded_exchange, exchange, caplog):
    """Bybit's 10004 message repeats the signed string, which contains the API key."""
    caplog.set_level(logging.DEBUG)
    client = make_client(exchange, seeded_exchange, secret="wrong-secret-123456")
    with client, pytest.raises(AuthenticationError) as caught:
        client.get_balance()
    key = client._api_key
    assert key not in str(caught.value) and key not in caplog.text
    assert "wrong-secret-123456" not in str(caught.value) + caplog.text


def test_a_connection_refused_read_is_temporary():
    client = BybitClient(
        "k", "s", base_url="http://127.0.0.1:9", timeout=0.3, sleep=RecordingSleep()
    )
    with client, pytest.raises(TemporaryError, match="ConnectionError"):
        client.get_ticker("BTCUSDT")


def test_a_connection_refused_order_was_never_sent_so_it_is_not_unknown():
    from clients.base import OrderRequest  # noqa: PLC0415

    client = BybitClient(
        "k", "s", base_url="http://127.0.0.1:9", timeout=0.3, sleep=RecordingSleep()
    )
    order = OrderRequest("BTCUSDT", "Buy", "Long", Decimal("0.001"), None, "b1-p1-1-1")
    with client, pytest.raises(TemporaryError) as caught:
        client.place_order(order)
    assert not isinstance(caught.value, OutcomeUnknownError)
