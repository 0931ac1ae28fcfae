"""The runner refuses bots the owner's plan does not allow: paused, told, no exchange call."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from saas.db import make_engine, make_session_factory
from saas.models import Bot, BotLog, User
from saas.services.bots.config import BotConfigError, load_bot_config
from tests.fixtures.database import gen_bot, gen_pair, gen_user, open_market

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def sessions(url: str):
    """A session factory and its engine (dispose it)."""
    engine = make_engine(url)
    return make_session_factory(engine), engine


def test_a_mainnet_bot_of_a_testnet_only_plan_is_paused_before_any_exchange_call(
    db_url, keyring, encryption_key
):
    factory, engine = sessions(db_url)
    try:
        with factory() as session:
            user = gen_user(session, plan="starter", plan_status="active")
            bot = gen_bot(session, user, exchange="bybit", testnet=False, ring=keyring)
            gen_pair(session, bot)
            session.commit()
            bot_id = bot.id
        env = {"DATABASE_URL": db_url, "ENCRYPTION_KEY": encryption_key}
        with pytest.raises(
            BotConfigError,
            match=f"bot {bot_id} cannot run: Paused by your "
            "plan: the Starter plan trades on testnet and paper only",
        ):
            load_bot_config(bot_id, env, now=NOW)
        with factory() as session:
            bot = session.get(Bot, bot_id)
            assert bot.status == "paused" and "testnet and paper only" in bot.last_error
            logs = session.scalars(select(BotLog.message).where(BotLog.bot_id == bot_id)).all()
            assert any(m.startswith("bot paused: Paused by your plan") for m in logs)
    finally:
        engine.dispose()


def test_a_bot_the_plan_allows_loads_as_before(db_url, keyring, encryption_key):
    factory, engine = sessions(db_url)
    try:
        with factory() as session:
            user = gen_user(session, plan="pro", plan_status="active")
            bot = gen_bot(session, user, exchange="bybit", testnet=False, ring=keyring)
            gen_pair(session, bot)
            session.commit()
            bot_id = bot.id
        config = load_bot_config(
            bot_id, {"DATABASE_URL": db_url, "ENCRYPTION_KEY": encryption_key}, now=NOW
        )
        config.close()
        assert config.exchange == "bybit" and not config.testnet
    finally:
        engine.dispose()


def bybit_requests_with(fx, key: str) -> list:
    """Requests the fake exchange got with this API key."""
    return [r for r in fx.requests if r.headers.get("x-bapi-api-key") == key]


def run_bot(url: str, encryption_key: str, fx, bot_id: int) -> subprocess.CompletedProcess:
    """`BOT_ID=n python main.py` against the fake exchange."""
    env = {
        "PATH": os.environ["PATH"],
        "BOT_ID": str(bot_id),
        "DATABASE_URL": url,
        "ENCRYPTION_KEY": encryption_key,
        "BYBIT_BASE_URL": fx.url,
        "PHEMEX_BASE_URL": fx.url,
    }
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py")],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_lapsed_plan_pauses_the_extra_bots_and_the_runner_never_calls_the_exchange_for_them(
    db_url, keyring, encryption_key, fake_exchange
):
    """A Pro user with three testnet bots whose grace ended: only the oldest bot still trades."""
    fx = open_market(fake_exchange)
    factory, engine = sessions(db_url)
    keys = [(f"plan-key-{i}", f"plan-secret-{i}") for i in range(3)]
    try:
        with factory() as session:
            user = gen_user(
                session,
                plan="pro",
                plan_status="past_due",
                plan_grace_until=datetime.now(UTC) - timedelta(minutes=5),
            )
            ids = []
            for key, secret in keys:
                fx.add_account("bybit", key, secret, Decimal("10000"))
                bot = gen_bot(
                    session, user, exchange="bybit", ring=keyring, api_key=key, api_secret=secret
                )
                gen_pair(session, bot, strategy_params={"use_postonly": False})
                ids.append(bot.id)
            session.commit()
            uid = user.id
        refused = run_bot(db_url, encryption_key, fx, ids[2])
        assert refused.returncode == 2, refused.stderr
        assert (
            f"bot {ids[2]} cannot run: Paused by your plan: the Free plan runs 1 bot"
            in refused.stderr
        )
        assert bybit_requests_with(fx, keys[2][0]) == []
        with factory() as session:
            assert session.get(User, uid).plan == "free"
            statuses = [session.get(Bot, i).status for i in ids]
        assert statuses == ["running", "paused", "paused"]
        # The second bot was paused by the lapse: its own run stops before the exchange too
        # (paused is nothing to do, not an error: exit 0 with the reason on the log).
        again = run_bot(db_url, encryption_key, fx, ids[1])
        assert again.returncode == 0 and bybit_requests_with(fx, keys[1][0]) == []
        assert "is paused, not running" in again.stdout and again.stderr == ""
        kept = run_bot(db_url, encryption_key, fx, ids[0])
        assert kept.returncode == 0, kept.stderr
        assert bybit_requests_with(fx, keys[0][0])
    finally:
        engine.dispose()
