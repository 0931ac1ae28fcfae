"""Billing records: processed Stripe events, each subscription's life, and invoices.

``subscriptions`` and ``invoices`` are local copies the revenue page counts in SQL
(saas.services.admin.revenue): a row per plan period, opened and closed as plans change
(Stripe subscriptions and plans set by hand alike), and a row per Stripe invoice.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from saas.models.base import Base, Money, UTCDateTime, in_values, utc_now

SUBSCRIPTION_SOURCES = ("stripe", "manual")
INVOICE_STATUSES = ("draft", "open", "paid", "failed", "void", "uncollectible")


class StripeEvent(Base):
    """A processed Stripe event id and its type."""

    __tablename__ = "stripe_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(255), unique=True)
    type: Mapped[str] = mapped_column(String(100))
    processed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)

    def __repr__(self) -> str:
        return f"<StripeEvent {self.event_id} {self.type}>"


class Subscription(Base):
    """One paid plan period of a user: open (ended_at NULL) while the plan is theirs.

    ``monthly_amount`` is what the period adds to MRR (a yearly price divided by 12); manual
    plans keep the plan's list price there and are counted apart from Stripe's.
    """

    __tablename__ = "subscriptions"
    __table_args__ = (
        CheckConstraint(in_values("source", SUBSCRIPTION_SOURCES), name="source"),
        CheckConstraint("monthly_amount >= 0", name="monthly_amount"),
        Index(None, "user_id", "ended_at"),
        Index(None, "started_at"),
        Index(None, "ended_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    source: Mapped[str] = mapped_column(String(8))
    plan: Mapped[str] = mapped_column(String(32))
    interval: Mapped[str | None] = mapped_column(String(8))
    monthly_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    currency: Mapped[str] = mapped_column(String(8), default="usd")
    stripe_subscription_id: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<Subscription {self.id} user={self.user_id} {self.plan} {self.source}>"


class Invoice(Base):
    """A Stripe invoice as its last event left it; amounts in the currency's units."""

    __tablename__ = "invoices"
    __table_args__ = (
        CheckConstraint(in_values("status", INVOICE_STATUSES), name="status"),
        Index(None, "user_id", "created_at"),
        Index(None, "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    stripe_invoice_id: Mapped[str] = mapped_column(String(255), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    number: Mapped[str | None] = mapped_column(String(64))
    amount_due: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    amount_paid: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    currency: Mapped[str] = mapped_column(String(8), default="usd")
    status: Mapped[str] = mapped_column(String(16))
    attempt_count: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    hosted_url: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)

    def __repr__(self) -> str:
        return f"<Invoice {self.stripe_invoice_id} {self.status}>"
