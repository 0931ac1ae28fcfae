"""Initial schema: the tables the first init-db made (a database without a version table is this).

Revision ID: 0001_initial
Revises: (none)
Created: 2026-12-04 16:55:34.362132
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# JSON on SQLite, JSONB on PostgreSQL (saas.models.base.JSONType).
JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "stripe_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=100), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stripe_events")),
        sa.UniqueConstraint("event_id", name=op.f("uq_stripe_events_event_id")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=255), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("email_verified", sa.Boolean(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("totp_secret_encrypted", sa.Text(), nullable=True),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("plan", sa.String(length=32), nullable=False),
        sa.Column("plan_status", sa.String(length=32), nullable=True),
        sa.Column("plan_period_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stripe_customer_id", sa.String(length=64), nullable=True),
        sa.Column("stripe_subscription_id", sa.String(length=64), nullable=True),
        sa.Column("plan_interval", sa.String(length=8), nullable=True),
        sa.Column("plan_cancel_at_period_end", sa.Boolean(), nullable=False),
        sa.Column("plan_grace_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("checkout_nonce", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "plan_interval IS NULL OR plan_interval IN ('month', 'year')",
            name=op.f("ck_users_plan_interval"),
        ),
        sa.CheckConstraint(
            "plan_status IS NULL OR plan_status IN ('active', 'trialing', 'past_due', 'canceled', 'unpaid', 'incomplete', 'incomplete_expired', 'paused')",
            name=op.f("ck_users_plan_status"),
        ),
        sa.CheckConstraint("role IN ('user', 'admin')", name=op.f("ck_users_role")),
        sa.CheckConstraint("status IN ('active', 'suspended')", name=op.f("ck_users_status")),
        sa.CheckConstraint("checkout_nonce >= 0", name=op.f("ck_users_checkout_nonce")),
        sa.CheckConstraint("failed_logins >= 0", name=op.f("ck_users_failed_logins")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
        sa.UniqueConstraint("stripe_customer_id", name=op.f("uq_users_stripe_customer_id")),
        sa.UniqueConstraint("stripe_subscription_id", name=op.f("uq_users_stripe_subscription_id")),
    )
    op.create_table(
        "audit_logs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target_type", sa.String(length=32), nullable=True),
        sa.Column("target_id", sa.Integer(), nullable=True),
        sa.Column(
            "before",
            JSON_TYPE,
            nullable=True,
        ),
        sa.Column(
            "after",
            JSON_TYPE,
            nullable=True,
        ),
        sa.Column("ip", sa.String(length=45), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_audit_logs_user_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_logs")),
    )
    op.create_index(
        op.f("ix_audit_logs_target_type_target_id"),
        "audit_logs",
        ["target_type", "target_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_audit_logs_user_id_created_at"),
        "audit_logs",
        ["user_id", "created_at"],
        unique=False,
    )
    op.create_table(
        "bots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("exchange", sa.String(length=16), nullable=False),
        sa.Column("testnet", sa.Boolean(), nullable=False),
        sa.Column("api_key_encrypted", sa.Text(), nullable=True),
        sa.Column("api_secret_encrypted", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("run_interval_minutes", sa.Integer(), nullable=False),
        sa.Column("last_run_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_run_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_outcome", sa.String(length=16), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "exchange = 'paper' OR status <> 'running' OR (api_key_encrypted IS NOT NULL AND api_secret_encrypted IS NOT NULL)",
            name=op.f("ck_bots_keys_to_run"),
        ),
        sa.CheckConstraint(
            "exchange IN ('phemex', 'bybit', 'paper')", name=op.f("ck_bots_exchange")
        ),
        sa.CheckConstraint(
            "last_outcome IS NULL OR last_outcome IN ('running', 'ok', 'skipped', 'error', 'auth_error', 'locked')",
            name=op.f("ck_bots_last_outcome"),
        ),
        sa.CheckConstraint(
            "status IN ('stopped', 'running', 'paused', 'error')", name=op.f("ck_bots_status")
        ),
        sa.CheckConstraint("run_interval_minutes > 0", name=op.f("ck_bots_run_interval_minutes")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_bots_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bots")),
    )
    op.create_index(
        op.f("ix_bots_status_next_run_at"), "bots", ["status", "next_run_at"], unique=False
    )
    op.create_index(op.f("ix_bots_user_id_name"), "bots", ["user_id", "name"], unique=True)
    op.create_table(
        "notification_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("telegram_enabled", sa.Boolean(), nullable=False),
        sa.Column("telegram_chat_id", sa.String(length=64), nullable=True),
        sa.Column("telegram_bot_token_encrypted", sa.Text(), nullable=True),
        sa.Column("email_enabled", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_notification_settings_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_settings")),
        sa.UniqueConstraint("user_id", name=op.f("uq_notification_settings_user_id")),
    )
    op.create_table(
        "bot_daily_stats",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bot_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("trades", sa.Integer(), nullable=False),
        sa.Column("closes", sa.Integer(), nullable=False),
        sa.Column("wins", sa.Integer(), nullable=False),
        sa.Column("losses", sa.Integer(), nullable=False),
        sa.Column("realised_pnl", sa.Numeric(precision=28, scale=10), nullable=False),
        sa.Column("fees", sa.Numeric(precision=28, scale=10), nullable=False),
        sa.Column("volume", sa.Numeric(precision=28, scale=10), nullable=False),
        sa.Column("balance", sa.Numeric(precision=28, scale=10), nullable=True),
        sa.Column("unrealised_pnl", sa.Numeric(precision=28, scale=10), nullable=False),
        sa.Column("margin", sa.Numeric(precision=28, scale=10), nullable=False),
        sa.Column("min_margin_level", sa.Numeric(precision=28, scale=10), nullable=True),
        sa.Column(
            "positions",
            JSON_TYPE,
            nullable=False,
        ),
        sa.Column("last_trade_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["bot_id"], ["bots.id"], name=op.f("fk_bot_daily_stats_bot_id_bots"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bot_daily_stats")),
        sa.UniqueConstraint("bot_id", "day", name=op.f("uq_bot_daily_stats_bot_id_day")),
    )
    op.create_table(
        "bot_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bot_id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column(
            "conclusions",
            JSON_TYPE,
            nullable=False,
        ),
        sa.CheckConstraint(
            "outcome IN ('running', 'ok', 'skipped', 'error', 'auth_error', 'locked')",
            name=op.f("ck_bot_runs_outcome"),
        ),
        sa.CheckConstraint(
            "duration_ms IS NULL OR duration_ms >= 0", name=op.f("ck_bot_runs_duration_ms")
        ),
        sa.ForeignKeyConstraint(
            ["bot_id"], ["bots.id"], name=op.f("fk_bot_runs_bot_id_bots"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bot_runs")),
    )
    op.create_index(
        op.f("ix_bot_runs_bot_id_started_at"), "bot_runs", ["bot_id", "started_at"], unique=False
    )
    op.create_table(
        "paper_accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bot_id", sa.Integer(), nullable=False),
        sa.Column("initial_balance", sa.Numeric(precision=28, scale=10), nullable=False),
        sa.Column("wallet", sa.Numeric(precision=28, scale=10), nullable=False),
        sa.Column(
            "state",
            JSON_TYPE,
            nullable=False,
        ),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("initial_balance > 0", name=op.f("ck_paper_accounts_initial_balance")),
        sa.ForeignKeyConstraint(
            ["bot_id"], ["bots.id"], name=op.f("fk_paper_accounts_bot_id_bots"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_paper_accounts")),
        sa.UniqueConstraint("bot_id", name=op.f("uq_paper_accounts_bot_id")),
    )
    op.create_table(
        "trading_pairs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bot_id", sa.Integer(), nullable=False),
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("side", sa.String(length=8), nullable=False),
        sa.Column("leverage", sa.Numeric(precision=28, scale=10), nullable=False),
        sa.Column("ema_interval", sa.Integer(), nullable=False),
        sa.Column("automatic_mode", sa.Boolean(), nullable=False),
        sa.Column("strategy", sa.String(length=32), nullable=False),
        sa.Column(
            "strategy_params",
            JSON_TYPE,
            nullable=False,
        ),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column(
            "alert_keys",
            JSON_TYPE,
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("side IN ('Long', 'Short')", name=op.f("ck_trading_pairs_side")),
        sa.CheckConstraint("symbol <> ''", name=op.f("ck_trading_pairs_symbol")),
        sa.CheckConstraint(
            "ema_interval IN (1, 5, 15, 30, 60, 240, 1440, 10080, 43200, 129600, 518400)",
            name=op.f("ck_trading_pairs_ema_interval"),
        ),
        sa.CheckConstraint(
            "leverage > 0 AND leverage <= 125", name=op.f("ck_trading_pairs_leverage")
        ),
        sa.ForeignKeyConstraint(
            ["bot_id"], ["bots.id"], name=op.f("fk_trading_pairs_bot_id_bots"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trading_pairs")),
        sa.UniqueConstraint(
            "bot_id", "symbol", "side", name=op.f("uq_trading_pairs_bot_id_symbol_side")
        ),
    )
    op.create_table(
        "backtests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("pair_id", sa.Integer(), nullable=True),
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("side", sa.String(length=8), nullable=False),
        sa.Column("strategy", sa.String(length=32), nullable=False),
        sa.Column(
            "params",
            JSON_TYPE,
            nullable=False,
        ),
        sa.Column("balance", sa.Numeric(precision=28, scale=10), nullable=False),
        sa.Column("leverage", sa.Numeric(precision=28, scale=10), nullable=False),
        sa.Column("interval_minutes", sa.Integer(), nullable=False),
        sa.Column("ema_interval", sa.Integer(), nullable=True),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("data_file", sa.Text(), nullable=False),
        sa.Column(
            "metrics",
            JSON_TYPE,
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'done', 'error')", name=op.f("ck_backtests_status")
        ),
        sa.CheckConstraint("end_at > start_at", name=op.f("ck_backtests_period")),
        sa.CheckConstraint(
            "progress >= 0 AND progress <= 1000", name=op.f("ck_backtests_progress")
        ),
        sa.ForeignKeyConstraint(
            ["pair_id"],
            ["trading_pairs.id"],
            name=op.f("fk_backtests_pair_id_trading_pairs"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_backtests_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_backtests")),
    )
    op.create_index(
        op.f("ix_backtests_status_created_at"), "backtests", ["status", "created_at"], unique=False
    )
    op.create_index(
        op.f("ix_backtests_user_id_created_at"),
        "backtests",
        ["user_id", "created_at"],
        unique=False,
    )
    op.create_table(
        "bot_logs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bot_id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column(
            "fields",
            JSON_TYPE,
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "level IN ('debug', 'info', 'warning', 'error')", name=op.f("ck_bot_logs_level")
        ),
        sa.ForeignKeyConstraint(
            ["bot_id"], ["bots.id"], name=op.f("fk_bot_logs_bot_id_bots"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["bot_runs.id"],
            name=op.f("fk_bot_logs_run_id_bot_runs"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bot_logs")),
    )
    op.create_index(
        op.f("ix_bot_logs_bot_id_created_at"), "bot_logs", ["bot_id", "created_at"], unique=False
    )
    op.create_table(
        "orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bot_id", sa.Integer(), nullable=False),
        sa.Column("pair_id", sa.Integer(), nullable=True),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("client_order_id", sa.String(length=36), nullable=False),
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("side", sa.String(length=8), nullable=False),
        sa.Column("action", sa.String(length=8), nullable=False),
        sa.Column("order_side", sa.String(length=4), nullable=False),
        sa.Column("qty", sa.Numeric(precision=28, scale=10), nullable=False),
        sa.Column("price", sa.Numeric(precision=28, scale=10), nullable=True),
        sa.Column("reduce_only", sa.Boolean(), nullable=False),
        sa.Column("post_only", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("exchange_order_id", sa.String(length=64), nullable=False),
        sa.Column("filled_qty", sa.Numeric(precision=28, scale=10), nullable=False),
        sa.Column("avg_price", sa.Numeric(precision=28, scale=10), nullable=True),
        sa.Column("fee", sa.Numeric(precision=28, scale=10), nullable=False),
        sa.Column("ref_entry_price", sa.Numeric(precision=28, scale=10), nullable=True),
        sa.Column("ref_margin", sa.Numeric(precision=28, scale=10), nullable=True),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "action IN ('OPEN', 'ADD', 'REDUCE', 'CLOSE')", name=op.f("ck_orders_action")
        ),
        sa.CheckConstraint("order_side IN ('Buy', 'Sell')", name=op.f("ck_orders_order_side")),
        sa.CheckConstraint("side IN ('Long', 'Short')", name=op.f("ck_orders_side")),
        sa.CheckConstraint(
            "status IN ('pending', 'open', 'filled', 'cancelled', 'rejected', 'unknown')",
            name=op.f("ck_orders_status"),
        ),
        sa.CheckConstraint("filled_qty >= 0", name=op.f("ck_orders_filled_qty")),
        sa.CheckConstraint("price IS NULL OR price > 0", name=op.f("ck_orders_price")),
        sa.CheckConstraint("qty > 0", name=op.f("ck_orders_qty")),
        sa.ForeignKeyConstraint(
            ["bot_id"], ["bots.id"], name=op.f("fk_orders_bot_id_bots"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["pair_id"],
            ["trading_pairs.id"],
            name=op.f("fk_orders_pair_id_trading_pairs"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["bot_runs.id"], name=op.f("fk_orders_run_id_bot_runs"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
        sa.UniqueConstraint("client_order_id", name=op.f("uq_orders_client_order_id")),
    )
    op.create_index(op.f("ix_orders_bot_id_status"), "orders", ["bot_id", "status"], unique=False)
    op.create_index(op.f("ix_orders_pair_id_status"), "orders", ["pair_id", "status"], unique=False)
    op.create_table(
        "trades",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bot_id", sa.Integer(), nullable=False),
        sa.Column("pair_id", sa.Integer(), nullable=True),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("client_order_id", sa.String(length=36), nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("side", sa.String(length=8), nullable=False),
        sa.Column("action", sa.String(length=8), nullable=False),
        sa.Column("qty", sa.Numeric(precision=28, scale=10), nullable=False),
        sa.Column("price", sa.Numeric(precision=28, scale=10), nullable=False),
        sa.Column("fee", sa.Numeric(precision=28, scale=10), nullable=False),
        sa.Column("pnl", sa.Numeric(precision=28, scale=10), nullable=False),
        sa.Column("pnl_percentage", sa.Numeric(precision=28, scale=10), nullable=True),
        sa.Column("position_size", sa.Numeric(precision=28, scale=10), nullable=False),
        sa.Column("position_value", sa.Numeric(precision=28, scale=10), nullable=False),
        sa.Column("margin_level", sa.Numeric(precision=28, scale=10), nullable=True),
        sa.Column("balance_after", sa.Numeric(precision=28, scale=10), nullable=True),
        sa.CheckConstraint(
            "action IN ('OPEN', 'ADD', 'REDUCE', 'CLOSE')", name=op.f("ck_trades_action")
        ),
        sa.CheckConstraint("side IN ('Long', 'Short')", name=op.f("ck_trades_side")),
        sa.CheckConstraint("price > 0", name=op.f("ck_trades_price")),
        sa.CheckConstraint("qty > 0", name=op.f("ck_trades_qty")),
        sa.ForeignKeyConstraint(
            ["bot_id"], ["bots.id"], name=op.f("fk_trades_bot_id_bots"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_trades_order_id_orders"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["pair_id"],
            ["trading_pairs.id"],
            name=op.f("fk_trades_pair_id_trading_pairs"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trades")),
        sa.UniqueConstraint("client_order_id", name=op.f("uq_trades_client_order_id")),
    )
    op.create_index(op.f("ix_trades_bot_id_time"), "trades", ["bot_id", "time"], unique=False)
    op.create_index(op.f("ix_trades_pair_id_time"), "trades", ["pair_id", "time"], unique=False)


def downgrade() -> None:
    """Undo this revision."""
    op.drop_index(op.f("ix_trades_pair_id_time"), table_name="trades")
    op.drop_index(op.f("ix_trades_bot_id_time"), table_name="trades")
    op.drop_table("trades")
    op.drop_index(op.f("ix_orders_pair_id_status"), table_name="orders")
    op.drop_index(op.f("ix_orders_bot_id_status"), table_name="orders")
    op.drop_table("orders")
    op.drop_index(op.f("ix_bot_logs_bot_id_created_at"), table_name="bot_logs")
    op.drop_table("bot_logs")
    op.drop_index(op.f("ix_backtests_user_id_created_at"), table_name="backtests")
    op.drop_index(op.f("ix_backtests_status_created_at"), table_name="backtests")
    op.drop_table("backtests")
    op.drop_table("trading_pairs")
    op.drop_table("paper_accounts")
    op.drop_index(op.f("ix_bot_runs_bot_id_started_at"), table_name="bot_runs")
    op.drop_table("bot_runs")
    op.drop_table("bot_daily_stats")
    op.drop_table("notification_settings")
    op.drop_index(op.f("ix_bots_user_id_name"), table_name="bots")
    op.drop_index(op.f("ix_bots_status_next_run_at"), table_name="bots")
    op.drop_table("bots")
    op.drop_index(op.f("ix_audit_logs_user_id_created_at"), table_name="audit_logs")
    op.drop_index(op.f("ix_audit_logs_target_type_target_id"), table_name="audit_logs")
    op.drop_table("audit_logs")
    op.drop_table("users")
    op.drop_table("stripe_events")
