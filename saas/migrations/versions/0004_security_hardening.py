"""Security hardening (issue 14): session generation, sign-in throttle rows, key checks.

- users.session_generation: part of every session id and remember-me cookie; raised on logout,
  password change and "log out other devices", so every copy of the cookies ends.
- login_throttles: the sign-in counters, shared by every web worker.
- bots.key_check: what the exchange said of the key's permissions at the last check.

Revision ID: 0004_security_hardening
Revises: 0003_margin_modes
Created: 2026-12-04 17:44:20.446784
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# JSON on SQLite, JSONB on PostgreSQL (saas.models.base.JSONType).
JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")

revision = "0004_security_hardening"
down_revision = "0003_margin_modes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision.

    Plain ADD / DROP COLUMN, never a batch table rebuild: on SQLite a rebuild drops and re-creates
    the table, and with foreign keys on, dropping ``users`` would cascade to every bot.
    """
    op.create_table(
        "login_throttles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("failures >= 0", name=op.f("ck_login_throttles_failures")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_throttles")),
        sa.UniqueConstraint("scope", "key", name=op.f("uq_login_throttles_scope_key")),
    )
    op.add_column("bots", sa.Column("key_check", JSON_TYPE, nullable=True))
    op.add_column(
        "users", sa.Column("session_generation", sa.Integer(), server_default="0", nullable=False)
    )


def downgrade() -> None:
    """Undo this revision (SQLite 3.35+ and PostgreSQL both drop a column in place)."""
    op.execute("ALTER TABLE users DROP COLUMN session_generation")
    op.execute("ALTER TABLE bots DROP COLUMN key_check")
    op.drop_table("login_throttles")
