"""The web's bot services: create, edit, keys, start/pause/stop, delete, all scoped and audited."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from werkzeug.exceptions import NotFound

from saas.models import AuditLog, Bot, BotLog, BotRun
from saas.security import bot_credentials
from saas.services.bots.edit import (
    BotError,
    BotSettings,
    NewBot,
    bot_activity,
    create_user_bot,
    delete_user_bot,
    key_hints,
    list_bots,
    pause_user_bot,
    replace_bot_keys,
    start_user_bot,
    stop_user_bot,
    stored_credentials,
    update_bot_settings,
)
from saas.services.runs.scheduling import next_slot
from tests.fixtures.database import gen_bot, gen_pair, gen_user

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
PRO = {"plan": "pro", "plan_status": "active"}


def audit_rows(session, action=None):
    """The audit trail, oldest first, optionally of one action."""
    query = select(AuditLog).order_by(AuditLog.id)
    if action:
        query = query.where(AuditLog.action == action)
    return session.scalars(query).all()


def test_a_paper_bot_is_created_stopped_without_keys_and_audited(db_session):
    user = gen_user(db_session)
    bot = create_user_bot(db_session, user, NewBot("  Paper one ", "paper"), ring=None, ip="::1")
    db_session.commit()
    assert (bot.name, bot.exchange, bot.status, bot.api_key_encrypted) == (
        "Paper one",
        "paper",
        "stopped",
        None,
    )
    [row] = audit_rows(db_session, "bot.create")
    assert (row.user_id, row.target_type, row.target_id, row.ip) == (user.id, "bot", bot.id, "::1")
    assert row.after["name"] == "Paper one" and row.before is None


def test_a_real_exchange_bot_stores_its_keys_encrypted_bound_to_its_id(db_session, keyring):
    user = gen_user(db_session)
    data = NewBot("Bybit", "bybit", True, " KEY-1234 ", "SECRET-9876")
    bot = create_user_bot(db_session, user, data, ring=keyring)
    db_session.commit()
    assert bot_credentials(bot, keyring) == ("KEY-1234", "SECRET-9876")
    assert "KEY-1234" not in bot.api_key_encrypted
    assert key_hints(bot, keyring).key_last4 == "1234"
    assert not hasattr(key_hints(bot, keyring), "secret_last4")  # nothing of the secret shows
    trail = str([(r.before, r.after) for r in audit_rows(db_session)])
    assert "KEY-1234" not in trail and "SECRET-9876" not in trail


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (NewBot("", "paper"), "name", "Give the bot a name"),
        (NewBot("x" * 101, "paper"), "name", "longer than 100"),
        (NewBot("b", "binance"), "exchange", "Choose one of"),
        (NewBot("b", "bybit", True, "", "s"), "api_key", "needs its API key"),
        (NewBot("b", "phemex", True, "k", " "), "api_secret", "needs its API secret"),
    ],
)
def test_a_bot_that_cannot_be_created_names_the_field(db_session, keyring, data, field, message):
    with pytest.raises(BotError, match=message) as caught:
        create_user_bot(db_session, gen_user(db_session), data, ring=keyring)
    assert caught.value.field == field


def test_bot_names_are_unique_per_user_only(db_session):
    alice, bob = gen_user(db_session, **PRO), gen_user(db_session)
    create_user_bot(db_session, alice, NewBot("Main", "paper"), ring=None)
    with pytest.raises(BotError, match="already have a bot called 'Main'"):
        create_user_bot(db_session, alice, NewBot("Main", "paper"), ring=None)
    create_user_bot(db_session, bob, NewBot("Main", "paper"), ring=None)


def test_the_plan_limit_is_a_bot_error(db_session):
    user = gen_user(db_session)
    create_user_bot(db_session, user, NewBot("one", "paper"), ring=None)
    with pytest.raises(BotError, match="free plan allows 1 bot"):
        create_user_bot(db_session, user, NewBot("two", "paper"), ring=None)
    with pytest.raises(BotError, match="testnet and paper only"):
        create_user_bot(
            db_session, gen_user(db_session), NewBot("m", "bybit", False, "k", "s"), ring=None
        )


def test_settings_change_and_the_audit_row_has_before_and_after(db_session):
    user = gen_user(db_session)
    bot = gen_bot(db_session, user, status="stopped")
    update_bot_settings(db_session, user, bot.id, BotSettings("Renamed", True, 15), now=NOW)
    assert (bot.name, bot.run_interval_minutes) == ("Renamed", 15)
    [row] = audit_rows(db_session, "bot.update")
    assert row.before["run_interval_minutes"] == 5 and row.after["run_interval_minutes"] == 15
    # Saving the same values again changes nothing and audits nothing.
    update_bot_settings(db_session, user, bot.id, BotSettings("Renamed", True, 15), now=NOW)
    assert len(audit_rows(db_session, "bot.update")) == 1


def test_a_running_bot_moves_to_its_slot_of_the_new_interval(db_session):
    user = gen_user(db_session)
    bot = gen_bot(db_session, user)
    update_bot_settings(db_session, user, bot.id, BotSettings(bot.name, True, 60), now=NOW)
    assert bot.next_run_at == next_slot(NOW, 60, bot.id)


@pytest.mark.parametrize(
    ("settings", "field", "message"),
    [
        (BotSettings("", True, 5), "name", "Give the bot a name"),
        (BotSettings("n", True, 0), "run_interval_minutes", "1 to 1440"),
        (BotSettings("n", True, 1441), "run_interval_minutes", "1 to 1440"),
        (BotSettings("n", False, 5), "testnet", "Stop the bot before switching"),
    ],
)
def test_bad_settings_are_refused_naming_the_field(db_session, settings, field, message):
    user = gen_user(db_session, **PRO)
    bot = gen_bot(db_session, user, exchange="bybit")
    with pytest.raises(BotError, match=message) as caught:
        update_bot_settings(db_session, user, bot.id, settings, now=NOW)
    assert caught.value.field == field


def test_a_free_user_cannot_switch_a_bot_to_mainnet(db_session):
    user = gen_user(db_session)
    bot = gen_bot(db_session, user, exchange="bybit", status="stopped")
    with pytest.raises(BotError, match="testnet and paper only"):
        update_bot_settings(db_session, user, bot.id, BotSettings(bot.name, False, 5), now=NOW)


def test_replaced_keys_work_and_the_audit_says_only_that_they_changed(db_session, keyring):
    user = gen_user(db_session)
    bot = gen_bot(db_session, user, exchange="bybit", ring=keyring)
    replace_bot_keys(db_session, user, bot.id, "NEW-KEY-abcd", "NEW-SECRET-wxyz", ring=keyring)
    assert bot_credentials(bot, keyring) == ("NEW-KEY-abcd", "NEW-SECRET-wxyz")
    [row] = audit_rows(db_session, "bot.keys_replaced")
    assert row.after == {"keys": "stored", "api_key_last4": "abcd"}
    assert "NEW-SECRET" not in str(row.after) and "NEW-KEY" not in str(row.after)


def test_a_paper_bot_has_no_keys_to_replace(db_session, keyring):
    user = gen_user(db_session)
    bot = gen_bot(db_session, user)
    with pytest.raises(BotError, match="no keys"):
        replace_bot_keys(db_session, user, bot.id, "k", "s", ring=keyring)


def test_start_schedules_the_bots_next_slot_and_audits(db_session):
    user = gen_user(db_session, email_verified=True)
    bot = gen_bot(db_session, user, status="stopped")
    gen_pair(db_session, bot)
    start_user_bot(db_session, user, bot.id, now=NOW, ip="10.0.0.1")
    assert bot.status == "running"
    assert bot.next_run_at == next_slot(NOW, 5, bot.id)
    assert NOW < bot.next_run_at <= NOW + timedelta(minutes=5)
    [row] = audit_rows(db_session, "bot.start")
    assert (row.before["status"], row.after["status"], row.ip) == ("stopped", "running", "10.0.0.1")
    assert db_session.scalars(select(BotLog.message)).all() == ["bot started"]


def test_a_bot_without_an_active_pair_does_not_start(db_session):
    user = gen_user(db_session, email_verified=True)
    bot = gen_bot(db_session, user, status="stopped")
    with pytest.raises(BotError, match="Add an active trading pair"):
        start_user_bot(db_session, user, bot.id, now=NOW)


def test_pause_then_resume_then_stop(db_session):
    user = gen_user(db_session, email_verified=True)
    bot = gen_bot(db_session, user)
    gen_pair(db_session, bot)
    pause_user_bot(db_session, user, bot.id, now=NOW)
    assert (bot.status, bot.next_run_at, bot.last_error) == ("paused", None, None)
    with pytest.raises(BotError, match="Only a running bot can be paused"):
        pause_user_bot(db_session, user, bot.id, now=NOW)
    start_user_bot(db_session, user, bot.id, now=NOW)
    with pytest.raises(BotError, match="already running"):
        start_user_bot(db_session, user, bot.id, now=NOW)
    stop_user_bot(db_session, user, bot.id, now=NOW)
    assert (bot.status, bot.next_run_at) == ("stopped", None)
    with pytest.raises(BotError, match="already stopped"):
        stop_user_bot(db_session, user, bot.id, now=NOW)
    actions = [row.action for row in audit_rows(db_session)]
    assert actions == ["bot.pause", "bot.start", "bot.stop"]


def test_delete_removes_the_bot_and_keeps_the_audit_row(db_session):
    user = gen_user(db_session)
    bot = gen_bot(db_session, user)
    gen_pair(db_session, bot)
    bot_id = bot.id
    delete_user_bot(db_session, user, bot_id, ip="::1")
    db_session.commit()
    assert db_session.get(Bot, bot_id) is None
    [row] = audit_rows(db_session, "bot.delete")
    assert (row.target_id, row.before["name"]) == (bot_id, bot.name)


@pytest.mark.parametrize(
    "act",
    [
        lambda s, u, b: update_bot_settings(s, u, b, BotSettings("x", True, 5), now=NOW),
        lambda s, u, b: replace_bot_keys(s, u, b, "k", "s", ring=None),
        lambda s, u, b: delete_user_bot(s, u, b),
        lambda s, u, b: start_user_bot(s, u, b, now=NOW),
        lambda s, u, b: pause_user_bot(s, u, b, now=NOW),
        lambda s, u, b: stop_user_bot(s, u, b, now=NOW),
        lambda s, u, b: stored_credentials(s, u, b, None),
    ],
    ids=["update", "keys", "delete", "start", "pause", "stop", "credentials"],
)
def test_another_users_bot_is_not_found_and_untouched(db_session, act):
    owner, other = gen_user(db_session), gen_user(db_session)
    bot = gen_bot(db_session, owner, name="theirs")
    gen_pair(db_session, bot)
    db_session.commit()
    with pytest.raises(NotFound):
        act(db_session, other, bot.id)
    db_session.rollback()
    assert (bot.name, bot.status) == ("theirs", "running")
    assert audit_rows(db_session) == []


def test_the_list_counts_pairs_and_shows_only_the_users_bots(db_session):
    user, other = gen_user(db_session, **PRO), gen_user(db_session)
    first = gen_bot(db_session, user, name="first")
    gen_pair(db_session, first, "BTCUSDT")
    gen_pair(db_session, first, "ETHUSDT", is_active=False)
    gen_bot(db_session, user, name="second")
    gen_pair(db_session, gen_bot(db_session, other), "BTCUSDT")
    rows = list_bots(db_session, user)
    assert [(r.bot.name, r.pairs, r.active_pairs) for r in rows] == [
        ("first", 2, 1),
        ("second", 0, 0),
    ]


def test_activity_is_the_latest_runs_and_logs_newest_first(db_session):
    user = gen_user(db_session)
    bot = gen_bot(db_session, user)
    for minute in range(12):
        at = NOW + timedelta(minutes=minute)
        db_session.add(BotRun(bot_id=bot.id, started_at=at, outcome="ok"))
        db_session.add(BotLog(bot_id=bot.id, level="info", message=f"m{minute}", created_at=at))
    db_session.flush()
    activity = bot_activity(db_session, user, bot, runs=3, logs=2)
    assert [r.started_at.minute for r in activity.runs] == [11, 10, 9]
    assert [line.message for line in activity.logs] == ["m11", "m10"]
