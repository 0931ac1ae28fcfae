"""DatabaseConfigSource: a bot's settings from the database, and every reason it cannot run."""

import re
from decimal import Decimal as D

import pytest

from config_loader import (
    ConfigError,
    DatabaseConfigSource,
    NothingToDo,
    PairConfig,
    SourceUnavailableError,
    get_config_source,
)
from saas.db import DEFAULT_DATABASE_URL
from saas.models import NotificationSetting
from saas.security import KeyRing, generate_key, user_context
from saas.services.bots.paper import DatabasePaperClient
from tests.fixtures.database import gen_bot, gen_pair, gen_user


def env_for(url, key, **extra):
    """The environment of a database-mode run."""
    return {"DATABASE_URL": url, "ENCRYPTION_KEY": key, **extra}


def test_a_running_bot_gives_its_pairs_keys_and_owner_telegram(
    db_session, db_url, keyring, encryption_key
):
    user = gen_user(db_session, plan="pro", plan_status="active")  # mainnet needs a paid plan
    bot = gen_bot(
        db_session,
        user,
        exchange="bybit",
        testnet=False,
        ring=keyring,
        api_key="the-key",
        api_secret="the-secret",
    )
    long = gen_pair(
        db_session,
        bot,
        "BTCUSDT",
        "Long",
        leverage=D(5),
        ema_interval=5,
        strategy_params={"profit_pnl": "0.2"},
    )
    short = gen_pair(db_session, bot, "ETHUSDT", "Short", automatic_mode=False)
    gen_pair(db_session, bot, "XRPUSDT", "Long", is_active=False)
    db_session.add(
        NotificationSetting(
            user_id=user.id,
            telegram_enabled=True,
            telegram_chat_id="42",
            telegram_bot_token_encrypted=keyring.encrypt(user_context(user.id, "telegram"), "tok"),
        )
    )
    db_session.commit()
    source = get_config_source(env_for(db_url, encryption_key, BOT_ID=f" {bot.id} "))
    try:
        assert isinstance(source, DatabaseConfigSource)
        assert source.bot_key == str(bot.id)
        assert source.get_exchange() == "bybit" and not source.is_testnet()
        assert source.get_api_credentials() == ("the-key", "the-secret")
        assert source.get_symbols() == [("BTCUSDT", "Long", True), ("ETHUSDT", "Short", False)]
        assert source.get_ema_interval() == 5
        assert source.get_pairs() == [
            PairConfig(
                str(long.id), "BTCUSDT", "Long", True, D(5), 5, "martingale", {"profit_pnl": "0.2"}
            ),
            PairConfig(str(short.id), "ETHUSDT", "Short", False, D(10), 1, "martingale", {}),
        ]
        assert source.get_telegram_config() == ("tok", "42")
        assert "the-key" not in repr(source) and "the-key" not in repr(source.config)
    finally:
        source.close()


def test_the_platform_telegram_token_serves_users_without_their_own(db_session, db_url):
    user = gen_user(db_session)
    gen_pair(db_session, bot := gen_bot(db_session, user))
    db_session.add(
        NotificationSetting(user_id=user.id, telegram_enabled=True, telegram_chat_id="7")
    )
    db_session.commit()
    source = DatabaseConfigSource(
        bot.id, {"DATABASE_URL": db_url, "TELEGRAM_BOT_TOKEN": "platform"}
    )
    try:
        assert source.get_telegram_config() == ("platform", "7")
        assert source.get_api_credentials() == ("", "")  # a paper bot needs no ENCRYPTION_KEY
    finally:
        source.close()


def test_a_paper_bot_gets_a_database_paper_client(db_session, db_url):
    gen_pair(db_session, bot := gen_bot(db_session, gen_user(db_session)))
    db_session.commit()
    source = DatabaseConfigSource(str(bot.id), {"DATABASE_URL": db_url, "PAPER_BALANCE": "500"})
    try:
        client = source.make_client(env={"PAPER_BALANCE": "500"}, clock=None)
        assert isinstance(client, DatabasePaperClient)
        assert client.initial_balance == D(500)
        assert source.journal().bot_id == bot.id
    finally:
        source.close()


BAD_STATES = [
    ("missing", "bot 999 does not exist"),
    ("error", "is error, not running"),
    ("no pairs", "has no active trading pairs"),
    ("only inactive pairs", "has no active trading pairs"),
    ("suspended owner", "belongs to a suspended user"),
]


