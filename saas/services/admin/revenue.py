"""Revenue across the install, counted in SQL from ``subscriptions`` and ``invoices``.

MRR is the sum of the open subscription periods' monthly amounts; Stripe subscriptions and plans
set by hand (no Stripe) are counted apart. A plan change closes one period and opens the next at
the same instant, so "new" and "churned" leave those out: a new subscriber had no period ending
as theirs began, a churned one none beginning as theirs ended.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import and_, case, exists, func, literal, or_, select, union_all
from sqlalchemy.orm import Session, aliased

from saas.models import Invoice, Subscription, User
from saas.models.base import UTCDateTime

MONTHS = 12
STRIPE, MANUAL = "stripe", "manual"
CENT = Decimal("0.01")


@dataclass
class RevenueReport:
    """What the revenue page shows."""

    mrr: Decimal
    manual_mrr: Decimal
    paying: int
    manual_paying: int
    arpu: Decimal | None
    churn_rate: Decimal | None  # last full month's, as a fraction
    ltv: Decimal | None
    history: list = field(default_factory=list)  # (month start, mrr, manual mrr)
    months: list = field(default_factory=list)  # (month start, new, churned, paying at start)
    plans: list = field(default_factory=list)  # (plan, source, subscribers, mrr)
    failed: list = field(default_factory=list)  # (Invoice, email, follow-up text)


def month_start(value: datetime) -> datetime:
    """The first instant of the value's month (UTC)."""
    return value.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def add_months(value: datetime, months: int) -> datetime:
    """The same day-1 instant ``months`` later (or earlier)."""
    index = value.year * 12 + value.month - 1 + months
    return value.replace(year=index // 12, month=index % 12 + 1)


def _months(first: datetime, count: int):
    """A (lo, hi) table of ``count`` calendar months from ``first``."""
    rows = [
        select(
            literal(add_months(first, i), UTCDateTime).label("lo"),
            literal(add_months(first, i + 1), UTCDateTime).label("hi"),
        )
        for i in range(count)
    ]
    return union_all(*rows).subquery("months")


def _open_at(moment):
    """Subscriptions open at ``moment`` (a column or value)."""
    return and_(
        Subscription.started_at <= moment,
        or_(Subscription.ended_at.is_(None), Subscription.ended_at > moment),
    )


def _money(value) -> Decimal:
    """A sum as a Decimal to the cent."""
    return Decimal(str(value or 0)).quantize(CENT)


def current_mrr(session: Session, now: datetime) -> dict:
    """MRR and paying users now, by source."""
    rows = session.execute(
        select(
            Subscription.source,
            func.coalesce(func.sum(Subscription.monthly_amount), 0),
            func.count(func.distinct(Subscription.user_id)),
        )
        .where(_open_at(now))
        .group_by(Subscription.source)
    ).all()
    return {source: (_money(mrr), int(users)) for source, mrr, users in rows}


def mrr_history(session: Session, now: datetime) -> list:
    """MRR at the end of each of the last twelve months (the current one up to now)."""
    first = add_months(month_start(now), -(MONTHS - 1))
    months = _months(first, MONTHS)
    moment = case((months.c.hi > now, literal(now, UTCDateTime)), else_=months.c.hi)
    rows = session.execute(
        select(
            months.c.lo,
            func.coalesce(
                func.sum(case((Subscription.source == STRIPE, Subscription.monthly_amount))), 0
            ),
            func.coalesce(
                func.sum(case((Subscription.source == MANUAL, Subscription.monthly_amount))), 0
            ),
        )
        .select_from(months)
        .outerjoin(
            Subscription,
            and_(
                Subscription.started_at < moment,
                or_(Subscription.ended_at.is_(None), Subscription.ended_at >= moment),
            ),
        )
        .group_by(months.c.lo)
        .order_by(months.c.lo)
    ).all()
    return [(lo, _money(stripe), _money(manual)) for lo, stripe, manual in rows]


def movements(session: Session, now: datetime) -> list:
    """New and churned paying users per month, and how many paid at each month's start."""
    first = add_months(month_start(now), -(MONTHS - 1))
    months = _months(first, MONTHS)
    other = aliased(Subscription)
    continued_before = exists().where(
        other.user_id == Subscription.user_id, other.ended_at == Subscription.started_at
    )
    continued_after = exists().where(
        other.user_id == Subscription.user_id, other.started_at == Subscription.ended_at
    )
    in_month = lambda column: and_(column >= months.c.lo, column < months.c.hi)  # noqa: E731
    new = func.count(
        func.distinct(
            case((in_month(Subscription.started_at) & ~continued_before, Subscription.user_id))
        )
    )
    churned = func.count(
        func.distinct(
            case((in_month(Subscription.ended_at) & ~continued_after, Subscription.user_id))
        )
    )
    at_start = func.count(
        func.distinct(
            case(
                (
                    and_(
                        Subscription.started_at < months.c.lo,
                        or_(Subscription.ended_at.is_(None), Subscription.ended_at >= months.c.lo),
                    ),
                    Subscription.user_id,
                )
            )
        )
    )
    rows = session.execute(
        select(months.c.lo, new, churned, at_start)
        .select_from(months)
        .outerjoin(Subscription, Subscription.source == STRIPE)
        .group_by(months.c.lo)
        .order_by(months.c.lo)
    ).all()
    return [(lo, int(n), int(c), int(s)) for lo, n, c, s in rows]


def plan_breakdown(session: Session, now: datetime) -> list:
    """Open subscriptions per plan and source, with their MRR, largest first."""
    mrr = func.coalesce(func.sum(Subscription.monthly_amount), 0)
    rows = session.execute(
        select(Subscription.plan, Subscription.source, func.count(Subscription.id), mrr)
        .where(_open_at(now))
        .group_by(Subscription.plan, Subscription.source)
        .order_by(mrr.desc(), Subscription.plan)
    ).all()
    return [(plan, source, int(n), _money(m)) for plan, source, n, m in rows]


def failed_payments(session: Session, now: datetime, limit: int = 50) -> list:
    """Invoices whose payment failed, newest first, with what happens next."""
    rows = session.execute(
        select(Invoice, User.email, User.plan, User.plan_status, User.plan_grace_until)
        .outerjoin(User, User.id == Invoice.user_id)
        .where(Invoice.status.in_(("failed", "open", "uncollectible")), Invoice.attempt_count > 0)
        .order_by(Invoice.updated_at.desc())
        .limit(limit)
    ).all()
    return [
        (inv, email, follow_up(inv, plan, status, grace, now))
        for inv, email, plan, status, grace in rows
    ]


def follow_up(invoice: Invoice, plan, plan_status, grace_until, now: datetime) -> str:
    """Where a failed payment stands: a retry, the grace period, or the lapse."""
    parts = []
    if invoice.next_attempt_at and invoice.next_attempt_at > now:
        parts.append(f"Stripe retries {invoice.next_attempt_at:%Y-%m-%d}")
    if grace_until is not None and grace_until > now and plan not in (None, "free"):
        parts.append(f"grace until {grace_until:%Y-%m-%d}")
    elif grace_until is not None and (plan in (None, "free")):
        parts.append("plan lapsed to Free")
    if invoice.status == "uncollectible":
        parts.append("marked uncollectible")
    return "; ".join(parts) or (plan_status or "no retry scheduled")


def revenue_report(session: Session, now: datetime) -> RevenueReport:
    """Everything the revenue page shows."""
    current = current_mrr(session, now)
    mrr, paying = current.get(STRIPE, (Decimal("0.00"), 0))
    manual_mrr, manual_paying = current.get(MANUAL, (Decimal("0.00"), 0))
    months = movements(session, now)
    churn_rate = None
    if len(months) >= 2 and months[-2][3]:
        churn_rate = (Decimal(months[-2][2]) / Decimal(months[-2][3])).quantize(Decimal("0.0001"))
    arpu = (mrr / paying).quantize(CENT) if paying else None
    ltv = (arpu / churn_rate).quantize(CENT) if arpu is not None and churn_rate else None
    return RevenueReport(
        mrr=mrr,
        manual_mrr=manual_mrr,
        paying=paying,
        manual_paying=manual_paying,
        arpu=arpu,
        churn_rate=churn_rate,
        ltv=ltv,
        history=mrr_history(session, now),
        months=months,
        plans=plan_breakdown(session, now),
        failed=failed_payments(session, now),
    )
