"""Sign-in throttling on a production-like server (gunicorn, three workers, PostgreSQL).

Strangers cannot lock an owner out, an attacking address stays throttled, and a made-up
address answers exactly like a real one, whichever worker takes each request.
"""

from __future__ import annotations

import threading

import pytest

from saas.auth.routes import INVALID_LOGIN, LOCKED_LOGIN
from tests.fixtures.database import DEFAULT_PASSWORD
from tests.fixtures.web import make_user
from tests.saas.live_gunicorn import Browser, serve

pytestmark = pytest.mark.usefixtures("pg_url")
INVALID = INVALID_LOGIN
LOCKED = "Too many failed attempts"
assert LOCKED in LOCKED_LOGIN


def answer(response) -> str:
    """What a login answer says: "ok", "invalid" or "locked" (and its status code)."""
    if response.status_code == 302:
        return "ok"
    text = response.text
    if LOCKED in text:
        return f"locked {response.status_code}"
    if INVALID in text:
        return f"invalid {response.status_code}"
    return f"other {response.status_code}"


def attack(base: str, email: str, addresses: list[str], tries: int = 6) -> list[str]:
    """Wrong passwords for ``email`` from each address in turn; every answer, in order."""
    answers = []
    for address in addresses:
        stranger = Browser(base, address)
        token = stranger.token("/auth/login")
        for _ in range(tries):
            response = stranger.post(
                "/auth/login", {"email": email, "password": "wrong password"}, token
            )
            answers.append(answer(response))
    return answers


@pytest.fixture
def victim(pg_app):
    """A verified user on PostgreSQL."""
    return make_user(pg_app, email_verified=True)


def test_strangers_cannot_lock_the_owner_out_and_stay_throttled(
    pg_app, pg_url, encryption_key, victim
):
    with serve(pg_url, encryption_key, workers=3) as base:
        owner = Browser(base, "198.51.100.10")
        assert answer(owner.login(victim.email, DEFAULT_PASSWORD)) == "ok"
        owner.post("/auth/logout", {}, owner.token("/account/settings"))

        answers = attack(base, victim.email, ["203.0.113.1", "203.0.113.2", "203.0.113.3"])
        attacker_again = Browser(base, "203.0.113.1").login(victim.email, DEFAULT_PASSWORD)
        owner_again = Browser(base, "198.51.100.10").login(victim.email, DEFAULT_PASSWORD)
        owner_travelling = Browser(base, "192.0.2.99").login(victim.email, DEFAULT_PASSWORD)

    assert answers.count("invalid 400") >= 10  # strangers failed 5+ times from each address
    assert answer(attacker_again) == "locked 400"  # even with the right password
    assert answer(owner_again) == "ok"
    assert answer(owner_travelling) == "ok"  # an address it never used gets a few tries


def test_a_made_up_address_answers_exactly_like_a_real_one(pg_app, pg_url, encryption_key, victim):
    strangers = [f"203.0.113.{n}" for n in range(20, 23)]
    others = [f"203.0.113.{n}" for n in range(30, 33)]
    with serve(pg_url, encryption_key, workers=3) as base:
        real = attack(base, victim.email, strangers, tries=7)
        made_up = attack(base, "nobody-here@example.com", others, tries=7)

    assert real == made_up
    assert "locked 400" in real and "invalid 400" in real


def test_one_address_gets_five_password_checks_even_all_at_once(
    pg_app, pg_url, encryption_key, victim
):
    with serve(pg_url, encryption_key, workers=3) as base:
        attacker = Browser(base, "203.0.113.50")
        token = attacker.token("/auth/login")
        barrier = threading.Barrier(12)
        answers: list[str] = []

        def guess() -> None:
            barrier.wait()
            response = attacker.post(
                "/auth/login", {"email": victim.email, "password": "wrong password"}, token
            )
            answers.append(answer(response))

        threads = [threading.Thread(target=guess) for _ in range(12)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)

    assert answers.count("invalid 400") == 5
    assert answers.count("locked 400") == 7
