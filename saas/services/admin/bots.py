"""Every bot, across tenants: the filtered list, one bot's runs and last execution, and the
administrator's actions on it (force stop, pause, run now, clear error), each audited."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, func, literal, or_, select
from sqlalchemy.orm import Session, aliased

from saas.models import (
    BOT_ERROR,
    BOT_PAUSED,
    BOT_RUNNING,
    BOT_STOPPED,
    Bot,
    BotLog,
    BotRun,
    Order,
    User,
)
from saas.services.accounts.audit import record_audit
from saas.services.admin.accounts import Actor, AdminActionError
from saas.services.admin.common import (
    DEFAULT_PER_PAGE,
    Page,
    email_matches,
    page_of,
    paginate,
    valid_id,
)
from saas.services.bots.lifecycle import pause_bot, stop_bot
from saas.services.runs.scheduling import OVERDUE_GRACE

FAILED_OUTCOMES = ("error", "auth_error")
GOOD_OUTCOMES = ("ok", "skipped")
OPEN_ORDER_STATUSES = ("pending", "open", "unknown")
TESTNET, MAINNET, PAPER = "testnet", "mainnet", "paper"


NETWORK_FILTERS = {
    PAPER: lambda: (Bot.exchange == PAPER,),
    TESTNET: lambda: (Bot.exchange != PAPER, Bot.testnet.is_(True)),
    MAINNET: lambda: (Bot.exchange != PAPER, Bot.testnet.is_(False)),
}


@dataclass(frozen=True)
class BotFilters:
    """What the bots list is narrowed to (all optional)."""

    q: str = ""  # bot name or owner e-mail
    status: str = ""
    exchange: str = ""
    network: str = ""  # testnet / mainnet / paper
    plan: str = ""
    outcome: str = ""
    overdue: bool = False
    min_failures: int = 0  # at least this many failed runs in a row
    user_id: int | None = None


@dataclass(frozen=True)
class BotRow:
    """One line of the bots list."""

    id: int
    name: str
    exchange: str
    testnet: bool
    status: str
    last_outcome: str | None
    last_run_at: datetime | None
    next_run_at: datetime | None
    last_error: str | None
    user_id: int
    email: str
    plan: str
    streak: int = 0


def _streak_expr(bot_id_column):
    """Failed runs of a bot since its last good one (a correlated count on its runs index)."""
    good = aliased(BotRun)
    last_good = (
        select(func.max(good.started_at))
        .where(good.bot_id == bot_id_column, good.outcome.in_(GOOD_OUTCOMES))
        .correlate_except(good)
        .scalar_subquery()
    )
    return (
        select(func.count(BotRun.id))
        .where(
            BotRun.bot_id == bot_id_column,
            BotRun.outcome.in_(FAILED_OUTCOMES),
            or_(last_good.is_(None), BotRun.started_at > last_good),
        )
        .correlate_except(BotRun)
        .scalar_subquery()
    )


def _streak_at_least(bot_id_column, n: int):
    """Whether a bot failed at least ``n`` runs since its last good one, reading few index rows.

    The n-th latest failed run came after the latest good run: both are backward reads of the
    (bot_id, started_at) index that stop early, where counting the whole streak reads all of it.
    """
    good = aliased(BotRun)
    nth_failed = (
        select(BotRun.started_at)
        .where(BotRun.bot_id == bot_id_column, BotRun.outcome.in_(FAILED_OUTCOMES))
        .order_by(BotRun.started_at.desc())
        .offset(n - 1)
        .limit(1)
        .correlate_except(BotRun)
        .scalar_subquery()
    )
    last_good = (
        select(good.started_at)
        .where(good.bot_id == bot_id_column, good.outcome.in_(GOOD_OUTCOMES))
        .order_by(good.started_at.desc())
        .limit(1)
        .correlate_except(good)
        .scalar_subquery()
    )
    return and_(nth_failed.is_not(None), or_(last_good.is_(None), nth_failed > last_good))


def _filtered(query, f: BotFilters, now: datetime):
    """``query`` (over bots joined to users) narrowed by the filters."""
    if f.q.strip():
        text = f.q.strip()
        # A bot id, else the owner's address (prefix, or "@domain"): both on indexes.
        owners = select(User.id).where(email_matches(User.email, text))
        query = query.where(
            Bot.id == int(text) if text.isdigit() and valid_id(text) else Bot.user_id.in_(owners)
        )
    if f.status:
        query = query.where(Bot.status == f.status)
    if f.exchange:
        query = query.where(Bot.exchange == f.exchange)
    if f.network in NETWORK_FILTERS:
        query = query.where(*NETWORK_FILTERS[f.network]())
    if f.plan:
        # A semi-join: the plan's owners hashed once, the bots read in id order against it.
        owners = select(User.id).where(or_(User.plan == f.plan, User.plan_override == f.plan))
        query = query.where(Bot.user_id.in_(owners))
    if f.outcome:
        query = query.where(Bot.last_outcome == f.outcome)
    if f.overdue:
        query = query.where(
            Bot.status == BOT_RUNNING,
            Bot.next_run_at.is_not(None),
            Bot.next_run_at < now - OVERDUE_GRACE,
        )
    if f.min_failures == 1:
        query = query.where(Bot.last_outcome.in_(FAILED_OUTCOMES))  # a failed last run: one
    elif f.min_failures > 1:
        # Only bots whose last run failed can be on a streak: the cheap test goes first.
        query = query.where(
            Bot.last_outcome.in_(FAILED_OUTCOMES), _streak_at_least(Bot.id, f.min_failures)
        )
    if f.user_id:
        query = query.where(Bot.user_id == f.user_id)
    return query


def all_bots(
    session: Session,
    filters: BotFilters,
    now: datetime,
    page: int = 1,
    per_page: int = DEFAULT_PER_PAGE,
) -> Page:
    """A page of every tenant's bots (cross-tenant), newest first, with their failing streaks."""
    columns = (
        Bot.id,
        Bot.name,
        Bot.exchange,
        Bot.testnet,
        Bot.status,
        Bot.last_outcome,
        Bot.last_run_at,
        Bot.next_run_at,
        Bot.last_error,
        Bot.user_id,
        User.email,
        func.coalesce(User.plan_override, User.plan),
    )
    # The page's ids first, from bots alone, then their rows with the owner: a deep page skips
    # ids, not joined rows.
    matching = _filtered(select(Bot.id), filters, now)
    ordered = matching.order_by(Bot.id.desc())
    # A failing streak of two or more is a subquery per bot: count no further than the page.
    count = None if filters.min_failures > 1 else matching
    id_rows, total, more, page = paginate(session, ordered, count, page, per_page)
    ids = [row[0] for row in id_rows]
    rows = session.execute(
        select(*columns)
        .join(User, User.id == Bot.user_id)
        .where(Bot.id.in_(ids))
        .order_by(Bot.id.desc())
    ).all()
    failing = [row[0] for row in rows if row[5] in FAILED_OUTCOMES]
    streaks = {}
    if failing:
        inner = select(Bot.id.label("bot_id"), _streak_expr(Bot.id).label("n")).where(
            Bot.id.in_(failing)
        )
        streaks = dict(session.execute(inner).all())
    # The bot's own last outcome failed, so its streak is at least one even when older runs
    # were pruned.
    items = [
        BotRow(*row, streak=max(streaks.get(row[0], 0), 1) if row[0] in failing else 0)
        for row in rows
    ]
    return page_of(items, page, per_page, total, more)


