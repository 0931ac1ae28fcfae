"""When bots run: spread slots, atomic claims of due bots, run outcomes and the failure policy.

Each bot runs every ``run_interval_minutes`` at a fixed offset inside its interval, so thousands
of bots spread over the window instead of firing in the same second. ``claim_due_bots`` moves a
due bot's ``next_run_at`` to its next slot in the same statement that checks the old value, so
two runners started together never claim one bot twice.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from notifications.base import Event
from notifications.events import BOT_ERROR as BOT_ERROR_EVENT
from saas.db import sqlite_path
from saas.models import BOT_ERROR, BOT_RUNNING, Bot, BotLog, BotRun
from saas.services.notifications import outbox

DEFAULT_MAX_FAILURES = 5
# A bot is overdue when its slot passed this long ago without a claim (two cron ticks).
OVERDUE_GRACE = timedelta(minutes=2)
# How early a per-bot cron line may start its run (cron fires on the minute).
CRON_HORIZON = timedelta(seconds=60)
# Outcomes that count towards the failure policy; "locked" (the previous run still going) and
# "running" do not.
FAILED = "error"
AUTH_FAILED = "auth_error"
FAILED_OUTCOMES = (FAILED, AUTH_FAILED)
LOCKED = "locked"
OK = "ok"
RUNNING = "running"
SKIPPED = "skipped"
# Knuth's multiplicative hash: consecutive bot ids land far apart inside the interval.
_SPREAD_MULTIPLIER = 2654435761
_SPREAD_MODULUS = 2**32


@dataclass(frozen=True)
class Claim:
    """A bot this runner will start: when (its slot, or now when late) and its next slot."""

    bot_id: int
    due_at: datetime
    next_run_at: datetime
    interval_minutes: int

    @property
    def interval(self) -> timedelta:
        """The bot's run interval."""
        return timedelta(minutes=self.interval_minutes)


@dataclass(frozen=True)
class RunReport:
    """What the runner saw of one bot process, to be recorded."""

    bot_id: int
    started_at: datetime
    finished_at: datetime
    returncode: int
    timed_out: bool = False
    error: str = ""
    next_run_at: datetime | None = None

    @property
    def duration_ms(self) -> int:
        """Wall time of the process."""
        return max(0, int((self.finished_at - self.started_at).total_seconds() * 1000))


def spread_offset(bot_id: int, interval_s: int) -> int:
    """The bot's stable offset in seconds within its interval."""
    spread = (int(bot_id) * _SPREAD_MULTIPLIER) % _SPREAD_MODULUS
    return spread * int(interval_s) // _SPREAD_MODULUS


def next_slot(after: datetime, interval_minutes: int, bot_id: int) -> datetime:
    """The bot's first slot strictly after ``after`` (slots: epoch + k * interval + offset)."""
    interval_s = max(1, int(interval_minutes)) * 60
    offset = spread_offset(bot_id, interval_s)
    seconds = int(after.timestamp())
    k = (seconds - offset) // interval_s + 1
    return datetime.fromtimestamp(k * interval_s + offset, UTC)


def plan_claim(
    bot_id: int, interval_minutes: int, next_run_at: datetime | None, now: datetime
) -> Claim:
    """When a due bot starts and its following slot (never closer than half an interval)."""
    due_at = now if next_run_at is None or next_run_at < now else next_run_at
    half = timedelta(minutes=interval_minutes) / 2
    following = next_slot(due_at + half, interval_minutes, bot_id)
    return Claim(bot_id, due_at, following, interval_minutes)


def _due_query(now: datetime, horizon: timedelta, limit: int | None):
    """Running bots whose slot comes before now + horizon, earliest (and never run) first."""
    query = (
        select(Bot.id, Bot.run_interval_minutes, Bot.next_run_at)
        .where(Bot.status == BOT_RUNNING)
        .where((Bot.next_run_at.is_(None)) | (Bot.next_run_at <= now + horizon))
        .order_by(Bot.next_run_at.asc().nulls_first(), Bot.id)
    )
    return query.limit(limit) if limit else query


