"""The web's pair services: one pair per symbol and side, checked leverage and strategy params."""

from decimal import Decimal

import pytest
from sqlalchemy import select
from werkzeug.exceptions import NotFound

from saas.models import AuditLog, TradingPair
from saas.services.bots.edit import BotError
from saas.services.bots.pairs import (
    PairInput,
    add_pair,
    clean_strategy_params,
    delete_pair,
    param_texts,
    strategy_fields,
    update_pair,
)
from strategies import STRATEGIES
from strategies.types import InstrumentRules
from tests.fixtures.database import gen_bot, gen_pair, gen_user

RULES = InstrumentRules(
    "BTCUSDT",
    Decimal("0.001"),
    Decimal("0.001"),
    Decimal(100),
    Decimal("0.1"),
    max_leverage=Decimal(50),
)


def pair_input(**changes) -> PairInput:
    """A valid Long BTCUSDT pair at 10x, with changes."""
    values = {"symbol": "BTCUSDT", "side": "Long", "leverage": Decimal(10), "ema_interval": 1}
    return PairInput(**(values | changes))


def test_a_pair_is_added_with_its_overrides_and_audited(db_session):
    user = gen_user(db_session)
    bot = gen_bot(db_session, user)
    data = pair_input(
        symbol=" ethusdt ",
        side="Short",
        leverage=Decimal("2.5"),
        ema_interval=60,
        automatic_mode=False,
        params={
            "buy_until_limit": "0.03",
            "use_postonly": "false",
            "profit_tier_order": "Descending",
            "taper_start": "",
        },
    )
    pair = add_pair(db_session, user, bot.id, data, rules=RULES, ip="::1")
    db_session.commit()
    assert (pair.symbol, pair.side, pair.leverage, pair.ema_interval, pair.automatic_mode) == (
        "ETHUSDT",
        "Short",
        Decimal("2.5"),
        60,
        False,
    )
    # Blank fields are left out: the strategy's defaults apply to them.
    assert pair.strategy_params == {
        "buy_until_limit": "0.03",
        "use_postonly": False,
        "profit_tier_order": "descending",
    }
    STRATEGIES["martingale"](pair.strategy_params)  # the runner reads them back as they are
    [row] = db_session.scalars(select(AuditLog)).all()
    assert (row.action, row.target_type, row.target_id) == ("pair.create", "trading_pair", pair.id)
    assert row.after["leverage"] == "2.5"


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"symbol": ""}, "symbol", "Enter the symbol"),
        ({"side": "Both"}, "side", "Long or Short"),
        ({"ema_interval": 2}, "ema_interval", "must be one of 1, 5, 15"),
        ({"leverage": Decimal(0)}, "leverage", "between 1 and 125"),
        ({"leverage": Decimal(126)}, "leverage", "between 1 and 125"),
        ({"leverage": Decimal("NaN")}, "leverage", "between 1 and 125"),
        ({"leverage": Decimal(75)}, "leverage", "BTCUSDT allows at most 50x"),
        ({"strategy": "grid"}, "strategy", "Choose one of the strategies"),
        ({"params": {"buy_until_limit": "lots"}}, "param_buy_until_limit", "must be a number"),
        ({"params": {"dip_add_roe": "0.5"}}, "param_dip_add_roe", "between -1 and 0"),
        ({"params": {"use_postonly": "maybe"}}, "param_use_postonly", "true or false"),
        ({"params": {"exit_order_type": "stop"}}, "param_exit_order_type", "must be one of"),
    ],
)
def test_a_bad_pair_is_refused_naming_the_field(db_session, changes, field, message):
    user = gen_user(db_session)
    bot = gen_bot(db_session, user)
    with pytest.raises(BotError, match=message) as caught:
        add_pair(db_session, user, bot.id, pair_input(**changes), rules=RULES)
    assert caught.value.field == field


def test_unchecked_symbols_still_get_the_1_to_125_range(db_session):
    user = gen_user(db_session)
    bot = gen_bot(db_session, user)
    add_pair(db_session, user, bot.id, pair_input(leverage=Decimal(125)), rules=None)
    with pytest.raises(BotError, match="between 1 and 125"):
        add_pair(db_session, user, bot.id, pair_input(side="Short", leverage=Decimal(126)))


