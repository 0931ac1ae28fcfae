"""A paper bot's simulated account lives in paper_accounts and is read only when first used."""

from datetime import UTC, datetime
from decimal import Decimal as D

from sqlalchemy import select

from clients.base import OrderRequest
from saas.db import make_session_factory
from saas.models import PaperAccount
from saas.services.bots.paper import open_paper_client
from tests.fixtures.database import gen_bot, gen_user

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def test_the_account_opens_with_paper_balance_and_survives_the_process(db_session, db_engine):
    bot = gen_bot(db_session, gen_user(db_session))
    db_session.commit()
    sessions = make_session_factory(db_engine)
    env = {"PAPER_BALANCE": "2500"}
    client = open_paper_client(sessions, bot.id, env, lambda: NOW)
    assert db_session.scalar(select(PaperAccount)) is None  # nothing read or written yet
    assert client.get_balance().wallet == D(2500)
    bid = client.get_ticker("BTCUSDT").bid
    client.set_leverage("BTCUSDT", D(10))
    client.place_order(OrderRequest("BTCUSDT", "Buy", "Long", D("0.01"), bid + 1000, "c-1"))

    again = open_paper_client(sessions, bot.id, {"PAPER_BALANCE": "1"}, lambda: NOW)
    assert again.get_order("BTCUSDT", "c-1").filled_qty == D("0.01")
    assert again.get_balance().wallet == client.get_balance().wallet < D(2500)
    db_session.expire_all()
    account = db_session.scalar(select(PaperAccount))
    assert account.initial_balance == D(2500) and account.wallet == client.engine.wallet


def test_state_read_before_another_run_finished_is_never_used(db_session, db_engine):
    """Built before the lock, the client must read the account after the other run saved."""
    bot = gen_bot(db_session, gen_user(db_session))
    db_session.commit()
    sessions = make_session_factory(db_engine)
    early = open_paper_client(sessions, bot.id, {}, lambda: NOW)  # built, not used yet
    other = open_paper_client(sessions, bot.id, {}, lambda: NOW)
    other.set_leverage("BTCUSDT", D(10))
    bid = other.get_ticker("BTCUSDT").bid
    other.place_order(OrderRequest("BTCUSDT", "Buy", "Long", D("0.01"), bid + 1000, "c-1"))
    assert early.get_order("BTCUSDT", "c-1") is not None


def test_unchanged_state_is_not_written_again(db_session, db_engine):
    bot = gen_bot(db_session, gen_user(db_session))
    db_session.commit()
    client = open_paper_client(make_session_factory(db_engine), bot.id, {}, lambda: NOW)
    client.get_balance()
    stamp = db_session.scalar(select(PaperAccount.updated_at))
    client.get_positions()  # reads only: no write
    db_session.expire_all()
    assert db_session.scalar(select(PaperAccount.updated_at)) == stamp
