"""Bot lifecycle services: runs scheduled, authentication errors pause and tell the owner."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from saas.models import Bot, BotLog, NotificationOutbox
from saas.security import bot_credentials
from saas.services.bots.config import load_bot_config
from saas.services.bots.lifecycle import (
    create_bot,
    due_bot_ids,
    pause_bot,
    record_run,
    record_run_result,
    resume_bot,
    stop_bot,
)
from saas.services.runs.scheduling import next_slot
from tests.fixtures.database import gen_bot, gen_pair, gen_user
from workflows.trading import AUTH_FAILED, FAILED, LOCKED, OK, SKIPPED, BotRunResult, PairResult

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def test_a_new_bot_gets_its_keys_bound_to_its_own_id(db_session, keyring):
    user = gen_user(db_session)
    bot = create_bot(
        db_session,
        user,
        ring=keyring,
        api_key="K",
        api_secret="S",
        name="live",
        exchange="bybit",
        status="running",
    )
    db_session.commit()
    assert bot.status == "running" and bot_credentials(bot, keyring) == ("K", "S")
    with pytest.raises(ValueError, match="key ring"):
        create_bot(db_session, user, api_key="K", api_secret="S", name="x", exchange="bybit")


def test_a_finished_run_is_recorded_and_the_next_one_scheduled(db_session):
    bot = gen_bot(db_session, gen_user(db_session), run_interval_minutes=15)
    assert record_run(db_session, bot, OK, now=NOW) is False
    assert (bot.status, bot.last_run_at, bot.last_outcome, bot.last_error) == (
        "running",
        NOW,
        OK,
        None,
    )
    # An unscheduled run puts the bot on its own spread slot within the next interval.
    assert NOW < bot.next_run_at <= NOW + timedelta(minutes=15)
    assert bot.next_run_at == next_slot(NOW, 15, bot.id)


def test_a_run_keeps_the_slot_the_runner_claimed(db_session):
    bot = gen_bot(db_session, gen_user(db_session), run_interval_minutes=5)
    claimed = next_slot(NOW, 5, bot.id) + timedelta(minutes=5)
    bot.next_run_at = claimed
    record_run(db_session, bot, OK, now=NOW)
    assert bot.next_run_at == claimed


@pytest.mark.parametrize("outcome", [SKIPPED, FAILED])
def test_temporary_and_pair_errors_leave_the_bot_running(db_session, outcome):
    bot = gen_bot(db_session, gen_user(db_session))
    assert record_run(db_session, bot, outcome, "BTCUSDT Long: 503", now=NOW) is False
    assert (bot.status, bot.last_error) == ("running", "BTCUSDT Long: 503")


def test_an_authentication_error_pauses_the_bot_with_the_reason(db_session):
    bot = gen_bot(db_session, gen_user(db_session))
    assert record_run(db_session, bot, AUTH_FAILED, "authentication failed: key", now=NOW)
    db_session.commit()
    assert (bot.status, bot.next_run_at) == ("paused", None)
    assert bot.last_error == "authentication failed: key"
    log = db_session.scalars(select(BotLog)).one()
    assert (log.level, log.message) == ("error", "bot paused: authentication failed: key")


def test_a_locked_run_records_nothing(db_session):
    bot = gen_bot(db_session, gen_user(db_session))
    record_run(db_session, bot, LOCKED, now=NOW)
    assert bot.last_run_at is None and bot.last_outcome is None


def test_pause_resume_and_stop(db_session):
    bot = gen_bot(db_session, gen_user(db_session))
    pause_bot(db_session, bot, "by the owner", now=NOW)
    assert (bot.status, bot.last_error) == ("paused", "by the owner")
    resume_bot(db_session, bot, now=NOW)
    assert (bot.status, bot.last_error, bot.next_run_at) == ("running", None, NOW)
    stop_bot(db_session, bot, now=NOW)
    assert (bot.status, bot.next_run_at) == ("stopped", None)


def test_due_bots_are_running_ones_whose_time_has_come(db_session):
    user = gen_user(db_session)
    never_run = gen_bot(db_session, user)
    due = gen_bot(db_session, user, next_run_at=NOW - timedelta(minutes=1))
    gen_bot(db_session, user, next_run_at=NOW + timedelta(minutes=1))
    gen_bot(db_session, user, status="paused", next_run_at=NOW - timedelta(hours=1))
    db_session.commit()
    assert due_bot_ids(db_session, NOW) == [never_run.id, due.id]
    assert due_bot_ids(db_session, NOW, limit=1) == [never_run.id]


def test_a_pause_is_written_to_the_outbox_with_the_status_change(db_session, db_url):
    """The pause and its "bot paused" event commit together; sending is the worker's job."""
    user = gen_user(db_session)
    bot = gen_bot(db_session, user)
    gen_pair(db_session, bot)
    db_session.commit()
    env = {"DATABASE_URL": db_url}
    config = load_bot_config(bot.id, env)
    try:
        result = BotRunResult(
            "1",
            AUTH_FAILED,
            [
                PairResult(
                    "1", "BTCUSDT", "Long", AUTH_FAILED, error="authentication failed: invalid key"
                )
            ],
        )
        assert record_run_result(config, result, now=NOW, env=env)
    finally:
        config.close()
    db_session.expire_all()
    (event,) = db_session.scalars(select(NotificationOutbox)).all()
    assert (event.user_id, event.bot_id, event.kind) == (user.id, bot.id, "bot_paused")
    assert "invalid key" in event.fields["reason"] and event.created_at == NOW
    db_session.expire_all()
    assert db_session.get(Bot, bot.id).status == "paused"
