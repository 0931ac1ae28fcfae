"""Import from the single-user bot's .env: its grammar, one message for a bad file, no key leaks."""

from __future__ import annotations

import json
import logging
import re
from decimal import Decimal

import pytest
from sqlalchemy import select

from saas.models import AuditLog, Bot, NotificationSetting, TradingPair
from saas.security import KeyRing, bot_credentials, user_context
from saas.services.bots.import_env import ImportEnvError, parse_env

KEY, SECRET, TG = "ENV-KEY-zz99-abcd", "ENV-SECRET-yy88-efgh", "123456:TG-token-xx77"
ORIGINAL_ENV = f"""# the single-user bot's .env
API_KEY={KEY}
API_SECRET="{SECRET}"
SYMBOL=BTCUSDT:Long:True, ETHUSDT:Short:yes ,SOLUSDT:Long:no,XRPUSDT:Short:1
EMA_INTERVAL=15
TESTNET=t
EXCHANGE=bybit
LEVERAGE=20
USE_POSTONLY=0
TELEGRAM_BOT_TOKEN={TG}
TELEGRAM_CHAT_ID=-100555
BOT_STARTUP=true
"""


def test_the_original_grammar_pairs_auto_flags_truthy_values_interval_and_telegram():
    found = parse_env(ORIGINAL_ENV)
    assert (found.exchange, found.testnet, found.has_keys) == ("bybit", True, True)
    assert [(p.symbol, p.side, p.auto) for p in found.pairs] == [
        ("BTCUSDT", "Long", True),
        ("ETHUSDT", "Short", True),
        ("SOLUSDT", "Long", False),
        ("XRPUSDT", "Short", True),
    ]
    assert {(p.ema_interval, p.leverage) for p in found.pairs} == {(15, Decimal(20))}
    assert all(p.params == {"use_postonly": False} for p in found.pairs)
    assert found.telegram_chat_id == "-100555"
    assert KEY not in repr(found) and SECRET not in repr(found) and TG not in repr(found)
    assert KEY not in json.dumps(found.summary()) and TG not in json.dumps(found.summary())


@pytest.mark.parametrize(
    ("value", "testnet"), [("true", True), ("1", True), ("T", True), ("yes", False), ("", False)]
)
def test_testnet_uses_the_original_truthy_set(value, testnet):
    assert parse_env(f"SYMBOL=BTCUSDT:Long:True\nEXCHANGE=paper\nTESTNET={value}\n").testnet is (
        testnet
    )


def test_a_bare_symbol_line_is_enough_for_a_paper_bot():
    found = parse_env("SYMBOL=BTCUSDT:Long:True\nEXCHANGE=paper")
    assert [p.symbol for p in found.pairs] == ["BTCUSDT"] and not found.has_keys


MALFORMED = [
    ("", "No settings found"),
    ("# only a comment\n", "No settings found"),
    ("EXCHANGE=paper\n", "SYMBOL is not set"),
    ("SYMBOL=BTCUSDT-Long\n", "must look like BTCUSDT:Long:True"),
    ("SYMBOL=BTCUSDT:Up:True\n", "side must be Long or Short"),
    ("SYMBOL=BTCUSDT:Long:True\nEMA_INTERVAL=7\n", "EMA_INTERVAL must be one of"),
    ("SYMBOL=BTCUSDT:Long:True\nEXCHANGE=binance\n", "EXCHANGE must be one of"),
    ("SYMBOL=BTCUSDT:Long:True\nLEVERAGE=500\n", "LEVERAGE must be above 0"),
    ("SYMBOL=BTCUSDT:Long:True\nSTRATEGY_PARAMS={oops\n", "STRATEGY_PARAMS is not valid JSON"),
    ('SYMBOL=BTCUSDT:Long:True\nSTRATEGY_PARAMS={"profit_pnl": -1}\n', "profit_pnl"),
]


@pytest.mark.parametrize(("text", "message"), MALFORMED)
def test_a_malformed_file_is_one_clear_message(text, message):
    with pytest.raises(ImportEnvError, match=re.escape(message)):
        parse_env(text)


def import_cli(app, email, text, *extra):
    """`flask --app saas import-env --user EMAIL -` with the text on stdin."""
    return app.test_cli_runner().invoke(
        args=["import-env", "--user", email, *extra, "-"], input=text
    )


