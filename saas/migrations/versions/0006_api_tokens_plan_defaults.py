"""API tokens, plan keys as a foreign key, and server defaults on every NOT NULL column.

Revision ID: 0006_api_tokens_plan_defaults
Revises: 0005_notifications
Created: 2026-12-04 17:43:26

- ``api_tokens``: personal access tokens of the REST API (hash, scope, expiry, use, revocation).
- ``plans``: one row per plan key; ``users.plan`` refers to it, so a hand-written plan name that
  does not exist is refused. The default keys are inserted, and so is every key users already
  have (the demo's admin was on "business"), so no existing row breaks the new key.
- Server defaults matching the code's defaults, so hand-written INSERTs (the quick start) need
  only their natural columns. Adding a default rewrites nothing on PostgreSQL.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_api_tokens_plan_defaults"
down_revision = "0005_notifications"
branch_labels = None
depends_on = None

TRUE, FALSE = sa.true(), sa.false()
DEFAULT_PLAN_KEYS = (
    ("free", "Free"),
    ("starter", "Starter"),
    ("pro", "Pro"),
    ("enterprise", "Enterprise"),
)
# table -> (column, SQL default) for every NOT NULL column the code gives a default
# (margin_mode has had its own since 0003).
SERVER_DEFAULTS = {
    "stripe_events": (("processed_at", "CURRENT_TIMESTAMP"),),
    "users": (
        ("email_verified", FALSE),
        ("role", "'user'"),
        ("status", "'active'"),
        ("failed_logins", "0"),
        ("plan", "'free'"),
        ("plan_cancel_at_period_end", FALSE),
        ("checkout_nonce", "0"),
        ("created_at", "CURRENT_TIMESTAMP"),
        ("updated_at", "CURRENT_TIMESTAMP"),
    ),
    "audit_logs": (("created_at", "CURRENT_TIMESTAMP"),),
    "bots": (
        ("testnet", TRUE),
        ("status", "'stopped'"),
        ("run_interval_minutes", "5"),
        ("created_at", "CURRENT_TIMESTAMP"),
        ("updated_at", "CURRENT_TIMESTAMP"),
    ),
    "invoices": (
        ("amount_due", "0"),
        ("amount_paid", "0"),
        ("currency", "'usd'"),
        ("attempt_count", "0"),
        ("created_at", "CURRENT_TIMESTAMP"),
        ("updated_at", "CURRENT_TIMESTAMP"),
    ),
    "notification_settings": (
        ("telegram_enabled", FALSE),
        ("email_enabled", FALSE),
        ("updated_at", "CURRENT_TIMESTAMP"),
    ),
    "subscriptions": (
        ("monthly_amount", "0"),
        ("currency", "'usd'"),
    ),
    "bot_daily_stats": (
        ("trades", "0"),
        ("closes", "0"),
        ("wins", "0"),
        ("losses", "0"),
        ("realised_pnl", "0"),
        ("fees", "0"),
        ("volume", "0"),
        ("unrealised_pnl", "0"),
        ("margin", "0"),
        ("positions", "'{}'"),
        ("updated_at", "CURRENT_TIMESTAMP"),
    ),
    "bot_runs": (
        ("outcome", "'running'"),
        ("conclusions", "'{}'"),
    ),
    "paper_accounts": (
        ("state", "'{}'"),
        ("updated_at", "CURRENT_TIMESTAMP"),
    ),
    "trading_pairs": (
        ("leverage", "10"),
        ("ema_interval", "1"),
        ("automatic_mode", TRUE),
        ("strategy", "'martingale'"),
        ("strategy_params", "'{}'"),
        ("is_active", TRUE),
        ("alert_keys", "'[]'"),
        ("created_at", "CURRENT_TIMESTAMP"),
        ("updated_at", "CURRENT_TIMESTAMP"),
    ),
    "backtests": (
        ("strategy", "'martingale'"),
        ("params", "'{}'"),
        ("interval_minutes", "5"),
        ("status", "'queued'"),
        ("progress", "0"),
        ("message", "''"),
        ("data_file", "''"),
        ("metrics", "'{}'"),
        ("created_at", "CURRENT_TIMESTAMP"),
    ),
    "bot_logs": (
        ("fields", "'{}'"),
        ("created_at", "CURRENT_TIMESTAMP"),
    ),
    "orders": (
        ("reduce_only", FALSE),
        ("post_only", FALSE),
        ("reason", "''"),
        ("exchange_order_id", "''"),
        ("filled_qty", "0"),
        ("fee", "0"),
        ("error", "''"),
        ("created_at", "CURRENT_TIMESTAMP"),
    ),
    "trades": (
        ("fee", "0"),
        ("pnl", "0"),
        ("position_size", "0"),
        ("position_value", "0"),
    ),
    # The tables of 0004 (throttle) and 0005 (notifications), which came before this revision.
    "login_throttles": (("failures", "0"),),
    "webhook_endpoints": (
        ("secret_encrypted", "''"),
        ("enabled", TRUE),
        ("created_at", "CURRENT_TIMESTAMP"),
    ),
    "notification_outbox": (
        ("severity", "'info'"),
        ("fields", "'{}'"),
        ("created_at", "CURRENT_TIMESTAMP"),
    ),
    "notification_deliveries": (
        ("status", "'pending'"),
        ("attempts", "0"),
        ("next_attempt_at", "CURRENT_TIMESTAMP"),
        ("created_at", "CURRENT_TIMESTAMP"),
    ),
    "notification_attempts": (("ok", FALSE),),
}


def _default(value):
    """A server default: TRUE/FALSE as the dialect spells them, else the SQL text."""
    return value if value is TRUE or value is FALSE else sa.text(value)


def upgrade() -> None:
    """Add the tables, the plan keys and their foreign key, and the server defaults."""
    plans = op.create_table(
        "plans",
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=64), server_default=sa.text("''"), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_plans")),
    )
    op.bulk_insert(plans, [{"key": k, "name": n} for k, n in DEFAULT_PLAN_KEYS])
    op.execute(
        "INSERT INTO plans (key, name) SELECT DISTINCT plan, plan FROM users "
        "WHERE plan NOT IN (SELECT key FROM plans)"
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("scope", sa.String(length=8), server_default=sa.text("'read'"), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.CheckConstraint("name <> ''", name=op.f("ck_api_tokens_name")),
        sa.CheckConstraint("scope IN ('read', 'trade', 'admin')", name=op.f("ck_api_tokens_scope")),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_api_tokens_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_tokens_user_id"), ["user_id"], unique=False)
    for table, columns in SERVER_DEFAULTS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column, value in columns:
                batch_op.alter_column(
                    column, server_default=_default(value), existing_nullable=False
                )
            if table == "users":
                batch_op.create_foreign_key(
                    batch_op.f("fk_users_plan_plans"),
                    "plans",
                    ["plan"],
                    ["key"],
                    onupdate="CASCADE",
                )


def downgrade() -> None:
    """Drop the foreign key, the defaults and the two tables (users keep their plan text)."""
    for table, columns in SERVER_DEFAULTS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            if table == "users":
                batch_op.drop_constraint(batch_op.f("fk_users_plan_plans"), type_="foreignkey")
            for column, _value in columns:
                batch_op.alter_column(column, server_default=None, existing_nullable=False)
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_tokens_user_id"))
    op.drop_table("api_tokens")
    op.drop_table("plans")
