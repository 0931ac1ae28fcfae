"""Users: login, role and status, two-factor secret, lock-out counters and the billing plan."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from saas.models.base import Base, UTCDateTime, in_values, utc_now

ROLE_USER = "user"
ROLE_SUPPORT = "support"  # reads every tenant's pages and may view as a user, changes nothing
ROLE_ADMIN = "admin"
ROLES = (ROLE_USER, ROLE_SUPPORT, ROLE_ADMIN)
STAFF_ROLES = (ROLE_SUPPORT, ROLE_ADMIN)
USER_ACTIVE = "active"
USER_SUSPENDED = "suspended"
USER_STATUSES = (USER_ACTIVE, USER_SUSPENDED)
PLAN_FREE = "free"
# Stripe's subscription statuses, stored as Stripe reports them.
PLAN_STATUSES = (
    "active",
    "trialing",
    "past_due",
    "canceled",
    "unpaid",
    "incomplete",
    "incomplete_expired",
    "paused",
)
PLAN_INTERVALS = ("month", "year")


class User(Base):
    """An account that owns bots; emails are stored lower-cased."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(in_values("role", ROLES), name="role"),
        # The admin users list sorts and filters on these (benchmarks/admin_bench.py); the
        # pattern index serves "e-mail starts with" searches on PostgreSQL.
        Index(None, "created_at", "id"),
        Index(None, "plan", "id"),
        Index(None, "status"),
        Index(
            "ix_users_email_pattern",
            "email",
            postgresql_ops={"email": "varchar_pattern_ops"},
        ),
        CheckConstraint(in_values("status", USER_STATUSES), name="status"),
        CheckConstraint(
            f"plan_status IS NULL OR {in_values('plan_status', PLAN_STATUSES)}", name="plan_status"
        ),
        CheckConstraint("failed_logins >= 0", name="failed_logins"),
        CheckConstraint(
            f"plan_interval IS NULL OR {in_values('plan_interval', PLAN_INTERVALS)}",
            name="plan_interval",
        ),
        CheckConstraint("checkout_nonce >= 0", name="checkout_nonce"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(255), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    email_verified: Mapped[bool] = mapped_column(default=False)
    role: Mapped[str] = mapped_column(String(16), default=ROLE_USER)
    status: Mapped[str] = mapped_column(String(16), default=USER_ACTIVE)
    # Encrypted with saas.security under the context "user:<id>:totp".
    totp_secret_encrypted: Mapped[str | None] = mapped_column(Text)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A plans row must exist: a hand-written 'basic' is refused instead of silently free.
    plan: Mapped[str] = mapped_column(
        String(32), ForeignKey("plans.key", onupdate="CASCADE"), default=PLAN_FREE
    )
    plan_status: Mapped[str | None] = mapped_column(String(32))
    plan_period_end: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stripe_customer_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    stripe_subscription_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    # Billing (saas.services.billing.subscriptions): the subscription's interval and pending
    # cancellation, when a failed payment's grace period ends, and the counter in checkout
    # idempotency keys.
    plan_interval: Mapped[str | None] = mapped_column(String(8))
    plan_cancel_at_period_end: Mapped[bool] = mapped_column(default=False)
    plan_grace_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    checkout_nonce: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now, onupdate=utc_now)
    # Admin (saas.services.admin.accounts; last, as revision 0002 added them): why and since when
    # the account is suspended (shown to its owner at login), and a plan given by hand until a
    # date, over the paid one.
    suspended_reason: Mapped[str | None] = mapped_column(Text)
    suspended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    plan_override: Mapped[str | None] = mapped_column(String(32))
    plan_override_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Part of every session id and remember-me cookie (saas.auth.sessions): raising it ends
    # every session of the user at once (logout, password change, "log out other devices").
    # Last, as revision 0004 added it.
    session_generation: Mapped[int] = mapped_column(default=0, server_default="0")

    @property
    def is_admin(self) -> bool:
        """Whether the user may change anything on the admin pages."""
        return self.role == ROLE_ADMIN

    @property
    def is_staff(self) -> bool:
        """Whether the user may read the admin pages (support or admin)."""
        return self.role in STAFF_ROLES

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email}>"
