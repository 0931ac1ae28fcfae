"""The trading-pair pages: add (wizard step 2), edit with strategy parameters, remove."""

from decimal import Decimal

import pytest
from sqlalchemy import select

from saas.models import AuditLog, TradingPair
from strategies import STRATEGIES
from strategies.types import InstrumentRules
from tests.fixtures.bots import pair_form, pair_leverage


def text(response) -> str:
    """The response body as text."""
    return response.get_data(as_text=True)


def pairs(site) -> list[TradingPair]:
    """Every pair in the database."""
    return [row for (row,) in site.query(select(TradingPair).order_by(TradingPair.id))]


def test_the_wizard_step_2_form_lists_every_strategy_parameter_with_default_and_help(site):
    uid = site.user()
    bid = site.bot(uid)
    page = text(site.client(uid).get(f"/bots/{bid}/pairs/new?wizard=1"))
    assert "Step 2 of 2" in page
    for info in STRATEGIES["martingale"].describe_params():
        assert f'name="param_{info.name}"' in page
    assert "Default: 0.02." in page  # buy_until_limit
    assert "Default (yes)" in page  # a switch left blank keeps the default
    assert "1 hour" in page and "1 minute" in page  # EMA intervals by name


def test_adding_a_pair_to_a_paper_bot(site):
    uid = site.user()
    bid = site.bot(uid)
    response = site.client(uid).post(
        f"/bots/{bid}/pairs/new?wizard=1",
        data=pair_form(
            symbol="ethusdt",
            side="Short",
            leverage="3",
            ema_interval="60",
            param_profit_pnl="0.25",
            param_use_postonly="false",
        ),
    )
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/bots/{bid}")
    [pair] = pairs(site)
    assert (pair.symbol, pair.side, pair.leverage, pair.ema_interval, pair.is_active) == (
        "ETHUSDT",
        "Short",
        Decimal(3),
        60,
        True,
    )
    assert pair.strategy_params == {"profit_pnl": "0.25", "use_postonly": False}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"symbol": ""}, "This field is required."),
        ({"symbol": "BTC-USD"}, "not a USDT perpetual symbol"),
        ({"side": "Both"}, "Not a valid choice"),
        ({"leverage": "0"}, "Number must be between 1 and 125"),
        ({"leverage": "200"}, "Number must be between 1 and 125"),
        ({"leverage": "ten"}, "Enter a number."),
        ({"ema_interval": "2"}, "Not a valid choice"),
        (
            {"param_buy_until_limit": "2"},
            "strategy parameter &#39;buy_until_limit&#39; must be between 0 and 1",
        ),
        ({"param_exit_order_type": "stop"}, "Not a valid choice"),
    ],
)
def test_a_bad_pair_form_is_shown_again_with_the_reason(site, changes, message):
    uid = site.user()
    bid = site.bot(uid)
    response = site.client(uid).post(f"/bots/{bid}/pairs/new", data=pair_form(**changes))
    assert response.status_code == 200 and message in text(response)
    assert pairs(site) == []


def test_a_parameter_error_is_shown_beside_its_field_and_keeps_what_was_typed(site):
    uid = site.user()
    bid = site.bot(uid)
    page = text(
        site.client(uid).post(
            f"/bots/{bid}/pairs/new",
            data=pair_form(param_dip_add_roe="0.5", param_profit_pnl="0.3"),
        )
    )
    errors_at = page.index('<ul class="errors" id="param_dip_add_roe-errors">')
    assert "must be between -1 and 0" in page[errors_at : errors_at + 200]
    assert 'value="0.3"' in page


def test_a_duplicate_pair_is_refused_with_a_clear_message(site):
    uid = site.user()
    bid = site.bot(uid)
    site.pair(bid, "BTCUSDT", "Long")
    page = text(site.client(uid).post(f"/bots/{bid}/pairs/new", data=pair_form()))
    assert "This bot already trades BTCUSDT Long; edit that pair instead." in page
    assert len(pairs(site)) == 1


def test_the_plan_pair_limit_is_shown(site):
    uid = site.user()
    bid = site.bot(uid)
    for symbol in ("BTCUSDT", "ETHUSDT", "SOLUSDT"):
        site.pair(bid, symbol)
    page = text(site.client(uid).post(f"/bots/{bid}/pairs/new", data=pair_form(symbol="XRPUSDT")))
    assert "free plan allows 3 trading pairs per bot" in page and len(pairs(site)) == 3