@contextmanager
def claim_guard(engine: Engine) -> Iterator[None]:
    """SQLite: one claimer at a time through a file lock (PostgreSQL locks rows instead)."""
    path = sqlite_path(engine.url) if engine.dialect.name == "sqlite" else None
    if path is None:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path.with_name(path.name + ".claim.lock"), os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def take_slot(session: Session, claim: Claim, old_next: datetime | None) -> bool:
    """Move the bot to its next slot if next_run_at still holds what we read (compare-and-set)."""
    old = Bot.next_run_at.is_(None) if old_next is None else Bot.next_run_at == old_next
    moved = session.execute(
        update(Bot)
        .where(Bot.id == claim.bot_id, Bot.status == BOT_RUNNING, old)
        .values(next_run_at=claim.next_run_at)
        .execution_options(synchronize_session=False)
    )
    return moved.rowcount == 1


def claim_due_bots(
    session: Session,
    now: datetime,
    *,
    horizon: timedelta = timedelta(0),
    limit: int | None = None,
) -> list[Claim]:
    """Claim every due running bot: its next_run_at moves to its next slot; commits."""
    engine = session.get_bind()
    claims = []
    with claim_guard(engine):
        query = _due_query(now, horizon, limit)
        if engine.dialect.name == "postgresql":
            # Another runner's claim in progress: skip its rows rather than wait for them.
            query = query.with_for_update(skip_locked=True, of=Bot)
        for bot_id, interval, old_next in session.execute(query).all():
            claim = plan_claim(bot_id, interval, old_next, now)
            if take_slot(session, claim, old_next):
                claims.append(claim)
        session.commit()
    return claims


def claim_own_slot(
    session: Session, bot: Bot, now: datetime, horizon: timedelta = CRON_HORIZON
) -> bool:
    """A `BOT_ID=n` run not started by run-due claims its slot as run-due would; commits.

    Due means the slot starts within ``horizon`` (a per-bot cron line fires on the minute, up
    to a minute before the bot's spread slot). False when the slot is later or another run
    claimed it first: that run, or the next slot, does the work.
    """
    old = bot.next_run_at
    if old is not None and old > now + horizon:
        return False
    claim = plan_claim(bot.id, bot.run_interval_minutes, old, now)
    with claim_guard(session.get_bind()):
        taken = take_slot(session, claim, old)
        session.commit()
    return taken


def overdue_count(session: Session, now: datetime, grace: timedelta = OVERDUE_GRACE) -> int:
    """Running bots whose slot passed more than ``grace`` ago and nobody has claimed."""
    return (
        session.scalar(
            select(func.count(Bot.id)).where(
                Bot.status == BOT_RUNNING,
                Bot.next_run_at.is_not(None),
                Bot.next_run_at < now - grace,
            )
        )
        or 0
    )


def status_counts(session: Session) -> dict[str, int]:
    """Bots per status."""
    rows = session.execute(select(Bot.status, func.count(Bot.id)).group_by(Bot.status)).all()
    return {status: count for status, count in rows}


def _latest_run(session: Session, bot_id: int, since: datetime) -> BotRun | None:
    """The run row this process wrote, if it got that far (rows of earlier runs start before)."""
    return session.scalars(
        select(BotRun)
        .where(BotRun.bot_id == bot_id, BotRun.started_at >= since)
        .order_by(BotRun.started_at.desc(), BotRun.id.desc())
        .limit(1)
    ).first()


def runner_reason(report: RunReport, interval_minutes: int | None = None) -> str:
    """One line saying why the process ended as it did, for bot_runs and the bot page."""
    if report.timed_out:
        seconds = report.duration_ms // 1000
        return f"run stopped at the time limit after {seconds} s; the next run settles its orders"
    if report.returncode == 3:
        return "skipped: the previous run of this bot was still going (it overran its slot)"
    if report.returncode == 2:
        return f"configuration error: {report.error or 'see the runner log'}"
    if report.returncode < 0:
        return f"the run process died (signal {-report.returncode})"
    return report.error or f"the run process exited with status {report.returncode}"