def test_one_pair_per_symbol_and_side(db_session):
    user = gen_user(db_session)
    bot = gen_bot(db_session, user)
    add_pair(db_session, user, bot.id, pair_input())
    add_pair(db_session, user, bot.id, pair_input(side="Short"))
    with pytest.raises(BotError, match="already trades BTCUSDT Long; edit that pair") as caught:
        add_pair(db_session, user, bot.id, pair_input(symbol="btcusdt"))
    assert caught.value.field == "symbol"


def test_the_plan_limits_pairs_per_bot(db_session):
    user = gen_user(db_session)
    bot = gen_bot(db_session, user)
    for symbol in ("BTCUSDT", "ETHUSDT", "SOLUSDT"):
        add_pair(db_session, user, bot.id, pair_input(symbol=symbol))
    with pytest.raises(BotError, match="3 trading pairs per bot"):
        add_pair(db_session, user, bot.id, pair_input(symbol="XRPUSDT"))


def test_an_edit_changes_settings_but_never_symbol_or_side(db_session):
    user = gen_user(db_session)
    bot = gen_bot(db_session, user)
    pair = gen_pair(db_session, bot)
    data = pair_input(
        symbol="ETHUSDT",
        side="Short",
        leverage=Decimal(20),
        ema_interval=5,
        params={"profit_pnl": "0.2"},
    )
    update_pair(db_session, user, bot.id, pair.id, data, rules=RULES)
    assert (pair.symbol, pair.side, pair.leverage, pair.ema_interval) == (
        "BTCUSDT",
        "Long",
        Decimal(20),
        5,
    )
    assert pair.strategy_params == {"profit_pnl": "0.2"}
    [row] = db_session.scalars(select(AuditLog)).all()
    assert (row.before["leverage"], row.after["leverage"]) == ("10", "20")


def test_a_running_bot_keeps_its_last_active_pair(db_session):
    user = gen_user(db_session)
    bot = gen_bot(db_session, user)
    pair = gen_pair(db_session, bot)
    with pytest.raises(BotError, match="last active pair; stop the bot first"):
        update_pair(db_session, user, bot.id, pair.id, pair_input(is_active=False))
    with pytest.raises(BotError, match="last active pair"):
        delete_pair(db_session, user, bot.id, pair.id)
    bot.status = "stopped"
    delete_pair(db_session, user, bot.id, pair.id)
    assert db_session.scalars(select(TradingPair)).all() == []


def test_another_users_pair_is_not_found_even_through_ones_own_bot(db_session):
    owner, other = gen_user(db_session), gen_user(db_session)
    theirs = gen_pair(db_session, gen_bot(db_session, owner))
    mine = gen_bot(db_session, other)
    for act in (
        lambda: update_pair(db_session, other, theirs.bot_id, theirs.id, pair_input()),
        lambda: update_pair(db_session, other, mine.id, theirs.id, pair_input()),
        lambda: delete_pair(db_session, other, mine.id, theirs.id),
        lambda: add_pair(db_session, other, theirs.bot_id, pair_input(symbol="ETHUSDT")),
    ):
        with pytest.raises(NotFound):
            act()
    assert db_session.get(TradingPair, theirs.id).leverage == Decimal(10)


def test_a_pair_of_another_of_ones_bots_is_not_found_under_this_bot(db_session):
    user = gen_user(db_session, plan="pro")
    first, second = gen_bot(db_session, user), gen_bot(db_session, user)
    pair = gen_pair(db_session, first)
    with pytest.raises(NotFound):
        delete_pair(db_session, user, second.id, pair.id)


def test_blank_params_mean_defaults_and_stored_ones_show_as_text():
    assert clean_strategy_params("martingale", {"profit_pnl": "  ", "min_one_step": ""}) == {}
    stored = clean_strategy_params("martingale", {"min_one_step": "no", "profit_pnl": "0.5"})
    assert param_texts(stored) == {"min_one_step": "false", "profit_pnl": "0.5"}


def test_every_parameter_is_described_with_default_and_help():
    fields = {f["name"]: f for f in strategy_fields("martingale")}
    assert set(fields) == {p.name for p in STRATEGIES["martingale"].describe_params()}
    assert fields["buy_until_limit"]["default"] == "0.02" and fields["buy_until_limit"]["help"]
    assert fields["use_postonly"]["default"] == "true"
