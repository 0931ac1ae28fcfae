"""One-time codes are spent once, even when several workers receive the same code at once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pyotp
import pytest

from saas.extensions import db
from saas.models import User
from saas.security import KeyRing
from saas.services.accounts import totp
from tests.fixtures.database import DEFAULT_PASSWORD
from tests.fixtures.web import make_user
from tests.saas.live_gunicorn import Browser, serve

SENDERS = 6


@pytest.fixture
def two_factor_account(pg_app, encryption_key):
    """A user on PostgreSQL with two-factor on: (email, secret, recovery codes)."""
    user = make_user(pg_app, email_verified=True)
    secret = totp.new_secret()
    ring = KeyRing.from_string(encryption_key)
    with pg_app.app_context():
        stored = db.session.get(User, user.id)
        # Set up on an earlier time step, so every code of the test's time is still fresh.
        codes = totp.enable(
            stored, ring, secret, pyotp.TOTP(secret).at(0), datetime(1970, 1, 1, tzinfo=UTC)
        )
        db.session.commit()
    return user.email, secret, codes


def at_once(browsers: list[Browser], code: str) -> list[int]:
    """Each half-logged-in browser posts ``code`` at the same moment; their statuses."""
    tokens = [browser.token("/auth/two-factor") for browser in browsers]
    barrier = threading.Barrier(len(browsers))
    statuses: list[int] = [0] * len(browsers)

    def send(index: int) -> None:
        barrier.wait()
        response = browsers[index].post("/auth/two-factor", {"code": code}, tokens[index])
        landed = response.headers.get("Location", "")
        statuses[index] = 302 if response.status_code == 302 and landed == "/" else 400

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(browsers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return statuses


def half_logged_in(base: str, email: str) -> list[Browser]:
    """SENDERS browsers from different addresses, each past the password step."""
    browsers = [Browser(base, f"203.0.113.{10 + i}") for i in range(SENDERS)]
    for browser in browsers:
        response = browser.login(email, DEFAULT_PASSWORD)
        assert response.headers["Location"] == "/auth/two-factor"
    return browsers


def test_one_totp_code_sent_six_times_at_once_logs_in_exactly_once(
    pg_url, encryption_key, two_factor_account
):
    email, secret, _ = two_factor_account
    with serve(pg_url, encryption_key, workers=3) as base:
        browsers = half_logged_in(base, email)
        code = pyotp.TOTP(secret).now()

        statuses = at_once(browsers, code)

        signed_in = [b for b in browsers if b.get("/account/settings").status_code == 200]
    assert statuses.count(302) == 1, statuses
    assert len(signed_in) == 1


def test_one_recovery_code_sent_six_times_at_once_logs_in_exactly_once(
    pg_url, encryption_key, two_factor_account
):
    email, _, codes = two_factor_account
    with serve(pg_url, encryption_key, workers=3) as base:
        browsers = half_logged_in(base, email)

        statuses = at_once(browsers, codes[0])

    assert statuses.count(302) == 1, statuses