def test_the_command_creates_the_bot_pairs_and_telegram_without_printing_keys(
    app, user_factory, caplog
):
    user_factory(email="ops@example.com", plan="enterprise", plan_status="active")
    caplog.set_level(logging.DEBUG)
    result = import_cli(app, "ops@example.com", ORIGINAL_ENV, "--name", "Migrated")
    assert result.exit_code == 0, result.output
    assert "created bot 1" in result.output and "ETHUSDT Short auto" in result.output
    for secret in (KEY, SECRET, TG):
        assert secret not in result.output and secret not in caplog.text
    with app.app_context():
        from saas.extensions import db  # noqa: PLC0415

        bot = db.session.get(Bot, 1)
        ring = KeyRing.from_string(app.config["ENCRYPTION_KEY"])
        assert (bot.name, bot.exchange, bot.testnet, bot.status) == (
            "Migrated",
            "bybit",
            True,
            "stopped",
        )
        assert bot_credentials(bot, ring) == (KEY, SECRET)
        assert [(p.symbol, p.automatic_mode) for p in bot.pairs][2] == ("SOLUSDT", False)
        setting = db.session.scalars(select(NotificationSetting)).one()
        assert setting.telegram_enabled and setting.telegram_chat_id == "-100555"
        token = ring.decrypt(
            user_context(bot.user_id, "telegram"), setting.telegram_bot_token_encrypted
        )
        assert token == TG
        trail = " ".join(f"{a.before} {a.after}" for a in db.session.scalars(select(AuditLog)))
        assert all(s not in trail for s in (KEY, SECRET, TG))


@pytest.mark.parametrize(("text", "message"), MALFORMED[:4])
def test_a_malformed_file_creates_nothing_and_exits_with_one_line(app, user_factory, text, message):
    user_factory(email="ops@example.com")
    result = import_cli(app, "ops@example.com", text)
    assert result.exit_code != 0
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0]
    with app.app_context():
        from saas.extensions import db  # noqa: PLC0415

        assert db.session.scalars(select(Bot)).all() == []


def test_a_file_over_the_plan_creates_nothing_at_all(app, user_factory):
    user_factory(email="ops@example.com")  # free: three pairs, testnet only
    result = import_cli(app, "ops@example.com", ORIGINAL_ENV)  # four pairs
    assert result.exit_code != 0 and "Traceback" not in result.output
    with app.app_context():
        from saas.extensions import db  # noqa: PLC0415

        assert db.session.scalars(select(Bot)).all() == []
        assert db.session.scalars(select(TradingPair)).all() == []
        assert db.session.scalars(select(NotificationSetting)).all() == []


def test_the_new_bot_page_previews_then_creates_and_never_echoes_a_key(site, caplog):
    uid = site.user(plan="enterprise", plan_status="active")
    browser = site.client(uid)
    assert "Import from my existing bot" in browser.get("/bots/new").get_data(as_text=True)
    caplog.set_level(logging.DEBUG)
    preview = browser.post("/bots/import", {"name": "From env", "env_text": ORIGINAL_ENV})
    page = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "XRPUSDT" in page and "15 min" in page
    assert "found (they will be encrypted)" in page and "chat -100555" in page
    assert all(s not in page for s in (KEY, SECRET, TG))
    assert site.query(select(Bot)) == []  # nothing before the confirmation
    sealed = re.search(r'name="sealed"[^>]*value="([^"]+)"', page).group(1)
    created = browser.post("/bots/import/confirm", {"name": "From env", "sealed": sealed})
    assert created.status_code == 302
    (bot,) = [b for (b,) in site.query(select(Bot))]
    assert bot.name == "From env" and len(site.query(select(TradingPair))) == 4
    follow = browser.get(created.headers["Location"]).get_data(as_text=True)
    assert all(s not in follow for s in (KEY, SECRET, TG))
    assert all(s not in caplog.text for s in (KEY, SECRET, TG))


def test_the_page_shows_one_message_for_a_bad_file_and_creates_nothing(site):
    uid = site.user()
    response = site.client(uid).post(
        "/bots/import", {"name": "x", "env_text": "SYMBOL=BTCUSDT:Long:True\nEMA_INTERVAL=7"}
    )
    assert response.status_code == 400
    assert "EMA_INTERVAL must be one of" in response.get_data(as_text=True)
    assert site.query(select(Bot)) == []


def test_a_sealed_import_of_another_user_cannot_be_confirmed(site):
    owner, stranger = site.user(), site.user()
    page = (
        site.client(owner)
        .post("/bots/import", {"name": "x", "env_text": "SYMBOL=BTCUSDT:Long:True\nEXCHANGE=paper"})
        .get_data(as_text=True)
    )
    sealed = re.search(r'name="sealed"[^>]*value="([^"]+)"', page).group(1)
    response = site.client(stranger).post("/bots/import/confirm", {"name": "x", "sealed": sealed})
    assert response.status_code == 302 and site.query(select(Bot)) == []
