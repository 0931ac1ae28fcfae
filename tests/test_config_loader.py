"""The existing bot's environment: names, truthy sets, the SYMBOL grammar and clear errors."""

from decimal import Decimal as D

import pytest

from config_loader import ConfigError, EnvConfigSource, get_config_source, parse_symbols


def source(**env):
    """An env source over exactly these variables."""
    return EnvConfigSource(env)


def test_symbol_grammar_with_hedged_pairs_and_auto_flags():
    assert parse_symbols(" INJUSDT:Short:True , INJUSDT:Long:yes,BTCUSDT:Long:no,") == [
        ("INJUSDT", "Short", True),
        ("INJUSDT", "Long", True),
        ("BTCUSDT", "Long", False),
    ]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("BTCUSDT", "'BTCUSDT' must look like"),
        ("BTCUSDT:Long", "'BTCUSDT:Long' must look like"),
        ("X:Long:True:foo", "'X:Long:True:foo' must look like"),
        ("BTCUSDT:long:True", "side must be Long or Short"),
        ("BTCUSDT:Long:True,BTCUSDT:Long:False", "listed twice"),
        (":Long:True", "must look like"),
    ],
)
def test_malformed_symbol_items_are_errors_naming_the_item(raw, message):
    with pytest.raises(ConfigError, match=message):
        parse_symbols(raw)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SYMBOL": "BTCUSDT:Long:True"}, "API_KEY is not set"),
        ({"SYMBOL": "BTCUSDT:Long:True", "API_KEY": "k"}, "API_SECRET is not set"),
        ({"EXCHANGE": "paper"}, "SYMBOL is not set"),
        ({"EXCHANGE": "kraken"}, "EXCHANGE must be one of"),
        ({"EXCHANGE": "paper", "SYMBOL": ","}, "SYMBOL lists no pairs"),
        (
            {"EXCHANGE": "paper", "SYMBOL": "A:Long:1", "EMA_INTERVAL": "abc"},
            "EMA_INTERVAL must be",
        ),
        ({"EXCHANGE": "paper", "SYMBOL": "A:Long:1", "EMA_INTERVAL": "7"}, "one of 1, 5, 15"),
        ({"EXCHANGE": "paper", "SYMBOL": "A:Long:1", "LEVERAGE": "0"}, "LEVERAGE must be above 0"),
        ({"EXCHANGE": "paper", "SYMBOL": "A:Long:1", "LEVERAGE": "x"}, "LEVERAGE must be a number"),
        ({"EXCHANGE": "paper", "SYMBOL": "A:Long:1", "STRATEGY_PARAMS": "{"}, "not valid JSON"),
        ({"EXCHANGE": "paper", "SYMBOL": "A:Long:1", "STRATEGY_PARAMS": "[1]"}, "JSON object"),
    ],
)
def test_configuration_errors_are_one_readable_line(env, message):
    with pytest.raises(ConfigError, match=message) as info:
        src = source(**env)
        src.get_api_credentials()
        src.get_pairs()
    assert "\n" not in str(info.value)


def test_defaults_and_truthy_sets_match_the_existing_bot():
    src = source(
        SYMBOL="BTCUSDT:Long:True",
        API_KEY="k",
        API_SECRET="s",
        TESTNET="T",
        BOT_STARTUP="1",
        USE_POSTONLY="no",
    )
    assert src.get_exchange() == "phemex"
    assert src.is_testnet() and src.send_startup_message()
    assert src.get_ema_interval() == 1
    (pair,) = src.get_pairs()
    assert (pair.symbol, pair.side, pair.auto, pair.leverage) == ("BTCUSDT", "Long", True, D(10))
    assert pair.params == {"use_postonly": False}
    assert source(TESTNET="yes").is_testnet() is False  # "yes" was never truthy for TESTNET
    assert source().get_telegram_config() == (None, None)


def test_paper_needs_no_keys_and_pairs_get_stable_keys():
    src = source(
        EXCHANGE="paper",
        SYMBOL="ETHUSDT:Short:1,ETHUSDT:Long:0",
        LEVERAGE="5",
        STRATEGY_PARAMS='{"profit_pnl": 0.2}',
    )
    assert src.get_api_credentials() == ("", "")
    pairs = src.get_pairs()
    assert [p.pair_key for p in pairs] == ["ETHUSDTS", "ETHUSDTL"]
    assert all(p.leverage == D(5) and p.params == {"profit_pnl": 0.2} for p in pairs)


def test_get_config_source_picks_the_environment_without_bot_id():
    assert isinstance(get_config_source({"SYMBOL": "A:Long:1"}), EnvConfigSource)
