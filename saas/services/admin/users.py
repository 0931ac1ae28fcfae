"""Every user, across tenants: the searchable list and one user's whole picture."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session

from saas.models import AuditLog, Bot, BotRun, Invoice, Trade, TradingPair, User
from saas.plans import PlanTable, effective_plan, plan_override
from saas.services.admin.common import (
    DEFAULT_PER_PAGE,
    Page,
    email_matches,
    page_of,
    paginate,
    valid_id,
)

LOGIN_ACTIONS = (
    "login",
    "login_failed",
    "login_refused_locked",
    "login_refused_suspended",
    "logout",
    "account_locked",
)
SORTS = {
    "created": User.created_at,
    "email": User.email,
    "last_login": User.last_login_at,
    "plan": User.plan,
    "id": User.id,
}
YES, NO = "yes", "no"


@dataclass(frozen=True)
class UserFilters:
    """What the users list is narrowed to and ordered by (all optional)."""

    q: str = ""
    plan: str = ""
    status: str = ""
    role: str = ""
    confirmed: str = ""  # "yes" / "no"
    two_factor: str = ""  # "yes" / "no"
    created_from: date | None = None
    created_to: date | None = None
    sort: str = "created"
    descending: bool = True


@dataclass(frozen=True)
class UserRow:
    """One line of the users list."""

    id: int
    email: str
    role: str
    status: str
    plan: str
    plan_override: str | None
    email_verified: bool
    two_factor: bool
    created_at: datetime
    last_login_at: datetime | None
    bots: int = 0


def _day_start(day: date) -> datetime:
    """Midnight UTC of a day."""
    return datetime.combine(day, time(), tzinfo=UTC)


def _filtered(query: Select, f: UserFilters) -> Select:
    """``query`` (over users) narrowed by the filters."""
    if f.q.strip():
        query = query.where(email_matches(User.email, f.q))
    if f.plan:
        query = query.where(or_(User.plan == f.plan, User.plan_override == f.plan))
    if f.status:
        query = query.where(User.status == f.status)
    if f.role:
        query = query.where(User.role == f.role)
    if f.confirmed in (YES, NO):
        query = query.where(User.email_verified.is_(f.confirmed == YES))
    if f.two_factor == YES:
        query = query.where(User.totp_secret_encrypted.is_not(None))
    elif f.two_factor == NO:
        query = query.where(User.totp_secret_encrypted.is_(None))
    if f.created_from:
        query = query.where(User.created_at >= _day_start(f.created_from))
    if f.created_to:
        query = query.where(User.created_at < _day_start(f.created_to) + timedelta(days=1))
    return query


def all_users(
    session: Session, filters: UserFilters, page: int = 1, per_page: int = DEFAULT_PER_PAGE
) -> Page:
    """A page of every tenant's users (cross-tenant), filtered and sorted, with bot counts."""
    column = SORTS.get(filters.sort, User.created_at)
    order = column.desc() if filters.descending else column.asc()
    if column is User.last_login_at and filters.descending:
        order = order.nulls_last()  # never logged in: at the end either way
    tie = User.id.desc() if filters.descending else User.id.asc()
    if filters.q.strip() and column is not User.email:
        # A search matches few rows: read them by the e-mail index and sort those, rather than
        # walk the whole sort index filtering (PostgreSQL misjudges LIKE prefixes as common).
        column = func.coalesce(column, column)
        order = column.desc() if filters.descending else column.asc()
    columns = (
        User.id,
        User.email,
        User.role,
        User.status,
        User.plan,
        User.plan_override,
        User.email_verified,
        User.totp_secret_encrypted.is_not(None),
        User.created_at,
        User.last_login_at,
    )
    query = _filtered(select(*columns), filters).order_by(order, tie)
    rows, total, more, page = paginate(
        session, query, _filtered(select(User.id), filters), page, per_page
    )
    ids = [row[0] for row in rows]
    counts = dict(
        session.execute(
            select(Bot.user_id, func.count(Bot.id))
            .where(Bot.user_id.in_(ids))
            .group_by(Bot.user_id)
        ).all()
    )
    items = [UserRow(*row, bots=counts.get(row[0], 0)) for row in rows]
    return page_of(items, page, per_page, total, more)


def any_user(session: Session, user_id) -> User | None:
    """Any tenant's user by id (None when missing or not an id)."""
    valid = valid_id(user_id)
    return session.get(User, valid) if valid is not None else None


@dataclass
class UserOverview:
    """Everything the admin user page shows of one account."""

    user: User
    plan_key: str
    plan_name: str
    stored_plan_known: bool
    override_active: bool
    bots: list = field(default_factory=list)  # (Bot, active pair count)
    trades: list = field(default_factory=list)
    runs: list = field(default_factory=list)  # (BotRun, bot name)
    logins: list = field(default_factory=list)
    invoices: list = field(default_factory=list)
    trail: list = field(default_factory=list)


def user_overview(
    session: Session, user: User, plans: PlanTable, now: datetime, limit: int = 20
) -> UserOverview:
    """One user's plan, bots, recent trades and runs, logins, invoices and audit trail."""
    plan = effective_plan(user, plans, now)
    pairs = (
        select(TradingPair.bot_id, func.count(TradingPair.id).label("n"))
        .where(TradingPair.is_active.is_(True))
        .group_by(TradingPair.bot_id)
        .subquery()
    )
    bots = session.execute(
        select(Bot, func.coalesce(pairs.c.n, 0))
        .outerjoin(pairs, pairs.c.bot_id == Bot.id)
        .where(Bot.user_id == user.id)
        .order_by(Bot.id)
    ).all()
    bot_ids = select(Bot.id).where(Bot.user_id == user.id)
    trades = session.scalars(
        select(Trade)
        .where(Trade.bot_id.in_(bot_ids))
        .order_by(Trade.time.desc(), Trade.id.desc())
        .limit(limit)
    ).all()
    runs = session.execute(
        select(BotRun, Bot.name)
        .join(Bot, Bot.id == BotRun.bot_id)
        .where(Bot.user_id == user.id)
        .order_by(BotRun.started_at.desc(), BotRun.id.desc())
        .limit(limit)
    ).all()
    logins = session.scalars(
        select(AuditLog)
        .where(AuditLog.user_id == user.id, AuditLog.action.in_(LOGIN_ACTIONS))
        .order_by(AuditLog.created_at.desc(), AuditLog.id.desc())
        .limit(limit)
    ).all()
    invoices = session.scalars(
        select(Invoice)
        .where(Invoice.user_id == user.id)
        .order_by(Invoice.created_at.desc())
        .limit(limit)
    ).all()
    trail = session.scalars(
        select(AuditLog)
        .where(
            or_(
                and_(AuditLog.target_type == "user", AuditLog.target_id == user.id),
                and_(AuditLog.user_id == user.id, AuditLog.action.not_in(LOGIN_ACTIONS)),
            )
        )
        .order_by(AuditLog.created_at.desc(), AuditLog.id.desc())
        .limit(limit)
    ).all()
    return UserOverview(
        user=user,
        plan_key=plan.key,
        plan_name=plan.name,
        stored_plan_known=(user.plan or "free") in plans,
        override_active=plan_override(user, plans, now) is not None,
        bots=list(bots),
        trades=list(trades),
        runs=list(runs),
        logins=list(logins),
        invoices=list(invoices),
        trail=list(trail),
    )