def test_a_symbol_the_exchange_does_not_list_is_refused(site):
    uid = site.user()
    bid = site.bot(uid, exchange="bybit")
    page = text(site.client(uid).post(f"/bots/{bid}/pairs/new", data=pair_form(symbol="NOPEUSDT")))
    assert "NOPEUSDT is not listed on Bybit testnet." in page and pairs(site) == []


def test_leverage_above_the_instruments_maximum_is_refused(site, seeded_exchange):
    seeded_exchange.set_rules(
        "BTCUSDT",
        InstrumentRules(
            "BTCUSDT",
            Decimal("0.001"),
            Decimal("0.001"),
            Decimal(100),
            Decimal("0.5"),
            max_leverage=Decimal(20),
        ),
    )
    uid = site.user()
    bid = site.bot(uid, exchange="phemex")
    page = text(site.client(uid).post(f"/bots/{bid}/pairs/new", data=pair_form(leverage="25")))
    assert "BTCUSDT allows at most 20x leverage." in page and pairs(site) == []


def test_an_unreachable_exchange_saves_the_pair_with_a_warning(site):
    site.app.config["PHEMEX_BASE_URL"] = "http://127.0.0.1:9"
    uid = site.user()
    bid = site.bot(uid, exchange="phemex")
    page = text(
        site.client(uid).post(f"/bots/{bid}/pairs/new", data=pair_form(), follow_redirects=True)
    )
    assert "Could not check BTCUSDT with Phemex testnet" in page and "Pair added." in page
    assert len(pairs(site)) == 1


def test_editing_a_pair_shows_its_values_and_saves_changes(site):
    uid = site.user()
    bid = site.bot(uid)
    pid = site.pair(bid, strategy_params={"profit_pnl": "0.4", "min_one_step": False})
    client = site.client(uid)
    page = text(client.get(f"/bots/{bid}/pairs/{pid}/edit"))
    assert 'value="0.4"' in page and '<option selected value="false">' in page
    assert 'name="symbol"' not in page  # symbol and side are fixed
    response = client.post(
        f"/bots/{bid}/pairs/{pid}/edit",
        data=pair_form(
            symbol="ETHUSDT",
            leverage="20",
            ema_interval="5",
            is_active=None,
            param_profit_pnl="",
            param_min_one_step="false",
        ),
    )
    assert response.status_code == 302
    [pair] = pairs(site)
    assert (pair.symbol, pair.leverage, pair.ema_interval, pair.is_active) == (
        "BTCUSDT",
        Decimal(20),
        5,
        False,
    )
    assert pair.strategy_params == {"min_one_step": False}
    [(row,)] = site.query(select(AuditLog).where(AuditLog.action == "pair.update"))
    assert row.before["strategy_params"] == {"profit_pnl": "0.4", "min_one_step": False}


def test_a_bad_edit_is_shown_again_and_changes_nothing(site):
    uid = site.user()
    bid = site.bot(uid)
    pid = site.pair(bid)
    page = text(
        site.client(uid).post(
            f"/bots/{bid}/pairs/{pid}/edit", data=pair_form(param_taper_start="lots")
        )
    )
    assert "strategy parameter &#39;taper_start&#39; must be a number" in page
    assert pairs(site)[0].strategy_params == {}


def test_the_last_active_pair_of_a_running_bot_stays(site):
    uid = site.user()
    bid = site.bot(uid, status="running")
    pid = site.pair(bid)
    client = site.client(uid)
    page = text(client.post(f"/bots/{bid}/pairs/{pid}/delete", follow_redirects=True))
    assert "last active pair; stop the bot first" in page
    assert pair_leverage(site, pid) == Decimal(10)


def test_removing_a_pair_asks_first(site):
    uid = site.user()
    bid = site.bot(uid)
    pid = site.pair(bid, "SOLUSDT", "Short")
    client = site.client(uid)
    assert "Remove SOLUSDT Short" in text(client.get(f"/bots/{bid}/pairs/{pid}/delete"))
    response = client.post(f"/bots/{bid}/pairs/{pid}/delete")
    assert response.status_code == 302 and pairs(site) == []


def test_a_pair_is_only_reachable_under_its_own_bot(site):
    uid = site.user(plan="pro")
    first, second = site.bot(uid, name="a"), site.bot(uid, name="b")
    pid = site.pair(first)
    client = site.client(uid)
    assert client.get(f"/bots/{second}/pairs/{pid}/edit").status_code == 404
    assert client.post(f"/bots/{second}/pairs/{pid}/delete").status_code == 404
    assert len(pairs(site)) == 1
