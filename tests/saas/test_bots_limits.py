"""Plan limits: bots per user, pairs per bot, mainnet only on paid plans, checked under a lock."""

import threading

import pytest

from saas.db import make_session_factory
from saas.models import Bot, User
from saas.services.bots.limits import (
    DEFAULT_PLAN_LIMITS,
    LimitError,
    check_can_add_pair,
    check_can_create_bot,
    check_can_start,
    effective_plan,
    plan_limits,
)
from tests.fixtures.database import gen_bot, gen_pair, gen_user


def test_the_free_plan_has_one_bot_three_pairs_and_no_mainnet():
    limits = plan_limits(User(plan="free"), DEFAULT_PLAN_LIMITS)
    assert (limits.plan, limits.max_bots, limits.max_pairs, limits.mainnet) == ("free", 1, 3, False)


@pytest.mark.parametrize(
    ("plan", "status", "expected"),
    [
        ("free", None, "free"),
        ("pro", "active", "pro"),
        ("pro", "trialing", "pro"),
        ("pro", None, "pro"),  # set by an operator, no subscription
        ("pro", "canceled", "free"),
        ("pro", "unpaid", "free"),
        ("PRO ", "active", "pro"),
    ],
)
def test_a_lapsed_subscription_counts_as_the_free_plan(plan, status, expected):
    assert effective_plan(User(plan=plan, plan_status=status)) == expected


def test_an_unknown_plan_gets_the_free_limits_and_missing_values_come_from_free():
    table = {"free": {"max_bots": 2, "max_pairs": 4, "mainnet": False}, "gold": {"max_bots": 9}}
    assert plan_limits(User(plan="platinum"), table).max_bots == 2
    gold = plan_limits(User(plan="gold"), table)
    assert (gold.plan, gold.max_bots, gold.max_pairs, gold.mainnet) == ("gold", 9, 4, False)


def test_an_unlimited_value_never_limits():
    table = {
        "free": {"max_bots": 1, "max_pairs": 3, "mainnet": False},
        "big": {"max_bots": 20, "max_pairs": None, "mainnet": True},
    }
    assert plan_limits(User(plan="big"), table).max_pairs >= 1_000_000


def test_a_free_user_gets_one_bot(db_session):
    user = gen_user(db_session)
    check_can_create_bot(user, session=db_session)
    gen_bot(db_session, user)
    with pytest.raises(LimitError, match="free plan allows 1 bot and you have 1"):
        check_can_create_bot(user, session=db_session)


def test_a_free_user_may_use_testnet_and_paper_but_not_mainnet(db_session):
    user = gen_user(db_session)
    check_can_create_bot(user, exchange="bybit", testnet=True, session=db_session)
    check_can_create_bot(user, exchange="paper", testnet=False, session=db_session)
    with pytest.raises(LimitError, match="testnet and paper only"):
        check_can_create_bot(user, exchange="bybit", testnet=False, session=db_session)
    pro = gen_user(db_session, plan="pro", plan_status="active")
    check_can_create_bot(pro, exchange="bybit", testnet=False, session=db_session)


def test_pairs_per_bot_stop_at_the_plan_limit(db_session):
    bot = gen_bot(db_session, gen_user(db_session))
    for symbol in ("BTCUSDT", "ETHUSDT", "SOLUSDT"):
        check_can_add_pair(bot, session=db_session)
        gen_pair(db_session, bot, symbol)
    with pytest.raises(LimitError, match="3 trading pairs per bot and this bot has 3"):
        check_can_add_pair(bot, session=db_session)


def test_a_bot_without_an_active_pair_cannot_start(db_session):
    bot = gen_bot(db_session, gen_user(db_session), status="stopped")
    with pytest.raises(LimitError, match="active trading pair"):
        check_can_start(bot, session=db_session)
    gen_pair(db_session, bot, is_active=False)
    with pytest.raises(LimitError, match="active trading pair"):
        check_can_start(bot, session=db_session)
    gen_pair(db_session, bot, "ETHUSDT")
    check_can_start(bot, session=db_session)


def test_a_downgraded_user_keeps_mainnet_bots_but_cannot_start_them(db_session):
    user = gen_user(db_session, plan="pro", plan_status="canceled")
    bot = gen_bot(db_session, user, exchange="bybit", testnet=False, status="stopped")
    gen_pair(db_session, bot)
    with pytest.raises(LimitError, match="testnet and paper only"):
        check_can_start(bot, session=db_session)


def test_a_downgraded_user_runs_only_as_many_bots_as_the_plan_allows(db_session):
    user = gen_user(db_session)
    running = gen_bot(db_session, user)
    gen_pair(db_session, running)
    second = gen_bot(db_session, user, status="stopped")
    gen_pair(db_session, second)
    with pytest.raises(LimitError, match="runs 1 bot at a time"):
        check_can_start(second, session=db_session)


def test_a_real_exchange_bot_needs_its_keys_to_start(db_session, keyring):
    user = gen_user(db_session, plan="pro")
    bot = gen_bot(db_session, user, exchange="bybit", status="stopped", ring=keyring)
    bot.api_key_encrypted = bot.api_secret_encrypted = None
    gen_pair(db_session, bot)
    with pytest.raises(LimitError, match="API key and secret"):
        check_can_start(bot, session=db_session)


@pytest.mark.postgres
def test_two_racing_creates_on_a_one_bot_plan_make_one_bot(pg_url):
    """Both requests lock the user row before counting, so the second sees the first's bot."""
    from saas.db import make_engine

    engine = make_engine(pg_url)
    sessions = make_session_factory(engine)
    with sessions() as setup:
        user_id = gen_user(setup).id
        setup.commit()
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def create(name: str) -> None:
        with sessions() as session:
            user = session.get(User, user_id)
            barrier.wait()
            try:
                check_can_create_bot(user, session=session)
                session.add(Bot(user_id=user_id, name=name, exchange="paper"))
                # Hold the lock a moment so the other request really has to wait for it.
                threading.Event().wait(0.2)
                session.commit()
                outcomes.append("created")
            except LimitError:
                session.rollback()
                outcomes.append("refused")

    threads = [threading.Thread(target=create, args=(f"bot {n}",)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    try:
        assert sorted(outcomes) == ["created", "refused"]
        with sessions() as session:
            assert session.query(Bot).filter_by(user_id=user_id).count() == 1
    finally:
        engine.dispose()