def any_bot(session: Session, bot_id) -> Bot | None:
    """Any tenant's bot by id (None when missing or not an id)."""
    valid = valid_id(bot_id)
    return session.get(Bot, valid) if valid is not None else None


@dataclass
class BotInspection:
    """One bot's history and its last execution: decision, log lines and exchange orders."""

    bot: Bot
    runs: list = field(default_factory=list)
    logs: list = field(default_factory=list)
    last_run: BotRun | None = None
    last_run_logs: list = field(default_factory=list)
    last_run_orders: list = field(default_factory=list)
    open_orders: list = field(default_factory=list)
    streak: int = 0


def inspect_bot(session: Session, bot: Bot, limit: int = 30) -> BotInspection:
    """The bot's latest runs and logs, its last run in detail and its open journal orders."""
    runs = session.scalars(
        select(BotRun)
        .where(BotRun.bot_id == bot.id)
        .order_by(BotRun.started_at.desc(), BotRun.id.desc())
        .limit(limit)
    ).all()
    logs = session.scalars(
        select(BotLog)
        .where(BotLog.bot_id == bot.id)
        .order_by(BotLog.created_at.desc(), BotLog.id.desc())
        .limit(limit)
    ).all()
    last = runs[0] if runs else None
    last_logs, last_orders = [], []
    if last is not None:
        last_logs = session.scalars(
            select(BotLog).where(BotLog.run_id == last.id).order_by(BotLog.id)
        ).all()
        last_orders = session.scalars(
            select(Order).where(Order.run_id == last.id).order_by(Order.id)
        ).all()
    open_orders = session.scalars(
        select(Order)
        .where(Order.bot_id == bot.id, Order.status.in_(OPEN_ORDER_STATUSES))
        .order_by(Order.created_at.desc())
    ).all()
    streak = session.scalar(select(_streak_expr(literal(bot.id)))) or 0
    return BotInspection(
        bot,
        list(runs),
        list(logs),
        last,
        list(last_logs),
        list(last_orders),
        list(open_orders),
        streak,
    )


