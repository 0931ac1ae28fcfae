"""Connection tests and symbol checks against the loopback fake exchange (Bybit and Phemex)."""

from decimal import Decimal

import pytest

from saas.services.bots.exchange_checks import (
    PERMISSIONS_NOTE,
    UnknownSymbolError,
    check_connection,
    check_symbol_format,
    client_settings,
    lookup_instrument,
    venue,
)
from strategies.types import InstrumentRules
from tests.fake_exchange import DEFAULT_CREDENTIALS

EXCHANGES = ["bybit", "phemex"]


@pytest.fixture
def env(seeded_exchange):
    """Both clients pointed at the fake exchange."""
    return {"BYBIT_BASE_URL": seeded_exchange.url, "PHEMEX_BASE_URL": seeded_exchange.url}


@pytest.mark.parametrize("exchange", EXCHANGES)
def test_good_keys_read_the_balance(env, exchange):
    key, secret = DEFAULT_CREDENTIALS[exchange]
    report = check_connection(exchange, key, secret, testnet=True, env=env)
    assert report.ok and report.wallet == Decimal(10000)
    assert "testnet: the key reads the account (wallet 10000 USDT)" in report.message


def test_phemex_keys_are_reported_as_unchecked_plainly(env):
    key, secret = DEFAULT_CREDENTIALS["phemex"]
    report = check_connection("phemex", key, secret, testnet=True, env=env)
    assert report.ok and report.permissions_checked is False
    assert report.key_check.status == "unchecked"
    assert "does not tell a key's permissions, so they could not be checked" in report.note
    assert "withdraw" in report.note


def test_a_paper_bot_gets_the_general_note():
    report = check_connection("paper", "", "", testnet=True, env={})
    assert report.key_check is None and report.note == PERMISSIONS_NOTE


@pytest.mark.parametrize("exchange", EXCHANGES)
def test_a_wrong_key_is_reported_as_refused_without_echoing_it(env, exchange):
    _, secret = DEFAULT_CREDENTIALS[exchange]
    report = check_connection(exchange, "WRONG-KEY-4242", secret, testnet=True, env=env)
    assert not report.ok
    assert report.message.startswith(f"{venue(exchange, True)} refused this key")
    assert "WRONG-KEY-4242" not in report.message and secret not in report.message


@pytest.mark.parametrize("exchange", EXCHANGES)
def test_a_wrong_secret_is_refused_too(env, exchange):
    key, _ = DEFAULT_CREDENTIALS[exchange]
    report = check_connection(exchange, key, "not-the-secret", testnet=False, env=env)
    assert not report.ok and "refused this key" in report.message and "mainnet" in report.message


def test_an_unreachable_exchange_says_try_again():
    env = {"BYBIT_BASE_URL": "http://127.0.0.1:9"}  # discard port: nothing listens
    report = check_connection("bybit", "k", "s", testnet=True, env=env)
    assert not report.ok and report.message.startswith("Could not reach Bybit testnet")


def test_missing_keys_and_paper_bots_need_no_call():
    assert not check_connection("bybit", "", "s", testnet=True, env={}).ok
    assert check_connection("paper", "", "", testnet=True, env={}).message.startswith("Paper bots")


@pytest.mark.parametrize("exchange", EXCHANGES)
def test_a_listed_symbol_brings_its_rules(env, exchange, seeded_exchange):
    seeded_exchange.set_rules(
        "BTCUSDT",
        InstrumentRules(
            "BTCUSDT",
            Decimal("0.001"),
            Decimal("0.001"),
            Decimal(100),
            Decimal("0.5"),
            max_leverage=Decimal(75),
        ),
    )
    check = lookup_instrument(exchange, "btcusdt", testnet=True, env=env)
    assert check.warning is None and check.rules.max_leverage == Decimal(75)


@pytest.mark.parametrize("exchange", EXCHANGES)
def test_an_unlisted_symbol_is_refused(env, exchange):
    with pytest.raises(UnknownSymbolError, match="NOPEUSDT is not listed on"):
        lookup_instrument(exchange, "NOPEUSDT", testnet=True, env=env)


def test_an_unreachable_exchange_accepts_the_symbol_with_a_warning():
    env = {"PHEMEX_BASE_URL": "http://127.0.0.1:9"}
    check = lookup_instrument("phemex", "BTCUSDT", testnet=True, env=env)
    assert check.rules is None
    assert check.warning.startswith("Could not check BTCUSDT with Phemex testnet")


def test_paper_bots_check_symbols_against_the_simulated_market():
    check = lookup_instrument("paper", "BTCUSDT", testnet=True, env={})
    assert check.rules.symbol == "BTCUSDT" and check.warning is None


@pytest.mark.parametrize("symbol", ["", "BTC", "BTC-USDT", "BTCUSD", "BTCUSDT; DROP"])
def test_symbols_must_look_like_usdt_perpetuals(symbol):
    with pytest.raises(UnknownSymbolError, match="not a USDT perpetual"):
        check_symbol_format(symbol)


def test_client_settings_take_the_last_source_and_skip_blanks():
    found = client_settings(
        {"BYBIT_BASE_URL": "http://a", "OTHER": "x"},
        {"BYBIT_BASE_URL": "http://b", "PAPER_PRICES": ""},
    )
    assert found == {"BYBIT_BASE_URL": "http://b"}
