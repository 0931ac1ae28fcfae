"""No API key or secret in any page, log line or stored trail once a recognisable key is saved."""

import logging

import pytest
from flask import url_for
from sqlalchemy import select

from saas.models import AuditLog, Bot, BotLog, TradingPair
from tests.fake_exchange import DEFAULT_CREDENTIALS
from tests.fixtures.bots import pair_form

# Recognisable values: if any part of them leaks, the scan below finds it.
FIRST_KEY, FIRST_SECRET = "SCANKEYaaaaaaaaaaaa1111", "SCANSECRETbbbbbbbbbbbb2222"
NEW_KEY, NEW_SECRET = "SCANKEYcccccccccccc3333", "SCANSECRETdddddddddddd4444"
SECRETS = (FIRST_KEY, FIRST_SECRET, NEW_KEY, NEW_SECRET) + DEFAULT_CREDENTIALS["bybit"]


def leaks(text: str) -> list[str]:
    """The secrets (or their first 12 characters) found in a text."""
    return [s for s in SECRETS if s in text or s[:12] in text]


@pytest.fixture
def stored(site, seeded_exchange, caplog):
    """A user whose Bybit bot was created and re-keyed through the pages, logging everything."""
    caplog.set_level(logging.DEBUG)
    seeded_exchange.add_account("bybit", NEW_KEY, NEW_SECRET)
    uid = site.user()
    client = site.client(uid)
    responses = [
        client.post(
            "/bots/new",
            data={
                "name": "Scan",
                "exchange": "bybit",
                "testnet": "y",
                "api_key": FIRST_KEY,
                "api_secret": FIRST_SECRET,
            },
        ),
    ]
    [(bot,)] = site.query(select(Bot))
    site.pair(bot.id)
    responses += [
        client.post(
            f"/bots/{bot.id}/keys",
            data={"api_key": NEW_KEY, "api_secret": NEW_SECRET, "test": "Test connection"},
        ),
        client.post(f"/bots/{bot.id}/keys", data={"api_key": NEW_KEY}),  # half: re-rendered
        client.post(f"/bots/{bot.id}/keys", data={"api_key": NEW_KEY, "api_secret": NEW_SECRET}),
        client.post(
            "/bots/new",
            data={
                "name": "",
                "exchange": "bybit",
                "api_key": FIRST_KEY,
                "api_secret": FIRST_SECRET,
            },
        ),
        client.post(
            "/bots/check-keys",
            data={"exchange": "bybit", "testnet": "y", "api_key": NEW_KEY, "api_secret": "wrong"},
        ),
        client.post(f"/bots/{bot.id}/test-connection", follow_redirects=True),
        client.post(f"/bots/{bot.id}/pairs/new", data=pair_form(symbol="NOPEUSDT")),
        client.post(f"/bots/{bot.id}/start", follow_redirects=True),
    ]
    return site, client, bot.id, responses


def every_bots_page(site, bot_id: int, pair_id: int) -> list[str]:
    """The URL of every GET route of the bots blueprint, for this bot and pair."""
    urls = []
    with site.app.test_request_context():
        for rule in site.app.url_map.iter_rules():
            if rule.endpoint.startswith("bots.") and "GET" in rule.methods:
                args = {"bot_id": bot_id, "pair_id": pair_id}
                urls.append(url_for(rule.endpoint, **{a: args[a] for a in rule.arguments}))
    return urls


def test_the_key_really_was_stored_and_used(stored):
    site, _, bot_id, responses = stored
    assert [r.status_code for r in responses[:1]] == [302]
    assert "Connected to Bybit testnet" in responses[1].get_data(as_text=True)
    assert site.get(Bot, bot_id).status == "running"


def test_no_page_of_the_bots_blueprint_shows_a_key_or_secret(stored):
    site, client, bot_id, responses = stored
    [(pair_id,)] = site.query(select(TradingPair.id).where(TradingPair.bot_id == bot_id))
    pages = {url: client.get(url) for url in every_bots_page(site, bot_id, pair_id)}
    assert len(pages) >= 8 and all(r.status_code in (200, 302) for r in pages.values())
    for url, response in pages.items():
        assert not leaks(response.get_data(as_text=True)), url
    for response in responses:
        assert not leaks(response.get_data(as_text=True)), response.request.path


def test_no_log_line_holds_a_key_or_secret(stored, caplog):
    # The pages were requested while the fixture was set up.
    records = caplog.get_records("setup")
    assert len(records) >= 5, "too little was logged for the scan to prove anything"
    for record in records:
        line = f"{record.name} {record.getMessage()} {record.exc_text or ''}"
        assert not leaks(line), line


def test_the_trail_and_logs_an_export_would_hold_have_no_key_or_secret(stored):
    site, _, bot_id, _ = stored
    audit = site.query(select(AuditLog.action, AuditLog.before, AuditLog.after))
    assert {row.action for row in audit} >= {"bot.create", "bot.keys_replaced", "bot.start"}
    logs = site.query(select(BotLog.message, BotLog.fields))
    assert not leaks(repr(audit)) and not leaks(repr(logs))
    bot = site.get(Bot, bot_id)
    assert not leaks(bot.api_key_encrypted + bot.api_secret_encrypted + repr(bot))
