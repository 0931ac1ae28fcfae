"""Local billing records for the revenue page: subscription periods and Stripe invoices.

``sync_subscription`` keeps one open ``subscriptions`` row per paying user, matching their plan
now (closed and reopened when the plan, interval or source changes); ``record_invoice`` upserts
an invoice from its webhook. Callers commit.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from saas.models import Invoice, Subscription, User
from saas.models.billing import INVOICE_STATUSES
from saas.plans import FREE, PlanTable

PAYING_STATUSES = frozenset({"active", "trialing", "past_due"})
MONTHS_PER_YEAR = 12
STRIPE, MANUAL = "stripe", "manual"


def monthly_amount(plans: PlanTable, plan_key: str, interval: str | None) -> tuple[Decimal, str]:
    """What a plan paid per ``interval`` adds to MRR, and its currency."""
    plan = plans.get(plan_key)
    if plan is None or not plan.prices:
        return Decimal(0), "usd"
    price = plan.price(interval or "month") or plan.prices[0]
    amount = price.amount / MONTHS_PER_YEAR if price.interval == "year" else price.amount
    return amount, price.currency


def paid_terms(user: User, plans: PlanTable) -> tuple | None:
    """(source, plan, interval, subscription id) of the user's paid plan now, else None."""
    plan = plans.get(user.plan or FREE)
    if plan is None or not plan.is_paid:
        return None
    if user.plan_status is None:
        return MANUAL, plan.key, "month", None
    if user.plan_status in PAYING_STATUSES and user.stripe_subscription_id:
        return STRIPE, plan.key, user.plan_interval or "month", user.stripe_subscription_id
    return None


def sync_subscription(session: Session, user: User, plans: PlanTable, now: datetime) -> None:
    """Close the user's open period if it no longer matches their plan; open the new one."""
    terms = paid_terms(user, plans)
    current = session.scalars(
        select(Subscription).where(Subscription.user_id == user.id, Subscription.ended_at.is_(None))
    ).all()
    for row in current:
        if terms != (row.source, row.plan, row.interval, row.stripe_subscription_id):
            row.ended_at = now
    if terms is None or any(row.ended_at is None for row in current):
        return
    source, plan_key, interval, subscription_id = terms
    amount, currency = monthly_amount(plans, plan_key, interval)
    session.add(
        Subscription(
            user_id=user.id,
            source=source,
            plan=plan_key,
            interval=interval,
            monthly_amount=amount,
            currency=currency,
            stripe_subscription_id=subscription_id,
            started_at=now,
        )
    )


def _units(cents) -> Decimal:
    """Stripe's amount in the smallest unit as the currency's units."""
    return Decimal(int(cents or 0)) / 100


def _time(value) -> datetime | None:
    """A Stripe timestamp as UTC."""
    return datetime.fromtimestamp(int(value), UTC) if value else None


def record_invoice(
    session: Session, user: User | None, invoice: dict, now: datetime, *, failed: bool = False
) -> Invoice | None:
    """Create or update the invoice row of a webhook's invoice; a failed payment marks it."""
    stripe_id = invoice.get("id")
    if not isinstance(stripe_id, str) or not stripe_id:
        return None
    row = session.scalar(select(Invoice).where(Invoice.stripe_invoice_id == stripe_id))
    if row is None:
        row = Invoice(
            stripe_invoice_id=stripe_id[:255], created_at=_time(invoice.get("created")) or now
        )
        session.add(row)
    status = "failed" if failed else str(invoice.get("status") or "open")
    row.status = status if status in INVOICE_STATUSES else "open"
    row.user_id = user.id if user is not None else row.user_id
    row.number = (invoice.get("number") or None) and str(invoice["number"])[:64]
    row.amount_due = _units(invoice.get("amount_due"))
    row.amount_paid = _units(invoice.get("amount_paid"))
    row.currency = str(invoice.get("currency") or "usd").lower()[:8]
    row.attempt_count = int(invoice.get("attempt_count") or 0)
    row.next_attempt_at = _time(invoice.get("next_payment_attempt"))
    row.hosted_url = invoice.get("hosted_invoice_url")
    row.updated_at = now
    return row
