"""Revenue figures against a fixture of subscriptions and invoices with known MRR and churn."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from saas.models import Invoice, Subscription, User
from saas.plans import load_plans
from saas.services.admin.revenue import revenue_report
from saas.services.billing.records import sync_subscription

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


def at(month: int, day: int = 1) -> datetime:
    """A time in 2026."""
    return datetime(2026, month, day, 9, 0, tzinfo=UTC)


@pytest.fixture
def book(db_session):
    """Ten users: their subscription periods, as sync_subscription writes them.

    Stripe, open now: u1 pro 79 (since Jan), u2 pro yearly 790 (65.8333... per month, since
    Feb), u3 starter 29 (since Mar, upgraded to pro 79 on May 10: no churn, no new), u4 starter
    29 (since May 3). Stripe, ended: u5 pro 79 (Feb 1 to May 20: churned in May), u6 starter 29
    (Jan 1 to Mar 5: churned in March). Manual: u7 enterprise 199 (since Apr). So at the start of
    May 4 paid (u1, u2, u3, u5), one churned in May: churn 25 %.
    """
    users = [User(email=f"u{i}@example.com", password_hash="x") for i in range(1, 11)]
    db_session.add_all(users)
    db_session.flush()
    u = {i: users[i - 1].id for i in range(1, 11)}

    def sub(user, plan, amount, start, end=None, source="stripe", interval="month"):
        db_session.add(
            Subscription(
                user_id=u[user],
                source=source,
                plan=plan,
                interval=interval,
                monthly_amount=Decimal(amount),
                started_at=start,
                ended_at=end,
                stripe_subscription_id=None if source == "manual" else f"sub_{user}_{plan}",
            )
        )

    sub(1, "pro", "79", at(1))
    sub(2, "pro", Decimal("790") / 12, at(2), interval="year")
    sub(3, "starter", "29", at(3), at(5, 10))
    sub(3, "pro", "79", at(5, 10))
    sub(4, "starter", "29", at(5, 3))
    sub(5, "pro", "79", at(2), at(5, 20))
    sub(6, "starter", "29", at(1), at(3, 5))
    sub(7, "enterprise", "199", at(4), source="manual")
    db_session.add(
        Invoice(
            stripe_invoice_id="in_failed",
            user_id=u[4],
            amount_due=Decimal(29),
            status="failed",
            attempt_count=2,
            next_attempt_at=datetime(2026, 6, 18, tzinfo=UTC),
            created_at=at(6, 3),
            updated_at=at(6, 10),
        )
    )
    db_session.commit()
    return u


def test_mrr_paying_users_arpu_and_ltv(db_session, book):
    report = revenue_report(db_session, NOW)
    # 79 + 65.83 + 79 + 29 (Stripe); manual apart.
    assert report.mrr == Decimal("252.83")
    assert (report.paying, report.manual_mrr, report.manual_paying) == (4, Decimal("199.00"), 1)
    assert report.arpu == Decimal("63.21")
    assert report.churn_rate == Decimal("0.2500")  # May: 1 of 4
    assert report.ltv == Decimal("252.84")  # 63.21 / 0.25


def test_new_and_churned_per_month_leave_plan_changes_out(db_session, book):
    months = {
        lo.month: (new, churned, at_start)
        for lo, new, churned, at_start in revenue_report(db_session, NOW).months
    }
    assert months[1] == (2, 0, 0)  # u1, u6
    assert months[2] == (2, 0, 2)  # u2, u5
    assert months[3] == (1, 1, 4)  # u3 new; u6 churned
    assert months[5] == (1, 1, 4)  # u4 new (u3's upgrade is neither); u5 churned
    assert months[6] == (0, 0, 4)


def test_mrr_history_and_plan_breakdown(db_session, book):
    report = revenue_report(db_session, NOW)
    history = {lo.month: (stripe, manual) for lo, stripe, manual in report.history}
    assert history[1] == (Decimal("108.00"), Decimal("0.00"))  # u1 79 + u6 29
    assert history[4] == (Decimal("252.83"), Decimal("199.00"))  # u1, u2, u3 29, u5
    assert history[6] == (Decimal("252.83"), Decimal("199.00"))
    assert ("pro", "stripe", 3, Decimal("223.83")) in report.plans
    assert ("enterprise", "manual", 1, Decimal("199.00")) in report.plans


def test_failed_payments_say_what_happens_next(db_session, book):
    (failed,) = revenue_report(db_session, NOW).failed
    invoice, email, follow_up = failed
    assert (invoice.stripe_invoice_id, email) == ("in_failed", "u4@example.com")
    assert "Stripe retries 2026-06-18" in follow_up


def test_plan_changes_open_and_close_periods(db_session):
    plans = load_plans({})
    user = User(email="x@example.com", password_hash="x", plan="pro", plan_status="active")
    user.stripe_subscription_id, user.plan_interval = "sub_1", "month"
    db_session.add(user)
    db_session.flush()
    sync_subscription(db_session, user, plans, at(1))
    sync_subscription(db_session, user, plans, at(1, 5))  # nothing changed: nothing new
    user.plan = "enterprise"
    sync_subscription(db_session, user, plans, at(2))
    user.plan, user.plan_status = "free", "canceled"
    sync_subscription(db_session, user, plans, at(3))
    db_session.flush()
    rows = db_session.query(Subscription).order_by(Subscription.id).all()
    assert [(r.plan, r.monthly_amount, r.started_at, r.ended_at) for r in rows] == [
        ("pro", Decimal(79), at(1), at(2)),
        ("enterprise", Decimal(199), at(2), at(3)),
    ]