def _state(bot: Bot) -> dict:
    """What the bot actions change, for the audit's before and after."""
    return {
        "status": bot.status,
        "next_run_at": bot.next_run_at,
        "last_error": bot.last_error,
        "last_outcome": bot.last_outcome,
    }


def _audit(session: Session, actor: Actor, action: str, bot: Bot, before: dict, now) -> None:
    """One audit row of a bot action with the state before and after."""
    record_audit(
        actor.user,
        f"admin.bot_{action}",
        target=bot,
        before={**before, "owner_id": bot.user_id},
        after=_state(bot),
        ip=actor.ip,
        session=session,
        now=now,
    )


def force_stop(session: Session, bot: Bot, *, now: datetime, actor: Actor) -> None:
    """Stop any bot (it is no longer scheduled)."""
    if bot.status == BOT_STOPPED:
        raise AdminActionError("The bot is already stopped.")
    before = _state(bot)
    stop_bot(session, bot, now=now)
    _audit(session, actor, "force_stopped", bot, before, now)


def pause(session: Session, bot: Bot, reason: str, *, now: datetime, actor: Actor) -> None:
    """Pause a running bot with a reason its owner reads."""
    if bot.status != BOT_RUNNING:
        raise AdminActionError("Only a running bot can be paused.")
    before = _state(bot)
    reason = " ".join((reason or "").split())[:300] or "no reason given"
    pause_bot(session, bot, f"Paused by an administrator: {reason}", now=now)
    _audit(session, actor, "paused", bot, before, now)


def run_now(session: Session, bot: Bot, *, now: datetime, actor: Actor) -> None:
    """Make a running bot due now: the runner's next pass starts it."""
    if bot.status != BOT_RUNNING:
        raise AdminActionError("Only a running bot can be run now; its owner starts it.")
    before = _state(bot)
    bot.next_run_at = now
    _audit(session, actor, "run_now", bot, before, now)


def clear_error(session: Session, bot: Bot, *, now: datetime, actor: Actor) -> None:
    """A bot in error (or paused) goes back to stopped without its error; the owner restarts it."""
    if bot.status not in (BOT_ERROR, BOT_PAUSED) and not bot.last_error:
        raise AdminActionError("The bot has no error to clear.")
    before = _state(bot)
    if bot.status in (BOT_ERROR, BOT_PAUSED):
        bot.status, bot.next_run_at = BOT_STOPPED, None
    bot.last_error = None
    session.add(
        BotLog(
            bot_id=bot.id,
            level="info",
            message="error cleared by an administrator; start the bot again when ready",
            fields={},
            created_at=now,
        )
    )
    _audit(session, actor, "error_cleared", bot, before, now)


ACTIONS = {"stop": force_stop, "run_now": run_now, "clear_error": clear_error}
