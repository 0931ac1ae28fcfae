"""Accounts that never confirmed their e-mail may look around, set up bots and backtest, but
cannot start a bot; the bot page says why and offers to send the link again."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from saas.models import Bot
from saas.services.bots.edit import BotError, start_user_bot
from tests.fixtures.database import gen_bot, gen_pair, gen_user

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def text(response) -> str:
    """The response body as text."""
    return response.get_data(as_text=True)


def test_the_service_refuses_to_start_a_bot_of_an_unconfirmed_account(db_session):
    user = gen_user(db_session, email_verified=False)
    bot = gen_bot(db_session, user, status="stopped")
    gen_pair(db_session, bot)

    with pytest.raises(BotError, match="Confirm your e-mail address before starting a bot"):
        start_user_bot(db_session, user, bot.id, now=NOW)
    assert bot.status == "stopped"


def test_the_bot_page_says_why_and_offers_to_resend(site):
    uid = site.user(email_verified=False)
    bid = site.bot(uid)
    site.pair(bid)
    client = site.client(uid)

    started = text(client.post(f"/bots/{bid}/start", follow_redirects=True))

    assert "Confirm your e-mail address before starting a bot" in started
    assert 'action="/auth/resend-verification"' in started
    assert site.get(Bot, bid).status == "stopped"


def test_an_unconfirmed_account_may_still_create_bots_and_backtest(site):
    client = site.client(site.user(email_verified=False))

    created = client.post("/bots/new", data={"name": "Try", "exchange": "paper"})

    assert created.status_code == 302
    assert client.get("/dashboard/backtests").status_code == 200


def test_once_confirmed_the_bot_starts(site):
    uid = site.user(email_verified=True)
    bid = site.bot(uid)
    site.pair(bid)

    site.client(uid).post(f"/bots/{bid}/start")

    assert site.get(Bot, bid).status == "running"
