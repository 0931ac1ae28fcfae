"""Owner-scoped lookups: another user's bot, pair, order or trade is a 404, like a missing one."""

from datetime import UTC, datetime
from decimal import Decimal as D

import pytest
from werkzeug.exceptions import NotFound

from saas.models import Bot, BotLog, BotRun, Order, Trade, TradingPair
from tests.fixtures.database import gen_bot, gen_pair, gen_user

NOW = datetime(2026, 3, 2, tzinfo=UTC)


@pytest.fixture
def two_tenants(db_session):
    """Alice and Bob, each with a bot, a pair, an order, a trade, a run and a log line."""
    owned = {}
    for name in ("alice", "bob"):
        user = gen_user(db_session, f"{name}@example.com")
        bot = gen_bot(db_session, user, name=f"{name}'s bot")
        pair = gen_pair(db_session, bot)
        cid = f"b{bot.id}-p{pair.id}-1-1"
        order = Order(
            bot_id=bot.id,
            pair_id=pair.id,
            client_order_id=cid,
            symbol="BTCUSDT",
            side="Long",
            action="OPEN",
            order_side="Buy",
            qty=D(1),
            price=D(1),
            status="filled",
            created_at=NOW,
        )
        trade = Trade(
            bot_id=bot.id,
            pair_id=pair.id,
            client_order_id=cid,
            time=NOW,
            symbol="BTCUSDT",
            side="Long",
            action="OPEN",
            qty=D(1),
            price=D(1),
        )
        run = BotRun(bot_id=bot.id, started_at=NOW)
        log = BotLog(bot_id=bot.id, level="info", message="hello", created_at=NOW)
        db_session.add_all([order, trade, run, log])
        db_session.flush()
        owned[name] = {
            "user": user,
            Bot: bot,
            TradingPair: pair,
            Order: order,
            Trade: trade,
            BotRun: run,
            BotLog: log,
        }
    db_session.commit()
    return owned


MODELS = [Bot, TradingPair, Order, Trade, BotRun, BotLog]


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_the_owner_gets_their_object(two_tenants, model):
    alice = two_tenants["alice"]
    assert model.get_owned_or_404(alice[model].id, alice["user"]) is alice[model]


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_another_users_object_is_not_found(two_tenants, model):
    alice, bob = two_tenants["alice"], two_tenants["bob"]
    with pytest.raises(NotFound):
        model.get_owned_or_404(bob[model].id, alice["user"])


@pytest.mark.parametrize("object_id", [999_999, "abc", None, "1; DROP TABLE bots"])
def test_missing_or_malformed_ids_are_not_found(two_tenants, object_id):
    with pytest.raises(NotFound):
        Bot.get_owned_or_404(object_id, two_tenants["alice"]["user"])


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_owned_by_lists_only_the_users_rows(db_session, two_tenants, model):
    alice = two_tenants["alice"]
    rows = db_session.scalars(model.owned_by(alice["user"])).all()
    assert rows == [alice[model]]


def test_owned_by_accepts_further_filters_and_a_plain_user_id(db_session, two_tenants):
    alice = two_tenants["alice"]
    query = Bot.owned_by(alice["user"].id).where(Bot.status == "stopped")
    assert db_session.scalars(query).all() == []


def test_in_the_web_app_the_request_session_is_used(app):
    from saas.extensions import db

    with app.app_context():
        alice, bob = gen_user(db.session), gen_user(db.session)
        bots = gen_bot(db.session, alice), gen_bot(db.session, bob)
        db.session.commit()
        alice_id, alice_bot_id, bob_bot_id = alice.id, bots[0].id, bots[1].id
        db.session.expunge_all()  # as when the user comes from the login session
        detached = db.session.get(type(alice), alice_id)
        db.session.expunge(detached)
        assert Bot.get_owned(alice_bot_id, detached).user_id == alice_id
        with pytest.raises(NotFound):
            Bot.get_owned_or_404(bob_bot_id, detached)
