"""Logging in and out, registering, and the brute-force lock: the auth blueprint's routes."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from saas.extensions import db
from saas.models import AuditLog, User
from tests.fixtures.database import DEFAULT_PASSWORD
from tests.fixtures.web import csrf_post, csrf_token, login, login_with_form, mail_outbox

INVALID = "Wrong e-mail address or password."
LOCKED = "Too many failed attempts"
NEW_PASSWORD = "a brand new passphrase"


def audit_actions(app, user_id=None) -> list[str]:
    """The audit trail's actions, oldest first (of one user when given)."""
    with app.app_context():
        query = select(AuditLog.action).order_by(AuditLog.id)
        if user_id is not None:
            query = query.where(AuditLog.user_id == user_id)
        return list(db.session.scalars(query))


def stored_user(app, email: str) -> User | None:
    """The user row as it is in the database now."""
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        if user is not None:
            db.session.expunge(user)
        return user


def is_logged_in(client) -> bool:
    """Whether the account page opens (rather than redirecting to the login page)."""
    return client.get("/account/settings").status_code == 200


# -- logging in --------------------------------------------------------------------------------


def test_the_login_page_has_a_form_with_a_csrf_token(client):
    page = client.get("/auth/login")

    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert 'name="csrf_token"' in body and 'name="password"' in body
    assert 'type="password"' in body


def test_logging_in_opens_the_account_and_goes_to_the_start_page(client, user, app):
    response = login_with_form(client, user.email)

    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert is_logged_in(client)
    assert audit_actions(app, user.id)[-1] == "login"
    assert stored_user(app, user.email).last_login_at is not None


def test_the_address_is_matched_whatever_its_case(client, user):
    response = login_with_form(client, "  " + user.email.upper() + " ")

    assert response.status_code == 302 and is_logged_in(client)


def test_login_returns_to_the_page_that_asked_for_it(client, user):
    asked = client.get("/account/password")
    assert asked.status_code == 302
    assert asked.headers["Location"].startswith("/auth/login?next=")

    form = client.get(asked.headers["Location"]).get_data(as_text=True)
    assert 'value="/account/password"' in form
    response = login_with_form(client, user.email, next="/account/password")

    assert response.headers["Location"] == "/account/password"


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example",
        "javascript:alert(1)",
        "http:/evil.example",
    ],
)
def test_login_never_redirects_off_the_site(client, user, target):
    response = login_with_form(client, user.email, next=target)

    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_a_wrong_password_shows_the_form_again_with_a_generic_message(client, user, app):
    response = login_with_form(client, user.email, "not the password")

    assert response.status_code == 400
    assert INVALID in response.get_data(as_text=True)
    assert not is_logged_in(client)
    assert audit_actions(app, user.id) == ["login_failed"]
    assert stored_user(app, user.email).failed_logins == 1


def test_an_unknown_address_gets_the_same_answer_as_a_wrong_password(client, user, app):
    unknown = login_with_form(client, "nobody@example.com", DEFAULT_PASSWORD)
    wrong = login_with_form(client, user.email, "not the password")

    assert unknown.status_code == wrong.status_code == 400
    assert INVALID in unknown.get_data(as_text=True)
    assert INVALID in wrong.get_data(as_text=True)
    with app.app_context():
        row = db.session.scalars(select(AuditLog).where(AuditLog.user_id.is_(None))).one()
        assert (row.action, row.after, row.ip) == (
            "login_failed",
            {"email": "nobody@example.com"},
            "127.0.0.1",
        )


LOGIN_VALIDATION = [
    ({"email": "", "password": "x"}, "Enter your e-mail address."),
    ({"email": "not-an-address", "password": "x"}, "Enter a valid e-mail address."),
    ({"email": "someone@example.com", "password": ""}, "Enter your password."),
]


@pytest.mark.parametrize(("data", "message"), LOGIN_VALIDATION)
def test_login_validation_errors_show_beside_the_field(client, data, message):
    response = csrf_post(client, "/auth/login", data)

    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert not is_logged_in(client)


def test_a_suspended_account_cannot_log_in_and_only_its_password_learns_why(client, user_factory):
    suspended = user_factory(status="suspended", suspended_reason="Unpaid invoice")

    right = login_with_form(client, suspended.email)
    wrong = login_with_form(client, suspended.email, "not the password at all")

    assert right.status_code == 400
    assert "This account is suspended. Reason: Unpaid invoice" in right.get_data(as_text=True)
    assert wrong.status_code == 400 and INVALID in wrong.get_data(as_text=True)
    assert "suspended" not in wrong.get_data(as_text=True)


