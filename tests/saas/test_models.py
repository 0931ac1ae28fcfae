"""The models keep bad data out on both databases, and give back UTC times, Decimals and JSON."""

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal as D

import pytest
from sqlalchemy import inspect, select
from sqlalchemy.exc import IntegrityError, StatementError

from saas.models import Bot, BotRun, Order, PaperAccount, Trade, TradingPair, User
from tests.fixtures.database import gen_bot, gen_pair, gen_user

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def order(bot, pair, cid="b1-p1-1-1", **fields):
    """A valid pending order, overridable field by field."""
    values = dict(
        bot_id=bot.id,
        pair_id=pair.id,
        client_order_id=cid,
        symbol="BTCUSDT",
        side="Long",
        action="OPEN",
        order_side="Buy",
        qty=D("0.01"),
        price=D("30000"),
        status="pending",
        created_at=NOW,
    )
    return Order(**(values | fields))


@pytest.mark.parametrize(
    ("model", "fields", "constraint"),
    [
        ("pair", {"side": "long"}, "side"),
        ("pair", {"leverage": D(0)}, "leverage"),
        ("pair", {"leverage": D("125.5")}, "leverage"),
        ("pair", {"ema_interval": 7}, "ema_interval"),
        ("bot", {"status": "flying"}, "status"),
        ("bot", {"exchange": "kraken"}, "exchange"),
        ("bot", {"run_interval_minutes": 0}, "run_interval_minutes"),
        ("user", {"role": "root"}, "role"),
        ("user", {"status": "deleted"}, "status"),
        ("order", {"status": "done"}, "status"),
        ("order", {"action": "BUY"}, "action"),
        ("order", {"order_side": "Long"}, "order_side"),
        ("order", {"qty": D(0)}, "qty"),
        ("run", {"outcome": "great"}, "outcome"),
    ],
)
def test_check_constraints_refuse_bad_values(db_session, model, fields, constraint):
    user = gen_user(db_session)
    bot = gen_bot(db_session, user)
    pair = gen_pair(db_session, bot)
    db_session.commit()
    row = {
        "pair": lambda: TradingPair(
            **({"bot_id": bot.id, "symbol": "ETHUSDT", "side": "Long"} | fields)
        ),
        "bot": lambda: Bot(**({"user_id": user.id, "name": "other", "exchange": "paper"} | fields)),
        "user": lambda: User(email="x@example.com", password_hash="h", **fields),
        "order": lambda: order(bot, pair, **fields),
        "run": lambda: BotRun(bot_id=bot.id, started_at=NOW, **fields),
    }[model]()
    db_session.add(row)
    with pytest.raises(IntegrityError) as info:
        db_session.flush()
    assert constraint in str(info.value.orig).lower()


def test_leverage_of_125_is_the_maximum_allowed(db_session):
    bot = gen_bot(db_session, gen_user(db_session))
    pair = gen_pair(db_session, bot, leverage=D(125))
    db_session.commit()
    assert db_session.get(TradingPair, pair.id).leverage == D(125)


def test_one_pair_per_bot_symbol_and_side(db_session):
    bot = gen_bot(db_session, gen_user(db_session))
    gen_pair(db_session, bot, "BTCUSDT", "Long")
    gen_pair(db_session, bot, "BTCUSDT", "Short")  # the other side is a different pair
    db_session.commit()
    with pytest.raises(IntegrityError):
        gen_pair(db_session, bot, "BTCUSDT", "Long")


def test_client_order_ids_and_trades_are_unique(db_session):
    bot = gen_bot(db_session, gen_user(db_session))
    pair = gen_pair(db_session, bot)
    db_session.add(order(bot, pair))
    db_session.commit()
    db_session.add(order(bot, pair))
    with pytest.raises(IntegrityError):
        db_session.flush()
    db_session.rollback()
    trade = dict(
        bot_id=bot.id,
        pair_id=pair.id,
        client_order_id="b1-p1-1-1",
        time=NOW,
        symbol="BTCUSDT",
        side="Long",
        action="OPEN",
        qty=D(1),
        price=D(1),
    )
    db_session.add(Trade(**trade))
    db_session.commit()
    db_session.add(Trade(**trade))
    with pytest.raises(IntegrityError):
        db_session.flush()


def test_a_real_exchange_bot_runs_only_with_encrypted_keys(db_session):
    user = gen_user(db_session)
    naked = Bot(user_id=user.id, name="naked", exchange="bybit")  # stopped: keys come next
    db_session.add(naked)
    db_session.flush()
    naked.status = "running"
    with pytest.raises(IntegrityError, match="keys_to_run"):
        db_session.flush()


