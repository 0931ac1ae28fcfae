"""Sessions that really end: logout, password change and "log out other devices" end every
copy of the session and remember-me cookies; quiet sessions end after the idle timeout."""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime, timedelta

import pytest

from tests.fixtures.database import DEFAULT_PASSWORD
from tests.fixtures.web import csrf_post, login_with_form

REMEMBER = "remember_token"
START = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def is_logged_in(client) -> bool:
    """Whether the account page opens."""
    return client.get("/account/settings").status_code == 200


def copy_of(app, client, names=("session", REMEMBER)):
    """Another browser holding copies of ``client``'s cookies (as a thief would)."""
    thief = app.test_client()
    for name in names:
        cookie = client.get_cookie(name)
        if cookie is not None:
            thief.set_cookie(name, cookie.value)
    return thief


def only_remember_cookie(app, client):
    """A browser with just the remember-me cookie (its session cookie ended with the browser)."""
    return copy_of(app, client, names=(REMEMBER,))


@pytest.fixture
def remembered(app, client, user):
    """``client`` logged in with "keep me logged in" ticked."""
    response = login_with_form(client, user.email, remember="y")
    assert response.status_code == 302 and client.get_cookie(REMEMBER) is not None
    return client


def test_a_copied_session_cookie_stops_working_after_logout(app, client, user):
    login_with_form(client, user.email)
    thief = copy_of(app, client)
    assert is_logged_in(thief)

    csrf_post(client, "/auth/logout", token_from="/account/settings")

    assert not is_logged_in(client)
    assert not is_logged_in(thief)


def test_a_copied_remember_me_cookie_stops_working_after_logout(app, remembered):
    thief = only_remember_cookie(app, remembered)
    assert is_logged_in(thief)  # the cookie alone rebuilds a session

    csrf_post(remembered, "/auth/logout", token_from="/account/settings")

    assert not is_logged_in(only_remember_cookie(app, remembered))
    assert not is_logged_in(copy_of(app, thief))
    assert not is_logged_in(thief)


def test_log_out_other_devices_ends_copied_cookies_but_keeps_this_one(app, remembered):
    thief = copy_of(app, remembered)

    response = csrf_post(remembered, "/account/sessions", {"current_password": DEFAULT_PASSWORD})

    assert response.status_code == 302
    assert is_logged_in(remembered)
    assert not is_logged_in(thief)


def test_a_password_change_ends_copied_remember_me_cookies(app, remembered):
    thief = only_remember_cookie(app, remembered)

    csrf_post(
        remembered,
        "/account/password",
        {
            "current_password": DEFAULT_PASSWORD,
            "password": "another long passphrase",
            "confirm": "another long passphrase",
        },
    )

    assert is_logged_in(remembered)
    assert not is_logged_in(thief)


def test_a_quiet_session_ends_after_thirty_minutes(app, client, user, time_machine):
    time_machine.move_to(START, tick=False)
    login_with_form(client, user.email)
    time_machine.move_to(START + timedelta(minutes=29), tick=False)
    assert is_logged_in(client)  # activity restarts the clock

    time_machine.move_to(START + timedelta(minutes=58), tick=False)
    assert is_logged_in(client)
    time_machine.move_to(START + timedelta(minutes=89), tick=False)

    response = client.get("/account/settings")

    assert response.status_code == 302 and response.headers["Location"].startswith("/auth/login")
    assert "without activity" in client.get("/auth/login").get_data(as_text=True)


def test_the_idle_timeout_is_a_setting(app, client, user, time_machine):
    app.config["SESSION_IDLE_MINUTES"] = 15
    time_machine.move_to(START, tick=False)
    login_with_form(client, user.email)

    time_machine.move_to(START + timedelta(minutes=16), tick=False)

    assert not is_logged_in(client)


def test_a_remembered_session_has_no_idle_timeout(app, remembered, time_machine):
    time_machine.move_to(datetime.now(UTC) + timedelta(hours=5), tick=False)

    assert is_logged_in(remembered)
    assert is_logged_in(only_remember_cookie(app, remembered))


# -- registering takes as long for a taken address as for a new one ----------------------------


def register(client, email: str) -> float:
    """Submit the registration form; the seconds the answer took."""
    token_page = client.get("/auth/register").get_data(as_text=True)
    token = token_page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    started = time.perf_counter()
    response = client.post(
        "/auth/register",
        data={
            "csrf_token": token,
            "email": email,
            "password": "a long enough passphrase",
            "confirm": "a long enough passphrase",
        },
    )
    elapsed = time.perf_counter() - started
    assert response.status_code == 200
    return elapsed


def test_registering_a_taken_address_takes_as_long_as_a_new_one(app, client, user):
    app.config["REGISTER_LIMIT"] = "1000 per hour"
    register(client, "warm-up@example.com")
    new, taken = [], []
    for number in range(9):
        new.append(register(client, f"fresh{number}@example.com"))
        taken.append(register(client, user.email))

    ratio = statistics.median(taken) / statistics.median(new)

    assert 0.5 <= ratio <= 2, (statistics.median(new), statistics.median(taken))
