"""Revision 0002: plan keys become a foreign key without breaking any user, and defaults apply."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from saas import migrate
from saas.db import make_engine

BEFORE = "0003_margin_modes"
USER = (
    "INSERT INTO users (email, password_hash, email_verified, role, status, failed_logins, plan, "
    "plan_cancel_at_period_end, checkout_nonce, created_at, updated_at) VALUES "
    "(:email, '!', false, 'user', 'active', 0, :plan, false, 0, CURRENT_TIMESTAMP, "
    "CURRENT_TIMESTAMP)"
)


@pytest.fixture
def engine(empty_url):
    """An engine on an empty database, disposed afterwards."""
    engine = make_engine(empty_url)
    yield engine
    engine.dispose()


def test_users_on_unknown_plans_keep_them_and_new_unknown_plans_are_refused(engine):
    migrate.upgrade(engine, BEFORE)
    with engine.begin() as connection:
        connection.execute(text(USER), {"email": "a@example.com", "plan": "business"})
        connection.execute(text(USER), {"email": "b@example.com", "plan": "pro"})
        connection.execute(
            text(
                "INSERT INTO bots (user_id, name, exchange, testnet, status, "
                "run_interval_minutes, created_at, updated_at) VALUES (1, 'b', 'paper', true, "
                "'stopped', 5, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            )
        )
    migrate.upgrade(engine)
    with engine.connect() as connection:
        keys = set(connection.scalars(text("SELECT key FROM plans")))
        assert {"free", "starter", "pro", "enterprise", "business"} <= keys
        assert connection.scalar(text("SELECT count(*) FROM bots")) == 1  # nothing cascaded
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO users (email, password_hash, plan) "
                "VALUES ('c@example.com', '!', 'basic')"
            )
        )
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO users (email, password_hash) VALUES ('d@example.com', '!')")
        )
        row = connection.execute(
            text(
                "SELECT plan, role, status, email_verified FROM users WHERE email = 'd@example.com'"
            )
        ).one()
    assert (row.plan, row.role, row.status, bool(row.email_verified)) == (
        "free",
        "user",
        "active",
        False,
    )
    migrate.downgrade(engine, BEFORE)
    with engine.connect() as connection:
        assert connection.scalar(text("SELECT count(*) FROM users")) == 3
        assert connection.scalar(text("SELECT count(*) FROM bots")) == 1
