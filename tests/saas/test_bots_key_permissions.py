"""Key permissions read at onboarding against the fake exchange (Bybit /v5/user/query-api).

A key that can withdraw or transfer is refused with a clear message; a key without an IP
whitelist is saved with a warning naming this server's address; Phemex keys are said plainly
to be unchecked; the result is stored, shown on the bot page and re-read by "Test connection".
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from clients.bybit import BybitClient
from saas.models import Bot
from saas.services.bots.exchange_checks import check_connection, check_key
from tests.fake_exchange import DEFAULT_CREDENTIALS

BYBIT_KEY, BYBIT_SECRET = DEFAULT_CREDENTIALS["bybit"]
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
TRADING = {"ContractTrade": ["Order", "Position"]}
WITHDRAW = {"ContractTrade": ["Order", "Position"], "Wallet": ["AccountTransfer", "Withdraw"]}
TRANSFER = {"ContractTrade": ["Order", "Position"], "Wallet": ["SubMemberTransfer"]}


def text(response) -> str:
    """The response body as text."""
    return response.get_data(as_text=True)


def new_bot_form(**changes) -> dict:
    """The wizard's first step for a Bybit testnet bot with the fake exchange's key."""
    return {
        "name": "Live",
        "exchange": "bybit",
        "testnet": "y",
        "api_key": BYBIT_KEY,
        "api_secret": BYBIT_SECRET,
        "submit": "Create bot",
        **changes,
    }


@pytest.fixture
def env(seeded_exchange):
    """Both clients pointed at the fake exchange."""
    return {"BYBIT_BASE_URL": seeded_exchange.url, "PHEMEX_BASE_URL": seeded_exchange.url}


def test_the_bybit_client_reads_the_keys_own_permissions_signed(seeded_exchange):
    seeded_exchange.set_key_permissions("bybit", BYBIT_KEY, WITHDRAW, ips=["203.0.113.9"])
    client = BybitClient(BYBIT_KEY, BYBIT_SECRET, base_url=seeded_exchange.url, timeout=2)

    found = client.get_key_permissions()

    assert found.can_withdraw and found.can_transfer and found.can_trade_contracts
    assert found.ip_whitelist == ("203.0.113.9",)
    assert "Wallet.Withdraw" in found.permissions
    (request,) = seeded_exchange.requests_to("/v5/user/query-api")
    assert request.status == 200 and "x-bapi-sign" in request.headers  # verified by the fake


@pytest.mark.parametrize("permissions", [WITHDRAW, TRANSFER], ids=["withdraw", "transfer"])
def test_a_key_that_can_move_money_is_refused_with_a_clear_message(
    seeded_exchange, env, permissions
):
    seeded_exchange.set_key_permissions("bybit", BYBIT_KEY, permissions, ips=["203.0.113.9"])

    check = check_key("bybit", BYBIT_KEY, BYBIT_SECRET, testnet=True, env=env, now=NOW)
    report = check_connection("bybit", BYBIT_KEY, BYBIT_SECRET, testnet=True, env=env, now=NOW)

    assert check.refused
    assert "may move money out of your account" in check.messages[0]
    assert "without any Wallet (withdraw or transfer) permission" in check.messages[0]
    assert not report.ok and "this key is refused" in report.message


def test_a_key_without_ip_whitelist_gets_the_warning_with_our_address(seeded_exchange, env):
    seeded_exchange.set_key_permissions("bybit", BYBIT_KEY, TRADING, ips=["*"])

    check = check_key(
        "bybit", BYBIT_KEY, BYBIT_SECRET, testnet=True, env={**env, "EGRESS_IP": "198.51.100.7"},
        now=NOW,
    )  # fmt: skip

    assert check.status == "warning"
    assert check.messages == (
        "This key has no IP whitelist: whoever copies it can use it from anywhere. Restrict it "
        "on Bybit testnet to this server's address: 198.51.100.7.",
    )


def test_without_egress_ip_the_address_toward_the_exchange_is_shown(seeded_exchange, env):
    check = check_key("bybit", BYBIT_KEY, BYBIT_SECRET, testnet=True, env=env, now=NOW)

    assert check.status == "warning" and "this server's address: 127.0.0.1." in check.messages[0]


def test_a_whitelisted_trading_key_is_ok(seeded_exchange, env):
    seeded_exchange.set_key_permissions("bybit", BYBIT_KEY, TRADING, ips=["198.51.100.7"])

    check = check_key("bybit", BYBIT_KEY, BYBIT_SECRET, testnet=True, env=env, now=NOW)

    assert check.status == "ok" and check.ip_whitelist == ("198.51.100.7",)


def test_a_read_only_key_is_warned_it_cannot_trade(seeded_exchange, env):
    seeded_exchange.set_key_permissions(
        "bybit", BYBIT_KEY, TRADING, ips=["198.51.100.7"], read_only=True
    )

    check = check_key("bybit", BYBIT_KEY, BYBIT_SECRET, testnet=True, env=env, now=NOW)

    assert check.status == "warning" and "cannot place contract orders" in check.messages[0]


def test_phemex_says_plainly_that_it_could_not_be_checked(seeded_exchange, env):
    key, secret = DEFAULT_CREDENTIALS["phemex"]

    check = check_key("phemex", key, secret, testnet=True, env=env, now=NOW)

    assert check.status == "unchecked"
    assert check.messages[0].startswith(
        "Phemex testnet's API does not tell a key's permissions, so they could not be checked."
    )
    assert not seeded_exchange.requests_to("/v5/user/query-api")


# -- the pages ---------------------------------------------------------------------------------


def test_creating_a_bot_with_a_withdraw_key_is_refused_and_saves_nothing(site, seeded_exchange):
    seeded_exchange.set_key_permissions("bybit", BYBIT_KEY, WITHDRAW)
    client = site.client(site.user())

    response = client.post("/bots/new", data=new_bot_form())

    assert response.status_code == 200
    assert "may move money out of your account (Wallet.AccountTransfer, Wallet.Withdraw)" in text(
        response
    )
    assert site.query(select(Bot)) == []


def test_a_new_bot_stores_the_check_and_its_page_shows_the_warning(site, seeded_exchange):
    site.app.config["EGRESS_IP"] = "198.51.100.7"
    uid = site.user()
    client = site.client(uid)

    response = client.post("/bots/new", data=new_bot_form())

    assert response.status_code == 302
    (bot,) = [row for (row,) in site.query(select(Bot))]
    assert bot.key_check["status"] == "warning"
    page = text(client.get(f"/bots/{bot.id}"))
    assert "Key permissions: check these" in page
    assert "no IP whitelist" in page and "198.51.100.7" in page
    assert BYBIT_SECRET not in page and f"…{BYBIT_SECRET[-4:]}" not in page


def test_test_connection_re_checks_and_stores_the_result(site, seeded_exchange):
    uid = site.user()
    bid = site.bot(uid, exchange="bybit")
    client = site.client(uid)
    seeded_exchange.set_key_permissions("bybit", BYBIT_KEY, WITHDRAW)

    client.post(f"/bots/{bid}/test-connection")

    assert site.get(Bot, bid).key_check["status"] == "refused"
    page = text(client.get(f"/bots/{bid}"))
    assert "Key permissions: refused" in page and "may move money" in page

    seeded_exchange.set_key_permissions(
        "bybit", BYBIT_KEY, {"ContractTrade": ["Order", "Position"]}, ips=["198.51.100.7"]
    )
    client.post(f"/bots/{bid}/test-connection")
    assert "Key permissions: trading only" in text(client.get(f"/bots/{bid}"))


def test_replacing_keys_with_a_withdraw_key_is_refused(site, seeded_exchange):
    uid = site.user()
    bid = site.bot(uid, exchange="bybit", api_key="old-key-1111", api_secret="old-secret")
    seeded_exchange.set_key_permissions("bybit", BYBIT_KEY, WITHDRAW)

    response = site.client(uid).post(
        f"/bots/{bid}/keys",
        data={"api_key": BYBIT_KEY, "api_secret": BYBIT_SECRET, "submit": "Save keys"},
    )

    assert response.status_code == 200 and "may move money" in text(response)
    assert site.get(Bot, bid).key_check is None  # the old key stays, unchanged


def test_a_phemex_bot_page_says_its_permissions_were_not_checked(site):
    key, secret = DEFAULT_CREDENTIALS["phemex"]
    client = site.client(site.user())

    client.post("/bots/new", data=new_bot_form(exchange="phemex", api_key=key, api_secret=secret))

    (bot,) = [row for (row,) in site.query(select(Bot))]
    page = text(client.get(f"/bots/{bot.id}"))
    assert "Key permissions: not checked" in page
    assert "does not tell a key&#39;s permissions" in page