def test_a_suspended_users_open_session_stops_working(client, user, app):
    login(client, user)
    with app.app_context():
        db.session.get(User, user.id).status = "suspended"
        db.session.commit()

    assert not is_logged_in(client)


def test_logging_in_starts_a_new_session(client, user):
    """Nothing of the anonymous session survives: not its data, not its CSRF token."""
    before = csrf_token(client, "/auth/login")
    with client.session_transaction() as session:
        session["planted"] = "by someone else"

    login_with_form(client, user.email)

    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["_fresh"] is True
    assert csrf_token(client, "/account/settings") != before


def test_remember_me_sets_a_long_lived_http_only_cookie(client, user):
    login_with_form(client, user.email, remember="y")

    cookie = client.get_cookie("remember_token")
    assert cookie is not None and cookie.http_only
    assert cookie.expires is not None


def test_without_remember_me_there_is_no_remember_cookie(client, user):
    login_with_form(client, user.email)

    assert client.get_cookie("remember_token") is None


def test_a_logged_in_user_visiting_login_or_register_goes_to_the_start_page(logged_in):
    for url in ("/auth/login", "/auth/register"):
        assert logged_in.get(url).headers["Location"] == "/"


# -- logging out -------------------------------------------------------------------------------


def test_logout_is_a_post_that_ends_the_session(logged_in, app, user):
    response = csrf_post(logged_in, "/auth/logout", token_from="/account/settings")

    assert response.status_code == 302 and response.headers["Location"] == "/auth/login"
    assert not is_logged_in(logged_in)
    assert audit_actions(app, user.id)[-1] == "logout"


def test_logout_by_get_is_refused_and_keeps_the_session(logged_in):
    assert logged_in.get("/auth/logout").status_code == 405
    assert is_logged_in(logged_in)


def test_logout_needs_the_sessions_csrf_token(logged_in):
    assert logged_in.post("/auth/logout").status_code == 400
    assert is_logged_in(logged_in)


def test_logout_when_not_logged_in_goes_to_the_login_page(client):
    response = csrf_post(client, "/auth/logout", token_from="/auth/login")

    assert response.status_code == 302 and response.headers["Location"].startswith("/auth/login")


# -- brute force -------------------------------------------------------------------------------


def fail_logins(client, email: str, times: int = 5) -> None:
    """``times`` wrong passwords for ``email``, each answered with the generic message."""
    for _ in range(times):
        response = login_with_form(client, email, "wrong password")
        assert response.status_code == 400
        assert INVALID in response.get_data(as_text=True)


def test_the_sixth_attempt_is_refused_even_with_the_right_password(client, user, app):
    fail_logins(client, user.email)

    response = login_with_form(client, user.email, DEFAULT_PASSWORD)

    assert response.status_code == 400
    assert LOCKED in response.get_data(as_text=True)
    assert not is_logged_in(client)
    stored = stored_user(app, user.email)
    assert stored.failed_logins == 5
    assert stored.locked_until > datetime.now(UTC)
    assert "account_locked" in audit_actions(app, user.id)


def test_the_lock_message_does_not_tell_whether_the_account_exists(client, user):
    fail_logins(client, user.email)
    known = login_with_form(client, user.email, DEFAULT_PASSWORD)
    other_client = client.application.test_client()
    other_client.environ_base["REMOTE_ADDR"] = "192.0.2.7"
    fail_logins(other_client, "nobody@example.com")
    unknown = login_with_form(other_client, "nobody@example.com", DEFAULT_PASSWORD)

    assert known.status_code == unknown.status_code == 400
    assert known.get_data(as_text=True).count(LOCKED) == 1
    assert unknown.get_data(as_text=True).count(LOCKED) == 1


def test_the_account_lock_holds_from_another_address(client, user, app):
    fail_logins(client, user.email)
    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "198.51.100.20"

    response = login_with_form(elsewhere, user.email, DEFAULT_PASSWORD)

    assert LOCKED in response.get_data(as_text=True)


def test_the_lock_survives_a_restart_of_the_rate_limit_storage(client, user, app):
    """The lock is on the user row, not only in the (memory) rate-limit storage."""
    from saas.extensions import limiter

    fail_logins(client, user.email)
    limiter.reset()

    assert LOCKED in login_with_form(client, user.email).get_data(as_text=True)


def test_one_address_failing_on_many_accounts_is_stopped_too(client, user_factory):
    victims = [user_factory() for _ in range(6)]
    for victim in victims[:5]:
        fail_logins(client, victim.email, times=1)

    response = login_with_form(client, victims[5].email, DEFAULT_PASSWORD)

    assert LOCKED in response.get_data(as_text=True)


