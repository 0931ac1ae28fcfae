"""Signatures: the exchanges' documented worked examples byte for byte, then a round trip."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
import requests

from clients import bybit, phemex
from clients.errors import AuthenticationError
from clients.http import encode_body, hmac_sha256_hex
from tests.fixtures.exchange import make_client


def test_bybit_hmac_matches_the_documented_example():
    """Bybit's "How to Sign" example (bybit-exchange/bybit-official-api-docs, en/rest_api.md):
    secret t7T0YlFnYXk0Fx3JswQsDrViLg1Gh3DUU5Mr over
    api_key=B2Rou0PLPpGqcU0Vu2&leverage=100&symbol=BTCUSD&timestamp=1542434791000 gives
    670e3e4aa32b243f2dedf1dafcec2fd17a440e71b05681550416507de591d908."""
    message = b"api_key=B2Rou0PLPpGqcU0Vu2&leverage=100&symbol=BTCUSD&timestamp=1542434791000"
    assert (
        hmac_sha256_hex("t7T0YlFnYXk0Fx3JswQsDrViLg1Gh3DUU5Mr", message)
        == "670e3e4aa32b243f2dedf1dafcec2fd17a440e71b05681550416507de591d908"
    )


def test_bybit_v5_get_payload_matches_the_integration_guide():
    """https://bybit-exchange.github.io/docs/v5/guide "Create A Request", GET tab: param_str is
    "1658384314791XXXXXXXXXX5000category=option&symbol=BTC-29JUL22-25000-C"."""
    payload = bybit.sign_payload(
        "1658384314791", "XXXXXXXXXX", "5000", b"category=option&symbol=BTC-29JUL22-25000-C"
    )
    assert payload == b"1658384314791XXXXXXXXXX5000category=option&symbol=BTC-29JUL22-25000-C"


def test_bybit_v5_post_payload_is_the_raw_body_as_sent():
    """Same guide, POST tab: timestamp + api_key + recv_window + raw_request_body."""
    body = b'{\n"category": "option"\n}'
    payload = bybit.sign_payload("1658385579423", "XXXXXXXXXX", "5000", body)
    assert payload == b'1658385579423XXXXXXXXXX5000{\n"category": "option"\n}'


@pytest.mark.parametrize(
    ("path", "query", "expiry", "body", "signed"),
    [
        (  # phemex-api-docs Public-Contract-API-en.md, "Signature example 1: HTTP GET request"
            "/accounts/accountPositions",
            "currency=BTC",
            "1575735514",
            b"",
            b"/accounts/accountPositionscurrency=BTC1575735514",
        ),
        (  # "Signature example 2: HTTP GET request with multiple query string"
            "/orders/activeList",
            "ordStatus=New&ordStatus=PartiallyFilled&ordStatus=Untriggered&symbol=BTCUSD",
            "1575735951",
            b"",
            b"/orders/activeListordStatus=New&ordStatus=PartiallyFilled&ordStatus=Untriggered"
            b"&symbol=BTCUSD1575735951",
        ),
        (  # "Signature example 3: HTTP POST request"
            "/orders",
            "",
            "1575735514",
            b'{"symbol":"BTCUSD","clOrdID":"uuid-1573058952273","side":"Sell","priceEp":93185000,'
            b'"orderQty":7,"ordType":"Limit","reduceOnly":false,"timeInForce":"GoodTillCancel",'
            b'"takeProfitEp":0,"stopLossEp":0}',
            b'/orders1575735514{"symbol":"BTCUSD","clOrdID":"uuid-1573058952273","side":"Sell",'
            b'"priceEp":93185000,"orderQty":7,"ordType":"Limit","reduceOnly":false,'
            b'"timeInForce":"GoodTillCancel","takeProfitEp":0,"stopLossEp":0}',
        ),
    ],
)
def test_phemex_signed_string_matches_the_documented_examples(path, query, expiry, body, signed):
    """Phemex documents the signed string (path + query + expiry + body) for three requests."""
    assert phemex.sign_payload(path, query, expiry, body) == signed


def test_phemex_post_example_body_is_what_our_encoder_produces():
    """Our compact JSON encoder yields the documented example body byte for byte."""
    body = {
        "symbol": "BTCUSD",
        "clOrdID": "uuid-1573058952273",
        "side": "Sell",
        "priceEp": 93185000,
        "orderQty": 7,
        "ordType": "Limit",
        "reduceOnly": False,
        "timeInForce": "GoodTillCancel",
        "takeProfitEp": 0,
        "stopLossEp": 0,
    }
    assert encode_body(body) == (
        b'{"symbol":"BTCUSD","clOrdID":"uuid-1573058952273","side":"Sell","priceEp":93185000,'
        b'"orderQty":7,"ordType":"Limit","reduceOnly":false,"timeInForce":"GoodTillCancel",'
        b'"takeProfitEp":0,"stopLossEp":0}'
    )


def test_phemex_key_is_the_secret_as_utf8_bytes():
    """Spec 5.1: the secret is used as its raw UTF-8 bytes, not base64-decoded."""
    secret = "c2VjcmV0LXdpdGgtYmFzZTY0"
    expected = hmac.new(secret.encode("utf-8"), b"m", hashlib.sha256).hexdigest()
    assert hmac_sha256_hex(secret, b"m") == expected


@pytest.mark.parametrize("exchange", ["bybit", "phemex"])
def test_signed_requests_round_trip_through_the_fake_exchange(seeded_exchange, exchange):
    """Private GETs (query) and POSTs (body) are accepted; a wrong secret is refused."""
    client = make_client(exchange, seeded_exchange)
    wrong = make_client(exchange, seeded_exchange, secret="not-the-secret")
    try:
        assert client.get_balance().wallet > 0
        client.ensure_hedge_mode("BTCUSDT")
        with pytest.raises(AuthenticationError):
            wrong.get_balance()
    finally:
        client.close()
        wrong.close()


def test_fake_bybit_verifies_the_raw_body_bytes_not_a_reparsed_copy(seeded_exchange):
    """A body with unusual spacing is accepted when signed as sent, refused when re-serialised."""
    key, secret = "test-bybit-key", "test-bybit-secret"
    body = b'{"category": "linear",  "symbol": "BTCUSDT", "mode": 3}'
    compact = json.dumps(json.loads(body), separators=(",", ":")).encode()

    def post(signed_over: bytes):
        stamp = str(int(__import__("time").time() * 1000))
        sign = hmac.new(
            secret.encode(), f"{stamp}{key}5000".encode() + signed_over, hashlib.sha256
        ).hexdigest()
        headers = {
            "X-BAPI-API-KEY": key,
            "X-BAPI-TIMESTAMP": stamp,
            "X-BAPI-RECV-WINDOW": "5000",
            "X-BAPI-SIGN": sign,
            "Content-Type": "application/json",
        }
        with requests.Session() as session:
            return session.post(
                seeded_exchange.url + "/v5/position/switch-mode",
                data=body,
                headers=headers,
                timeout=2,
            ).json()

    assert post(compact)["retCode"] == 10004
    assert post(body)["retCode"] == 0