@pytest.mark.parametrize(("state", "message"), BAD_STATES, ids=[s for s, _ in BAD_STATES])
def test_a_bot_that_cannot_run_is_one_configuration_line(db_session, db_url, state, message):
    user = gen_user(db_session, status="suspended" if state == "suspended owner" else "active")
    bot = gen_bot(db_session, user)
    if state not in ("no pairs",):
        gen_pair(db_session, bot, is_active=state != "only inactive pairs")
    if state in ("stopped", "paused", "error"):
        bot.status = state
        bot.last_error = "authentication failed:\nbad key" if state == "paused" else None
    db_session.commit()
    bot_id = 999 if state == "missing" else bot.id
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")) as info:
        DatabaseConfigSource(bot_id, {"DATABASE_URL": db_url})
    assert "\n" not in str(info.value)


IDLE_STATES = [
    ("stopped", "is stopped, not running; nothing to do"),
    ("paused", "is paused, not running (last error: authentication failed: bad key)"),
]


@pytest.mark.parametrize(("state", "message"), IDLE_STATES, ids=[s for s, _ in IDLE_STATES])
def test_a_stopped_or_paused_bot_has_nothing_to_do_which_is_not_an_error(
    db_session, db_url, state, message
):
    bot = gen_bot(db_session, gen_user(db_session))
    gen_pair(db_session, bot)
    bot.status = state
    bot.last_error = "authentication failed:\nbad key" if state == "paused" else None
    db_session.commit()
    with pytest.raises(NothingToDo, match=re.escape(message)) as info:
        DatabaseConfigSource(bot.id, {"DATABASE_URL": db_url})
    assert "\n" not in str(info.value) and not isinstance(info.value, ConfigError)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://u@h/db", "DATABASE_URL must be sqlite:/// or postgresql://"),
        ("not a url", "DATABASE_URL is not a database URL"),
        (
            "postgresql://postgres:hunter2@127.0.0.1:1/none",
            "cannot use the database at postgresql+psycopg://postgres:***@127.0.0.1:1/none",
        ),
        ("sqlite:////nonexistent/dir/x.sqlite", "no database at /nonexistent/dir/x.sqlite"),
    ],
)
def test_a_bad_database_url_is_one_line_without_the_password(url, message):
    # An unreachable server is an outage (exit 1, retried), not a setting (exit 2).
    expected = SourceUnavailableError if "cannot use" in message else ConfigError
    with pytest.raises(expected, match=message.replace("+", r"\+").replace("*", r"\*")) as info:
        DatabaseConfigSource(1, {"DATABASE_URL": url})
    assert "\n" not in str(info.value) and "hunter2" not in str(info.value)


def test_a_database_without_our_tables_says_how_to_create_them(tmp_path):
    import sqlite3

    path = tmp_path / "empty.sqlite"
    sqlite3.connect(path).close()
    with pytest.raises(ConfigError, match="has no dcabot tables.*flask --app saas db upgrade"):
        DatabaseConfigSource(1, {"DATABASE_URL": f"sqlite:///{path}"})


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (None, "ENCRYPTION_KEY is not set"),
        ("garbage", "ENCRYPTION_KEY key 1 of 1 is not a Fernet key"),
        ("other", "cannot decrypt the API keys of bot 1: ENCRYPTION_KEY does not hold the key"),
    ],
)
def test_a_missing_or_wrong_encryption_key_stops_before_any_exchange_call(
    db_session, db_url, keyring, key, message
):
    bot = gen_bot(
        db_session,
        gen_user(db_session),
        exchange="bybit",
        ring=keyring,
        api_key="k",
        api_secret="s",
    )
    gen_pair(db_session, bot)
    db_session.commit()
    env = {"DATABASE_URL": db_url}
    if key is not None:
        env["ENCRYPTION_KEY"] = generate_key() if key == "other" else key
    with pytest.raises(ConfigError, match=message) as info:
        DatabaseConfigSource(bot.id, env)
    assert "\n" not in str(info.value)


def test_keys_copied_from_another_bot_do_not_decrypt(db_session, db_url, encryption_key):
    ring = KeyRing.from_string(encryption_key)
    user = gen_user(db_session, plan="pro", plan_status="active")  # two bots need a paid plan
    first = gen_bot(db_session, user, exchange="phemex", ring=ring, api_key="A", api_secret="B")
    second = gen_bot(db_session, user, exchange="phemex", ring=ring, api_key="C", api_secret="D")
    gen_pair(db_session, second)
    second.api_key_encrypted = first.api_key_encrypted
    second.api_secret_encrypted = first.api_secret_encrypted
    db_session.commit()
    with pytest.raises(ConfigError, match=f"cannot decrypt the API keys of bot {second.id}"):
        DatabaseConfigSource(second.id, env_for(db_url, encryption_key))


@pytest.mark.parametrize("raw", ["abc", "0", "-3", "1.5"])
def test_bot_id_must_be_a_positive_whole_number(raw):
    with pytest.raises(ConfigError, match="BOT_ID must be a"):
        get_config_source({"BOT_ID": raw})


def test_the_default_database_is_the_web_apps_sqlite_file():
    assert DEFAULT_DATABASE_URL.endswith("/instance/dcabot.sqlite")
