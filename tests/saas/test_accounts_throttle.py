"""The sign-in throttle's rules, on SQLite and PostgreSQL (saas.services.accounts.throttle)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from saas.models import LoginThrottle
from saas.services.accounts import throttle
from saas.services.accounts.throttle import Keys, ThrottleSettings

SECRET = "test-secret"
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
RULE = ThrottleSettings()


def fail(session, keys: Keys, times: int, now=NOW) -> list[bool]:
    """``times`` wrong passwords; whether each was allowed to be checked."""
    allowed = []
    for _ in range(times):
        allowed.append(throttle.begin_attempt(session, keys, now=now, settings=RULE))
        throttle.record_failure(session, keys, now=now, settings=RULE)
        session.commit()
    return allowed


def test_five_attempts_per_account_and_address_then_refused_until_the_window_ends(db_session):
    keys = Keys.of(SECRET, "victim@example.com", "203.0.113.1")

    assert fail(db_session, keys, 6) == [True] * 5 + [False]
    later = NOW + RULE.window + timedelta(seconds=1)
    assert throttle.begin_attempt(db_session, keys, now=later, settings=RULE)


def test_an_account_under_attack_slows_new_addresses_but_not_known_ones(db_session):
    home = Keys.of(SECRET, "victim@example.com", "198.51.100.10")
    assert throttle.begin_attempt(db_session, home, now=NOW, settings=RULE)
    throttle.record_success(db_session, home, now=NOW)
    for n in range(3):
        fail(db_session, Keys.of(SECRET, "victim@example.com", f"203.0.113.{n}"), 5)

    stranger = Keys.of(SECRET, "victim@example.com", "192.0.2.50")
    assert fail(db_session, stranger, 3) == [True, True, False]
    assert all(throttle.begin_attempt(db_session, home, now=NOW, settings=RULE) for _ in range(5))


def test_keys_hold_no_address_in_the_clear(db_session):
    fail(db_session, Keys.of(SECRET, "victim@example.com", "203.0.113.1"), 1)

    stored = " ".join(db_session.scalars(select(LoginThrottle.key)))
    assert "victim" not in stored and "203.0.113" not in stored


def test_old_counters_are_pruned(db_session):
    fail(db_session, Keys.of(SECRET, "a@example.com", "203.0.113.1"), 1)

    removed = throttle.prune(db_session, now=NOW + timedelta(hours=1), settings=RULE)
    db_session.commit()

    assert removed == 3  # pair, address, account
    assert db_session.scalar(select(func.count(LoginThrottle.id))) == 0


def test_signing_in_again_from_a_known_address_renews_it(db_session):
    home = Keys.of(SECRET, "victim@example.com", "198.51.100.10")
    throttle.record_success(db_session, home, now=NOW)
    throttle.record_success(db_session, home, now=NOW + timedelta(days=1))
    db_session.commit()

    (row,) = db_session.scalars(select(LoginThrottle).where(LoginThrottle.scope == "known"))
    assert row.window_start == NOW + timedelta(days=1)
