"""Scheduling: spread slots, atomic claims, recorded outcomes and the failure policy."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from saas.models import Bot, BotLog, BotRun
from saas.services.runs.scheduling import (
    RunReport,
    apply_failure_policy,
    claim_due_bots,
    next_slot,
    on_grid,
    overdue_count,
    plan_claim,
    record_run,
    spread_offset,
    status_counts,
    take_slot,
)
from tests.fixtures.database import gen_bot, gen_user

NOW = datetime(2026, 3, 2, 12, 0, 0, tzinfo=UTC)


def test_a_thousand_bots_spread_evenly_over_a_five_minute_window():
    """Every minute of the window gets about a fifth of the bots, every second a few."""
    offsets = [spread_offset(bot_id, 300) for bot_id in range(1, 1001)]

    per_minute = Counter(o // 60 for o in offsets)
    per_second = Counter(offsets)
    assert all(0 <= o < 300 for o in offsets)
    assert sorted(per_minute) == [0, 1, 2, 3, 4]
    assert max(per_minute.values()) <= 230 and min(per_minute.values()) >= 170
    assert max(per_second.values()) <= 8


def test_a_bots_slot_is_stable_and_one_interval_apart():
    """Slots sit on the bot's offset; the next after a slot is exactly one interval later."""
    first = next_slot(NOW, 5, 42)
    second = next_slot(first, 5, 42)

    assert first > NOW and second - first == timedelta(minutes=5)
    assert int(first.timestamp()) % 300 == spread_offset(42, 300)
    assert next_slot(NOW, 5, 42) == first
    assert on_grid(first, 5, 42) and not on_grid(first + timedelta(seconds=1), 5, 42)


@pytest.mark.parametrize(
    ("next_run_at", "expected_due"),
    [
        (None, NOW),  # just started: at once
        (NOW - timedelta(hours=3), NOW),  # long overdue: once now, no catching up
        (NOW + timedelta(seconds=20), NOW + timedelta(seconds=20)),  # within the horizon
    ],
)
def test_a_claim_starts_at_the_slot_or_now_and_plans_the_next_slot(next_run_at, expected_due):
    """The following slot is on the grid and at least half an interval after the start."""
    claim = plan_claim(7, 5, next_run_at, NOW)

    assert claim.due_at == expected_due
    assert on_grid(claim.next_run_at, 5, 7)
    assert claim.next_run_at - claim.due_at >= timedelta(minutes=2, seconds=30)
    assert claim.next_run_at - claim.due_at <= timedelta(minutes=7, seconds=30)


def test_claims_take_due_running_bots_once_and_leave_the_rest(db_session):
    """Due running bots move to their next slot; a second claim finds nothing."""
    user = gen_user(db_session)
    due = gen_bot(db_session, user, next_run_at=NOW - timedelta(minutes=1))
    never_run = gen_bot(db_session, user, next_run_at=None)
    later = gen_bot(db_session, user, next_run_at=NOW + timedelta(minutes=3))
    soon = gen_bot(db_session, user, next_run_at=NOW + timedelta(seconds=30))
    stopped = gen_bot(db_session, user, status="stopped", next_run_at=NOW - timedelta(hours=1))
    db_session.commit()

    claims = claim_due_bots(db_session, NOW, horizon=timedelta(seconds=55))
    again = claim_due_bots(db_session, NOW, horizon=timedelta(seconds=55))

    assert sorted(c.bot_id for c in claims) == sorted([due.id, never_run.id, soon.id])
    assert again == []
    db_session.expire_all()
    for claim in claims:
        assert db_session.get(Bot, claim.bot_id).next_run_at == claim.next_run_at
    assert db_session.get(Bot, later.id).next_run_at == NOW + timedelta(minutes=3)
    assert db_session.get(Bot, stopped.id).status == "stopped"


def test_a_claim_loses_to_one_that_moved_the_slot_first(db_session):
    """Compare-and-set: a bot whose next_run_at changed since it was read is not taken."""
    read_value = NOW - timedelta(minutes=1)
    bot = gen_bot(db_session, gen_user(db_session), next_run_at=read_value)
    db_session.commit()
    first = plan_claim(bot.id, 5, read_value, NOW)
    assert take_slot(db_session, first, read_value)  # the other runner, first
    db_session.commit()

    late = take_slot(db_session, plan_claim(bot.id, 5, read_value, NOW), read_value)

    assert not late
    db_session.expire_all()
    assert db_session.get(Bot, bot.id).next_run_at == first.next_run_at


def report(bot, returncode=0, *, seconds=2.0, timed_out=False, error="", next_run_at=None):
    """A RunReport for a process that started at NOW."""
    return RunReport(
        bot.id, NOW, NOW + timedelta(seconds=seconds), returncode, timed_out, error, next_run_at
    )


