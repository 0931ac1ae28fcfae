"""Operations across the install: runner health, failures by cause, activity, database size."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import case, func, literal, select, text, union_all
from sqlalchemy.orm import Session

from saas.models import Base, BotRun, Trade
from saas.models.base import UTCDateTime
from saas.ops.runner_state import read_state
from saas.services.runs.scheduling import overdue_count, status_counts

HOURS = 24
TREND_DAYS = 14
BIGGEST_TABLES = 8
# Why runs failed, from their outcome and the runner's note (bot_runs.conclusions["runner"]).
CAUSES = ("authentication", "timeout", "configuration", "crashed", "exchange or other")


@dataclass
class SystemReport:
    """What the system page shows."""

    runner: dict
    bots: dict
    overdue: int
    runs_last_hour: int
    failure_hours: list = field(default_factory=list)  # (hour start, {cause: n}, total runs)
    failure_totals: dict = field(default_factory=dict)
    runs_24h: int = 0
    trades: dict = field(default_factory=dict)
    error_trend: list = field(default_factory=list)  # (day, runs, failed)
    database: dict = field(default_factory=dict)
    backlog: list = field(default_factory=list)  # (name, pending)


def _runner(env: Mapping[str, str], now: datetime) -> dict:
    """The runner's last pass from its state file (the cron job has no server to ask)."""
    state = read_state(env) or {}
    last = state.get("last_pass") or {}
    info = {"seen": bool(last), "finished_at": None, "duration_s": None, "age_s": None}
    if last.get("finished_at"):
        end = datetime.fromisoformat(last["finished_at"])
        start = datetime.fromisoformat(last.get("started_at") or last["finished_at"])
        info.update(
            finished_at=end,
            duration_s=round((end - start).total_seconds(), 1),
            age_s=int((now - end).total_seconds()),
            bots=last.get("bots", last.get("claimed")),
        )
    return info


def _cause():
    """A CASE naming a failed run's cause."""
    note = func.coalesce(BotRun.conclusions["runner"].as_string(), "")
    return case(
        (BotRun.outcome == "auth_error", "authentication"),
        (note.like("%time limit%"), "timeout"),
        (note.like("configuration error%"), "configuration"),
        (note.like("%process died%"), "crashed"),
        else_="exchange or other",
    )


def _hours(start: datetime, count: int, step: timedelta):
    """A one-column (bucket start, bucket end) table of ``count`` periods from ``start``."""
    rows = [
        select(
            literal(start + i * step, UTCDateTime).label("lo"),
            literal(start + (i + 1) * step, UTCDateTime).label("hi"),
        )
        for i in range(count)
    ]
    return union_all(*rows).subquery("buckets")


def failures_by_cause(session: Session, now: datetime) -> tuple[list, dict, int]:
    """Failed runs per hour and cause over the last 24 hours, and all runs per hour, in SQL."""
    start = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=HOURS - 1)
    buckets = _hours(start, HOURS, timedelta(hours=1))
    failed = BotRun.outcome.in_(("error", "auth_error"))
    rows = session.execute(
        select(
            buckets.c.lo,
            case((failed, _cause()), else_=None).label("cause"),
            func.count(BotRun.id),
        )
        .select_from(buckets)
        .join(BotRun, (BotRun.started_at >= buckets.c.lo) & (BotRun.started_at < buckets.c.hi))
        .where(BotRun.outcome.not_in(("running", "locked")))
        .group_by(buckets.c.lo, "cause")
    ).all()
    hours = {start + timedelta(hours=i): ({}, 0) for i in range(HOURS)}
    totals = dict.fromkeys(CAUSES, 0)
    runs = 0
    for lo, cause, count in rows:
        causes, total = hours[lo]
        total += count
        runs += count
        if cause is not None:
            causes[cause] = causes.get(cause, 0) + count
            totals[cause] += count
        hours[lo] = (causes, total)
    return [(lo, c, t) for lo, (c, t) in sorted(hours.items())], totals, runs


def error_trend(session: Session, now: datetime) -> list:
    """Runs and failed runs per day over the last two weeks."""
    start = (now - timedelta(days=TREND_DAYS - 1)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    days = _hours(start, TREND_DAYS, timedelta(days=1))
    failed = case((BotRun.outcome.in_(("error", "auth_error")), 1), else_=0)
    rows = session.execute(
        select(days.c.lo, func.count(BotRun.id), func.coalesce(func.sum(failed), 0))
        .select_from(days)
        .outerjoin(
            BotRun,
            (BotRun.started_at >= days.c.lo)
            & (BotRun.started_at < days.c.hi)
            & BotRun.outcome.not_in(("running", "locked")),
        )
        .group_by(days.c.lo)
        .order_by(days.c.lo)
    ).all()
    return [(lo, int(runs), int(bad)) for lo, runs, bad in rows]


def trade_counts(session: Session, now: datetime) -> dict:
    """Trades today, in the last 7 days and the last 30 days (one query on trades.time)."""
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    week, month = now - timedelta(days=7), now - timedelta(days=30)
    row = session.execute(
        select(
            func.count(case((Trade.time >= day, 1))),
            func.count(case((Trade.time >= week, 1))),
            func.count(Trade.id),
        ).where(Trade.time >= month)
    ).one()
    return {"today": row[0], "week": row[1], "month": row[2]}


def database_size(session: Session) -> dict:
    """The database's size and its biggest tables (PostgreSQL's catalog; SQLite's pages)."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        size = session.scalar(text("SELECT pg_database_size(current_database())"))
        tables = session.execute(
            text(
                "SELECT c.relname, pg_total_relation_size(c.oid), c.reltuples::bigint "
                "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.relkind = 'r' AND n.nspname = current_schema() "
                "ORDER BY 2 DESC LIMIT :n"
            ),
            {"n": BIGGEST_TABLES},
        ).all()
        return {"bytes": size, "tables": [(n, b, max(0, r)) for n, b, r in tables]}
    pages = session.scalar(text("PRAGMA page_count")) or 0
    page_size = session.scalar(text("PRAGMA page_size")) or 0
    counts = [
        select(literal(table.name).label("name"), func.count().label("n")).select_from(table)
        for table in Base.metadata.sorted_tables
    ]
    rows = session.execute(union_all(*counts).order_by(text("n DESC")).limit(BIGGEST_TABLES)).all()
    return {"bytes": pages * page_size, "tables": [(name, None, n) for name, n in rows]}


def delivery_backlog(session: Session) -> list:
    """Messages waiting to be sent, per outbox table the install has (none: mail is sent inline)."""
    found = []
    for table in Base.metadata.sorted_tables:
        if "outbox" in table.name and "status" in table.c:
            pending = session.scalar(
                select(func.count()).select_from(table).where(table.c.status == "pending")
            )
            found.append((table.name, pending or 0))
    return found


def system_report(session: Session, env: Mapping[str, str], now: datetime) -> SystemReport:
    """Everything the system page shows, read now."""
    hours, totals, runs = failures_by_cause(session, now)
    last_hour = session.scalar(
        select(func.count(BotRun.id)).where(BotRun.started_at >= now - timedelta(hours=1))
    )
    counts = status_counts(session)
    return SystemReport(
        runner=_runner(env, now),
        bots={**{s: 0 for s in ("running", "paused", "stopped", "error")}, **counts},
        overdue=overdue_count(session, now),
        runs_last_hour=last_hour or 0,
        failure_hours=hours,
        failure_totals=totals,
        runs_24h=runs,
        trades=trade_counts(session, now),
        error_trend=error_trend(session, now),
        database=database_size(session),
        backlog=delivery_backlog(session),
    )
