"""Admin panel: the support role, suspension reason, plan overrides, subscriptions and invoices.

Also the indexes the admin lists and system page read (users' sorts and e-mail prefix search,
runs and trades by time) and a data fix: the administrator made by the first start was given a
plan named "business", which no plan table has; they get the default table's largest plan as an
override instead (an override never counts as revenue).

Revision ID: 0002_admin
Revises: 0001_initial
Created: 2026-12-04 17:28:06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_admin"
down_revision = "0001_initial"
branch_labels = None
depends_on = None

ROLES_BEFORE = "role IN ('user', 'admin')"
ROLES_AFTER = "role IN ('user', 'support', 'admin')"
# Indexes on the big tables.
BIG_TABLE_INDEXES = (
    ("ix_bot_runs_started_at", "bot_runs", "started_at"),
    ("ix_trades_time", "trades", "time"),
)


def _money() -> sa.Numeric:
    """saas.models.base.Money as stored."""
    return sa.Numeric(precision=28, scale=10)


def _create_tables() -> None:
    """subscriptions and invoices."""
    op.create_table(
        "invoices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stripe_invoice_id", sa.String(length=255), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("number", sa.String(length=64), nullable=True),
        sa.Column("amount_due", _money(), nullable=False),
        sa.Column("amount_paid", _money(), nullable=False),
        sa.Column("currency", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempt_count", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("hosted_url", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('draft', 'open', 'paid', 'failed', 'void', 'uncollectible')",
            name=op.f("ck_invoices_status"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_invoices_user_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoices")),
        sa.UniqueConstraint("stripe_invoice_id", name=op.f("uq_invoices_stripe_invoice_id")),
    )
    op.create_index(op.f("ix_invoices_status_created_at"), "invoices", ["status", "created_at"])
    op.create_index(op.f("ix_invoices_user_id_created_at"), "invoices", ["user_id", "created_at"])
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("plan", sa.String(length=32), nullable=False),
        sa.Column("interval", sa.String(length=8), nullable=True),
        sa.Column("monthly_amount", _money(), nullable=False),
        sa.Column("currency", sa.String(length=8), nullable=False),
        sa.Column("stripe_subscription_id", sa.String(length=64), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("source IN ('stripe', 'manual')", name=op.f("ck_subscriptions_source")),
        sa.CheckConstraint("monthly_amount >= 0", name=op.f("ck_subscriptions_monthly_amount")),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_subscriptions_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscriptions")),
    )
    op.create_index(op.f("ix_subscriptions_ended_at"), "subscriptions", ["ended_at"])
    op.create_index(op.f("ix_subscriptions_started_at"), "subscriptions", ["started_at"])
    op.create_index(
        op.f("ix_subscriptions_user_id_ended_at"), "subscriptions", ["user_id", "ended_at"]
    )


def _big_table_indexes() -> None:
    """Runs and trades by time.

    Plain CREATE INDEX: saas.migrate runs every revision inside one transaction of its own
    connection, where Alembic's autocommit_block (needed for CONCURRENTLY) cannot work. Writes
    to trades and bot_runs wait while the index builds; few come, since bot runs refuse to
    start while the database is behind the code (docs/DEPLOYMENT.md, "Upgrading").
    """
    for name, table, column in BIG_TABLE_INDEXES:
        op.create_index(op.f(name), table, [column])


def upgrade() -> None:
    """Apply this revision."""
    _create_tables()
    _big_table_indexes()
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("suspended_reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("suspended_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("plan_override", sa.String(length=32), nullable=True))
        batch_op.add_column(
            sa.Column("plan_override_until", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.drop_constraint(op.f("ck_users_role"), type_="check")
        batch_op.create_check_constraint(op.f("ck_users_role"), ROLES_AFTER)
        batch_op.create_index(op.f("ix_users_created_at_id"), ["created_at", "id"])
        batch_op.create_index(
            "ix_users_email_pattern", ["email"], postgresql_ops={"email": "varchar_pattern_ops"}
        )
        batch_op.create_index(op.f("ix_users_plan_id"), ["plan", "id"])
        batch_op.create_index(op.f("ix_users_status"), ["status"])
    op.execute(
        "UPDATE users SET plan = 'free', plan_override = 'enterprise' "
        "WHERE plan = 'business' AND role = 'admin'"
    )


def downgrade() -> None:
    """Undo this revision (support staff become users; overrides and records go)."""
    op.execute("UPDATE users SET role = 'user' WHERE role = 'support'")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index(op.f("ix_users_status"))
        batch_op.drop_index(op.f("ix_users_plan_id"))
        batch_op.drop_index("ix_users_email_pattern")
        batch_op.drop_index(op.f("ix_users_created_at_id"))
        batch_op.drop_constraint(op.f("ck_users_role"), type_="check")
        batch_op.create_check_constraint(op.f("ck_users_role"), ROLES_BEFORE)
        batch_op.drop_column("plan_override_until")
        batch_op.drop_column("plan_override")
        batch_op.drop_column("suspended_at")
        batch_op.drop_column("suspended_reason")
    for name, table, _column in BIG_TABLE_INDEXES:
        op.drop_index(op.f(name), table_name=table)
    op.drop_index(op.f("ix_subscriptions_user_id_ended_at"), table_name="subscriptions")
    op.drop_index(op.f("ix_subscriptions_started_at"), table_name="subscriptions")
    op.drop_index(op.f("ix_subscriptions_ended_at"), table_name="subscriptions")
    op.drop_table("subscriptions")
    op.drop_index(op.f("ix_invoices_user_id_created_at"), table_name="invoices")
    op.drop_index(op.f("ix_invoices_status_created_at"), table_name="invoices")
    op.drop_table("invoices")
