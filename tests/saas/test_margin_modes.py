"""A pair's margin mode: set on the pair form, simulated by paper trading, and checked against
the mode the exchange reports (a mismatch is a warning on the bot page, never changed)."""

from datetime import UTC, datetime
from decimal import Decimal as D
from types import SimpleNamespace

from sqlalchemy import select

from clients.base import OrderRequest
from saas.db import make_session_factory
from saas.models import TradingPair
from saas.services.bots.lifecycle import record_run_result
from saas.services.bots.paper import open_paper_client
from tests.fixtures.bots import pair_form
from tests.fixtures.database import gen_bot, gen_pair, gen_user
from workflows.trading import OK, BotRunResult, PairResult

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
WARNING = "the exchange reports its position as"


def test_the_pair_form_saves_the_margin_mode(site):
    uid = site.user()
    bid = site.bot(uid)
    browser = site.client(uid)
    assert 'name="margin_mode"' in browser.get(f"/bots/{bid}/pairs/new").get_data(as_text=True)
    browser.post(f"/bots/{bid}/pairs/new", data=pair_form(margin_mode="isolated"))
    ((pair,),) = site.query(select(TradingPair))
    assert pair.margin_mode == "isolated"
    refused = browser.post(
        f"/bots/{bid}/pairs/{pair.id}/edit", data=pair_form(margin_mode="portfolio")
    )
    assert "Not a valid choice" in refused.get_data(as_text=True)
    assert site.get(TradingPair, pair.id).margin_mode == "isolated"


def test_a_new_pair_is_cross_like_the_exchanges(site):
    uid = site.user()
    pid = site.pair(site.bot(uid))
    assert site.get(TradingPair, pid).margin_mode == "cross"


def test_a_mismatch_with_the_exchange_is_a_warning_on_the_bot_page(site):
    uid = site.user()
    bid = site.bot(uid)
    site.pair(bid, margin_mode="cross", exchange_margin_mode="isolated")
    site.pair(bid, "ETHUSDT", margin_mode="cross", exchange_margin_mode="cross")
    page = site.client(uid).get(f"/bots/{bid}").get_data(as_text=True)
    assert page.count(WARNING) == 1
    assert "BTCUSDT Long is set to cross margin, but the exchange reports" in page
    assert "(exchange: isolated)" in page


def test_no_warning_before_the_exchange_reported_a_mode(site):
    uid = site.user()
    bid = site.bot(uid)
    site.pair(bid, margin_mode="isolated")
    assert WARNING not in site.client(uid).get(f"/bots/{bid}").get_data(as_text=True)


def test_a_run_records_the_exchanges_mode_and_never_changes_the_setting(db_session, db_engine):
    bot = gen_bot(db_session, gen_user(db_session))
    pair = gen_pair(db_session, bot, margin_mode="cross")
    other = gen_pair(db_session, bot, "ETHUSDT")
    db_session.commit()
    sessions = make_session_factory(db_engine)
    config = SimpleNamespace(sessions=sessions, bot_id=bot.id, telegram=(None, None))
    result = BotRunResult(
        "r1",
        OK,
        [
            PairResult(str(pair.id), "BTCUSDT", "Long", OK, margin_mode="isolated"),
            PairResult(str(other.id), "ETHUSDT", "Long", OK),  # flat: nothing to read
        ],
    )
    record_run_result(config, result, now=NOW, env={})
    db_session.expire_all()
    assert db_session.get(TradingPair, pair.id).exchange_margin_mode == "isolated"
    assert db_session.get(TradingPair, pair.id).margin_mode == "cross"
    assert db_session.get(TradingPair, other.id).exchange_margin_mode is None


def test_paper_trading_simulates_the_pairs_mode(db_session, db_engine):
    bot = gen_bot(db_session, gen_user(db_session))
    db_session.commit()
    sessions = make_session_factory(db_engine)
    client = open_paper_client(
        sessions, bot.id, {}, lambda: NOW, margin_modes={"BTCUSDT": "isolated"}
    )
    client.set_leverage("BTCUSDT", D(10))
    ask = client.get_ticker("BTCUSDT").ask
    client.place_order(OrderRequest("BTCUSDT", "Buy", "Long", D("0.01"), ask + 1000, "c-1"))
    (position,) = client.get_positions()
    assert position.margin_mode == "isolated"
    again = open_paper_client(sessions, bot.id, {}, lambda: NOW, margin_modes={"BTCUSDT": "cross"})
    assert again.get_positions()[0].margin_mode == "cross"
