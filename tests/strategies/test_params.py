"""Strategy parameters: the existing CONFIG as defaults, validation naming the parameter."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from strategies import (
    DEFAULT_STRATEGY,
    STRATEGIES,
    MartingaleStrategy,
    ParamInfo,
    Strategy,
    StrategyParamError,
    get_strategy,
)

D = Decimal

# The existing bot's CONFIG (spec section 2) and the switches that reproduce its quirks.
EXISTING_BOT = {
    "buy_until_limit": D("0.02"),
    "profit_threshold": D("0.003"),
    "profit_pnl": D("0.10"),
    "begin_size_of_balance": D("0.006"),
    "max_margin_pct": D("0.50"),
    "safe_decline_multiplier": D("1.5"),
    "taper_start": D("0.7"),
    "dip_add_roe": D("-0.05"),
    "margin_warning_level": D("1.5"),
    "critical_margin_level": D("2"),
    "reduce_pct_tier1": D("7.5"),
    "reduce_fraction_tier1": D("0.33"),
    "reduce_pct_tier2": D("10"),
    "reduce_fraction_tier2": D("0.5"),
    "profit_tier_order": "original",
    "safe_decline_add": True,
    "min_one_step": True,
    "split_cap_per_symbol": True,
    "round_position_values": True,
    "use_postonly": True,
    "exit_order_type": "limit",
}


def test_defaults_are_the_existing_bots_config():
    assert get_strategy("martingale").params == EXISTING_BOT


def test_every_parameter_is_described_with_help_for_the_form():
    infos = MartingaleStrategy.describe_params()
    assert [info.name for info in infos] == list(EXISTING_BOT)
    for info in infos:
        assert isinstance(info, ParamInfo)
        assert info.help.strip(), info.name
        assert info.kind in ("decimal", "bool", "choice")
        if info.kind == "choice":
            assert info.default in info.choices
        if info.kind == "decimal":
            assert info.min <= info.default <= info.max, info.name


def test_descriptions_serialise_to_json_without_losing_digits():
    described = [info.as_dict() for info in MartingaleStrategy.describe_params()]
    loaded = json.loads(json.dumps(described))
    by_name = {item["name"]: item for item in loaded}
    assert by_name["profit_threshold"]["default"] == "0.003"
    assert by_name["profit_pnl"]["min"] == "0" and by_name["profit_pnl"]["max"] == "10"
    assert by_name["exit_order_type"]["choices"] == ["limit", "market"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"foo": 1}, "unknown strategy parameter 'foo' (known: buy_until_limit, "),
        ({"profit_pnl": -1}, "strategy parameter 'profit_pnl' must be between 0 and 10, got -1"),
        ({"profit_pnl": "11"}, "strategy parameter 'profit_pnl' must be between 0 and 10, got 11"),
        ({"dip_add_roe": 0.05}, "strategy parameter 'dip_add_roe' must be between -1 and 0"),
        ({"taper_start": 1.5}, "strategy parameter 'taper_start' must be between 0 and 1"),
        ({"profit_pnl": "abc"}, "strategy parameter 'profit_pnl' must be a number, got 'abc'"),
        ({"profit_pnl": True}, "strategy parameter 'profit_pnl' must be a number, got True"),
        ({"profit_pnl": [0.1]}, "strategy parameter 'profit_pnl' must be a number, got [0.1]"),
        ({"profit_pnl": None}, "strategy parameter 'profit_pnl' must be a number, got None"),
        ({"profit_pnl": "NaN"}, "strategy parameter 'profit_pnl' must be a finite number"),
        ({"profit_pnl": float("inf")}, "strategy parameter 'profit_pnl' must be a finite number"),
        ({"use_postonly": "maybe"}, "strategy parameter 'use_postonly' must be true or false"),
        ({"use_postonly": 2}, "strategy parameter 'use_postonly' must be true or false, got 2"),
        (
            {"profit_tier_order": "up"},
            "strategy parameter 'profit_tier_order' must be one of 'original', 'descending', "
            "got 'up'",
        ),
        ({"exit_order_type": 1}, "strategy parameter 'exit_order_type' must be one of"),
    ],
)
def test_bad_parameters_are_refused_with_their_name(params, message):
    with pytest.raises(StrategyParamError) as raised:
        get_strategy("martingale", params)
    assert str(raised.value).startswith(message), str(raised.value)


def test_parameters_must_be_a_mapping():
    with pytest.raises(StrategyParamError, match="must be a mapping"):
        MartingaleStrategy([("profit_pnl", 1)])


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("profit_pnl", 0.1, D("0.1")),  # via str(): never Decimal(0.1000000000000000055...)
        ("profit_pnl", "0.2", D("0.2")),
        ("profit_pnl", " 0.2 ", D("0.2")),
        ("profit_pnl", 1, D("1")),
        ("profit_pnl", D("0.15"), D("0.15")),
        ("profit_pnl", 0, D("0")),
        ("use_postonly", "false", False),
        ("use_postonly", "Yes", True),
        ("use_postonly", 0, False),
        ("use_postonly", True, True),
        ("profit_tier_order", " Descending ", "descending"),
        ("exit_order_type", "MARKET", "market"),
    ],
)
def test_json_ish_values_are_converted(name, value, expected):
    converted = get_strategy("martingale", {name: value}).params[name]
    assert converted == expected
    assert type(converted) is type(expected)


def test_overrides_keep_the_other_defaults():
    params = get_strategy("martingale", {"profit_pnl": "0.2"}).params
    assert params == {**EXISTING_BOT, "profit_pnl": D("0.2")}


def test_unknown_strategy_name_is_refused_with_its_name():
    with pytest.raises(StrategyParamError, match=r"unknown strategy 'grid' \(known: martingale\)"):
        get_strategy("grid")


def test_strategy_param_error_is_a_value_error():
    assert issubclass(StrategyParamError, ValueError)


def test_registry_has_martingale_as_the_default():
    assert DEFAULT_STRATEGY == "martingale"
    assert STRATEGIES["martingale"] is MartingaleStrategy
    assert issubclass(MartingaleStrategy, Strategy)
    assert isinstance(get_strategy(DEFAULT_STRATEGY, None), MartingaleStrategy)


def test_validate_params_works_without_building_a_strategy():
    assert MartingaleStrategy.validate_params({"profit_pnl": 0.2})["profit_pnl"] == D("0.2")