def test_times_come_back_in_utc_and_naive_times_are_refused(db_session):
    bot = gen_bot(db_session, gen_user(db_session))
    bot.last_run_at = datetime(2026, 3, 2, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    db_session.commit()
    db_session.expire_all()
    stored = db_session.get(Bot, bot.id).last_run_at
    assert stored == NOW and stored.utcoffset() == timedelta(0)
    bot.next_run_at = datetime(2026, 3, 2, 12, 0)  # noqa: DTZ001 - the point of the test
    with pytest.raises(StatementError, match="naive datetime"):
        db_session.flush()


@pytest.mark.parametrize(
    "value", [D("0.0000000123"), D("30000.1"), D("123456.7890123456"), D("-42.5"), D(7)]
)
def test_money_round_trips_as_decimal(db_session, value):
    bot = gen_bot(db_session, gen_user(db_session))
    account = PaperAccount(bot_id=bot.id, initial_balance=D(1), wallet=value, state={})
    db_session.add(account)
    db_session.commit()
    db_session.expire_all()
    stored = db_session.scalar(select(PaperAccount.wallet))
    assert isinstance(stored, D) and stored == value


def test_money_is_rounded_to_ten_places_and_floats_are_refused(db_session):
    bot = gen_bot(db_session, gen_user(db_session))
    db_session.add(
        PaperAccount(bot_id=bot.id, initial_balance=D(1), wallet=D("1.00000000005"), state={})
    )
    db_session.commit()
    db_session.expire_all()
    assert db_session.scalar(select(PaperAccount.wallet)) == D("1.0000000001")
    account = db_session.scalar(select(PaperAccount))
    account.wallet = 1.5
    with pytest.raises(StatementError, match="Decimal, not a float"):
        db_session.flush()


def test_json_columns_round_trip_and_are_jsonb_on_postgresql(db_session, db_engine):
    bot = gen_bot(db_session, gen_user(db_session))
    params = {"profit_pnl": "0.2", "use_postonly": False, "nested": {"a": [1, 2]}}
    pair = gen_pair(db_session, bot, strategy_params=params)
    db_session.commit()
    db_session.expire_all()
    assert db_session.get(TradingPair, pair.id).strategy_params == params
    column = {c["name"]: c for c in inspect(db_engine).get_columns("trading_pairs")}
    kind = type(column["strategy_params"]["type"]).__name__
    assert kind == ("JSONB" if db_engine.dialect.name == "postgresql" else "JSON")


@pytest.mark.parametrize(
    ("table", "columns"),
    [
        ("bots", ["status", "next_run_at"]),
        ("trades", ["bot_id", "time"]),
        ("trades", ["pair_id", "time"]),
        ("orders", ["bot_id", "status"]),
        ("bot_runs", ["bot_id", "started_at"]),
        ("bot_logs", ["bot_id", "created_at"]),
    ],
)
def test_runner_and_dashboard_indexes_exist(db_engine, table, columns):
    indexed = [index["column_names"] for index in inspect(db_engine).get_indexes(table)]
    assert columns in indexed


def test_deleting_a_user_removes_their_bots_but_a_deleted_pair_keeps_its_trades(db_session):
    user = gen_user(db_session)
    bot = gen_bot(db_session, user)
    pair = gen_pair(db_session, bot)
    db_session.add(
        Trade(
            bot_id=bot.id,
            pair_id=pair.id,
            client_order_id="c1",
            time=NOW,
            symbol="BTCUSDT",
            side="Long",
            action="OPEN",
            qty=D(1),
            price=D(1),
        )
    )
    db_session.commit()
    db_session.delete(db_session.get(TradingPair, pair.id))
    db_session.commit()
    db_session.expire_all()
    trade = db_session.scalar(select(Trade))
    assert trade.pair_id is None and trade.symbol == "BTCUSDT"
    db_session.delete(db_session.get(User, user.id))
    db_session.commit()
    assert db_session.scalar(select(Bot)) is None and db_session.scalar(select(Trade)) is None


def test_reprs_never_show_encrypted_keys(db_session):
    bot = gen_bot(db_session, gen_user(db_session), exchange="bybit", api_key="K", api_secret="S")
    assert bot.api_key_encrypted not in repr(bot) and "bybit" in repr(bot)