def test_the_lock_ends_after_fifteen_minutes(client, user, app, time_machine):
    time_machine.move_to(datetime(2026, 5, 1, 12, 0, tzinfo=UTC), tick=False)
    fail_logins(client, user.email)
    time_machine.move_to(datetime(2026, 5, 1, 12, 14, tzinfo=UTC), tick=False)
    assert LOCKED in login_with_form(client, user.email).get_data(as_text=True)

    time_machine.move_to(datetime(2026, 5, 1, 12, 16, tzinfo=UTC), tick=False)
    response = login_with_form(client, user.email)

    assert response.status_code == 302
    assert stored_user(app, user.email).failed_logins == 0


def test_failures_spread_over_more_than_fifteen_minutes_do_not_lock(client, user, time_machine):
    start = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    for minute in range(0, 50, 10):
        time_machine.move_to(start + timedelta(minutes=minute), tick=False)
        fail_logins(client, user.email, times=1)

    assert login_with_form(client, user.email).status_code == 302


def test_a_good_login_clears_the_failures(client, user, app):
    fail_logins(client, user.email, times=4)
    assert login_with_form(client, user.email).status_code == 302
    csrf_post(client, "/auth/logout", token_from="/account/settings")

    fail_logins(client, user.email, times=1)

    assert stored_user(app, user.email).failed_logins == 1


def test_every_login_post_is_rate_limited_per_address(app, client, user):
    app.config["LOGIN_REQUEST_LIMIT"] = "3 per minute"
    for _ in range(3):
        assert login_with_form(client, "", "").status_code == 400

    assert login_with_form(client, user.email).status_code == 429


# -- registering -------------------------------------------------------------------------------


def register(client, email="new@example.com", password=NEW_PASSWORD, confirm=None):
    """Submit the registration form."""
    return csrf_post(
        client,
        "/auth/register",
        {
            "email": email,
            "password": password,
            "confirm": password if confirm is None else confirm,
        },
    )


def test_registering_creates_an_unverified_account_and_mails_a_link(client, app):
    response = register(client, "New.Person@Example.com")

    assert response.status_code == 200
    assert "Check your mail" in response.get_data(as_text=True)
    user = stored_user(app, "new.person@example.com")
    assert user is not None and not user.email_verified and user.role == "user"
    (mail,) = mail_outbox(app)
    assert mail["To"] == "new.person@example.com"
    assert "http://127.0.0.1:8000/auth/verify/" in mail.get_content()
    assert audit_actions(app, user.id) == ["register"]


def test_the_new_account_can_log_in_before_confirming(client, app):
    register(client)

    assert login_with_form(client, "new@example.com", NEW_PASSWORD).status_code == 302
    page = client.get("/account/settings").get_data(as_text=True)
    assert "Please confirm your e-mail address" in page


def test_registering_a_taken_address_answers_the_same_and_tells_only_its_owner(client, user, app):
    response = register(client, user.email.upper())

    assert response.status_code == 200
    assert "Check your mail" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(User.id))) == 1
    (mail,) = mail_outbox(app)
    assert mail["To"] == user.email and "already has one" in mail.get_content()
    assert login_with_form(client, user.email, NEW_PASSWORD).status_code == 400


REGISTER_VALIDATION = [
    ({"email": "bad"}, "Enter a valid e-mail address."),
    ({"email": ""}, "Enter your e-mail address."),
    ({"password": "short"}, "Use at least 10 characters."),
    ({"password": ""}, "Choose a password."),
    ({"confirm": "something else entirely"}, "The two passwords are not the same."),
    (
        {"email": "same@example.com", "password": "same@example.com"},
        "must not be your e-mail address",
    ),
]


@pytest.mark.parametrize(("fields", "message"), REGISTER_VALIDATION)
def test_registration_errors_show_the_form_again(client, app, fields, message):
    response = register(client, **fields)

    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert message in body
    assert NEW_PASSWORD not in body  # passwords are never echoed back
    with app.app_context():
        assert db.session.scalar(select(func.count(User.id))) == 0
    assert mail_outbox(app) == []


def test_registering_is_rate_limited(app, client):
    app.config["REGISTER_LIMIT"] = "2 per hour"
    for number in range(2):
        assert register(client, f"person{number}@example.com").status_code == 200

    response = register(client, "person3@example.com")

    assert response.status_code == 429
    assert "Too many requests" in response.get_data(as_text=True)
    assert stored_user(app, "person3@example.com") is None