def _complete_run(session: Session, bot: Bot, run: BotRun | None, report: RunReport) -> BotRun:
    """Write the outcome of a run the process could not finish itself (killed, config, lock)."""
    outcome = LOCKED if report.returncode == 3 and not report.timed_out else FAILED
    reason = runner_reason(report)
    if run is None or run.outcome != RUNNING:
        run = BotRun(bot_id=report.bot_id, started_at=report.started_at, conclusions={})
        session.add(run)
    run.finished_at = report.finished_at
    run.duration_ms = report.duration_ms
    run.outcome = outcome
    run.conclusions = {**(run.conclusions or {}), "runner": reason}
    if outcome != LOCKED:  # a skipped run leaves the bot's last real run in place
        bot.last_run_at = report.started_at
        bot.last_outcome = outcome
        bot.last_error = reason[:2000]
    session.flush()
    return run


def record_run(session: Session, report: RunReport, now: datetime) -> str:
    """Record how the process ended; complete the run row when the process could not."""
    bot = session.get(Bot, report.bot_id)
    if bot is None:
        return FAILED
    # A run refused by the lock wrote nothing; the row of the run holding it is not ours.
    locked_out = report.returncode == 3 and not report.timed_out
    run = None if locked_out else _latest_run(session, report.bot_id, report.started_at)
    finished_itself = report.returncode in (0, 1) and not report.timed_out
    if report.returncode == 0 and run is None and not report.timed_out:
        session.commit()  # the bot had nothing to do (stopped or paused since the claim)
        return SKIPPED
    if not (finished_itself and run is not None and run.outcome != RUNNING):
        # Killed, crashed, refused to start or found the lock taken: the runner writes it.
        run = _complete_run(session, bot, run, report)
    # Otherwise the process wrote its run and the bot's last run, outcome and error itself.
    if report.next_run_at is not None and report.finished_at > report.next_run_at:
        late = int((report.finished_at - report.next_run_at).total_seconds())
        session.add(
            BotLog(
                bot_id=bot.id,
                run_id=run.id,
                level="warning",
                message=f"run overran its slot: it ended {late} s after the next run was due",
                fields={"duration_ms": report.duration_ms},
                created_at=now,
            )
        )
    outcome = run.outcome
    session.commit()
    return outcome


def on_grid(value: datetime, interval_minutes: int, bot_id: int) -> bool:
    """Whether a time is one of the bot's slots (set by a claim, not by anyone else)."""
    return next_slot(value - timedelta(seconds=1), interval_minutes, bot_id) == value


def consecutive_failures(session: Session, bot_id: int, limit: int) -> list[BotRun]:
    """The bot's latest finished runs (up to ``limit``) while they are all failures."""
    runs = session.scalars(
        select(BotRun)
        .where(BotRun.bot_id == bot_id, BotRun.outcome.not_in((RUNNING, LOCKED)))
        .order_by(BotRun.started_at.desc(), BotRun.id.desc())
        .limit(limit)
    ).all()
    streak = []
    for run in runs:
        if run.outcome not in FAILED_OUTCOMES:
            break
        streak.append(run)
    return streak


def apply_failure_policy(
    session: Session, bot_id: int, now: datetime, max_failures: int = DEFAULT_MAX_FAILURES
) -> str | None:
    """Set a running bot to error after ``max_failures`` failed runs in a row; returns why."""
    bot = session.get(Bot, bot_id)
    if bot is None or bot.status != BOT_RUNNING or max_failures <= 0:
        return None
    streak = consecutive_failures(session, bot_id, max_failures)
    if len(streak) < max_failures:
        return None
    last = bot.last_error or "; ".join(str(v) for v in (streak[0].conclusions or {}).values())
    reason = f"stopped after {max_failures} failed runs in a row; last error: {last}"[:2000]
    bot.status = BOT_ERROR
    bot.last_error = reason
    bot.next_run_at = None
    outbox.enqueue_for_bot(session, bot.id, Event(BOT_ERROR_EVENT, {"reason": reason}), now=now)
    session.add(
        BotLog(
            bot_id=bot.id,
            run_id=streak[0].id,
            level="error",
            message=reason,
            fields={"failures": max_failures},
            created_at=now,
        )
    )
    session.commit()
    return reason


def utc(value: datetime) -> datetime:
    """An aware UTC datetime (naive values are taken as UTC)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
