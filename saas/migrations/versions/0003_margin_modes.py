"""Margin modes: a pair's chosen mode and the exchange's reported one, a backtest's mode.

Revision ID: 0003_margin_modes
Revises: 0002_admin
Created: 2026-12-04 17:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_margin_modes"
down_revision = "0002_admin"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add trading_pairs.margin_mode (cross unless set), exchange_margin_mode, backtests.margin_mode."""
    with op.batch_alter_table("trading_pairs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("margin_mode", sa.String(length=8), server_default="cross", nullable=False)
        )
        batch_op.add_column(sa.Column("exchange_margin_mode", sa.String(length=8), nullable=True))
        batch_op.create_check_constraint(
            batch_op.f("ck_trading_pairs_margin_mode"), "margin_mode IN ('cross', 'isolated')"
        )
    with op.batch_alter_table("backtests", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("margin_mode", sa.String(length=8), server_default="cross", nullable=False)
        )


def downgrade() -> None:
    """Drop the three columns and the check."""
    with op.batch_alter_table("backtests", schema=None) as batch_op:
        batch_op.drop_column("margin_mode")
    with op.batch_alter_table("trading_pairs", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_trading_pairs_margin_mode"), type_="check")
        batch_op.drop_column("exchange_margin_mode")
        batch_op.drop_column("margin_mode")