def test_a_killed_run_completes_its_own_row_as_an_error(db_session):
    """The process left its run "running"; the runner closes it with the reason."""
    bot = gen_bot(db_session, gen_user(db_session))
    db_session.add(BotRun(bot_id=bot.id, started_at=NOW + timedelta(milliseconds=5)))
    db_session.commit()

    outcome = record_run(db_session, report(bot, -15, seconds=240, timed_out=True), NOW)

    [run] = db_session.scalars(select(BotRun)).all()
    assert outcome == "error" and run.outcome == "error"
    assert run.duration_ms == 240_000
    assert run.conclusions["runner"].startswith("run stopped at the time limit after 240 s")
    assert bot.last_outcome == "error" and "time limit" in bot.last_error


def test_a_run_that_found_its_bot_locked_is_recorded_as_an_overrun_skip(db_session):
    """Exit 3: the previous run still held the lock; the bot's last run stays the real one."""
    bot = gen_bot(db_session, gen_user(db_session), last_outcome="ok", last_run_at=NOW)
    db_session.commit()

    outcome = record_run(db_session, report(bot, 3, seconds=0.2), NOW)

    [run] = db_session.scalars(select(BotRun)).all()
    assert outcome == "locked" and run.outcome == "locked"
    assert "overran its slot" in run.conclusions["runner"]
    assert bot.last_outcome == "ok"


def test_a_configuration_error_is_recorded_with_its_line(db_session):
    """Exit 2 before any run row: the runner writes one with the process's error line."""
    bot = gen_bot(db_session, gen_user(db_session))
    db_session.commit()

    record_run(db_session, report(bot, 2, error="error: bot 1 has no active trading pairs"), NOW)

    [run] = db_session.scalars(select(BotRun)).all()
    assert run.outcome == "error"
    assert run.conclusions == {
        "runner": "configuration error: error: bot 1 has no active trading pairs"
    }


def test_a_run_that_ended_after_its_next_slot_is_logged_as_overrun(db_session):
    """Finished past the next slot: a warning on the bot's log."""
    bot = gen_bot(db_session, gen_user(db_session))
    db_session.add(BotRun(bot_id=bot.id, started_at=NOW, finished_at=NOW, outcome="ok"))
    db_session.commit()

    record_run(db_session, report(bot, 0, seconds=400, next_run_at=NOW + timedelta(minutes=5)), NOW)

    [log] = db_session.scalars(select(BotLog).where(BotLog.level == "warning")).all()
    assert log.message == "run overran its slot: it ended 100 s after the next run was due"


def add_runs(session, bot, outcomes):
    """Finished runs, oldest first, one minute apart."""
    for i, outcome in enumerate(outcomes):
        session.add(
            BotRun(
                bot_id=bot.id,
                started_at=NOW + timedelta(minutes=i),
                finished_at=NOW + timedelta(minutes=i),
                outcome=outcome,
                conclusions={"1": f"failure {i}"},
            )
        )
    session.commit()


@pytest.mark.parametrize(
    ("outcomes", "errored"),
    [
        (["error"] * 5, True),
        (["error", "auth_error", "error", "error", "error"], True),
        (["error"] * 4, False),
        (["error", "error", "ok", "error", "error", "error", "error"], False),
        (["error", "error", "locked", "error", "error", "locked", "error"], True),
    ],
)
def test_the_failure_policy_counts_failed_runs_in_a_row(db_session, outcomes, errored):
    """Five failures in a row (lock skips aside) set the bot to error with the reason."""
    bot = gen_bot(db_session, gen_user(db_session), last_error="BTCUSDT Long: boom")
    add_runs(db_session, bot, outcomes)

    reason = apply_failure_policy(db_session, bot.id, NOW, max_failures=5)

    assert (reason is not None) == errored
    if errored:
        assert bot.status == "error" and bot.next_run_at is None
        assert bot.last_error == (
            "stopped after 5 failed runs in a row; last error: BTCUSDT Long: boom"
        )
        assert db_session.scalars(select(BotLog.message)).all() == [bot.last_error]
    else:
        assert bot.status == "running"


def test_the_failure_policy_leaves_bots_the_owner_stopped(db_session):
    """A bot no longer running is not touched."""
    bot = gen_bot(db_session, gen_user(db_session), status="stopped")
    add_runs(db_session, bot, ["error"] * 5)

    assert apply_failure_policy(db_session, bot.id, NOW) is None
    assert bot.status == "stopped"


def test_overdue_and_status_counts(db_session):
    """Overdue: running and unclaimed for more than the grace period."""
    user = gen_user(db_session)
    gen_bot(db_session, user, next_run_at=NOW - timedelta(minutes=10))
    gen_bot(db_session, user, next_run_at=NOW - timedelta(seconds=30))
    gen_bot(db_session, user, status="paused", next_run_at=NOW - timedelta(hours=1))
    db_session.commit()

    assert overdue_count(db_session, NOW) == 1
    assert status_counts(db_session) == {"running": 2, "paused": 1}
