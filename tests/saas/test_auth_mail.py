"""Mailed links: verification and password reset, through a real SMTP server on loopback."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from saas.extensions import db
from saas.models import AuditLog, User
from tests.fixtures.database import DEFAULT_PASSWORD
from tests.fixtures.web import csrf_post, login, login_with_form, mail_outbox

NEW_PASSWORD = "another long passphrase"
LINK = re.compile(r"(https?://\S+/auth/(?:verify|reset)/\S+)")
START = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def smtp_app(app, smtp_server):
    """The app sending its mails to the loopback SMTP server, links built on a set BASE_URL."""
    app.config.update(smtp_server.mail_settings())
    app.config["BASE_URL"] = "https://bots.example.test"
    return app


def link_in(message) -> str:
    """The one link of a mail, as a path for the test client."""
    (url,) = LINK.findall(message.get_content())
    assert url.startswith("https://bots.example.test/")
    return url.removeprefix("https://bots.example.test")


def stored(app, email):
    """The user row now."""
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        db.session.expunge(user)
        return user


def without_tokens(page: str, email: str) -> str:
    """A page with its CSRF tokens and the address typed blanked out, for comparing answers."""
    return re.sub(r'(content|value)="[\w.-]{40,}"', "TOKEN", page).replace(email, "X")


def ask_for_reset(client, email):
    """Submit the forgot-password form."""
    return csrf_post(client, "/auth/forgot", {"email": email})


# -- e-mail verification -----------------------------------------------------------------------


def test_the_verification_mail_reaches_the_smtp_server(smtp_app, client, smtp_server):
    csrf_post(
        client,
        "/auth/register",
        {"email": "fresh@example.com", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )

    (mail,) = smtp_server.wait_for(1)
    assert mail["To"] == "fresh@example.com"
    assert mail["Subject"] == "Confirm your e-mail address for dcabot"
    assert link_in(mail).startswith("/auth/verify/")


def test_links_use_base_url_never_the_host_header(smtp_app, smtp_server):
    client = smtp_app.test_client()
    client.environ_base.update({"HTTP_HOST": "evil.example", "HTTP_X_FORWARDED_HOST": "evil"})
    response = csrf_post(
        client,
        "/auth/register",
        {"email": "fresh@example.com", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )

    assert response.status_code == 200

    (mail,) = smtp_server.wait_for(1)
    assert "evil.example" not in mail.get_content()
    assert "https://bots.example.test/auth/verify/" in mail.get_content()


def test_the_link_opens_a_confirm_page_and_the_post_verifies(smtp_app, client, smtp_server):
    csrf_post(
        client,
        "/auth/register",
        {"email": "fresh@example.com", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    path = link_in(smtp_server.wait_for(1)[0])

    page = client.get(path)
    assert page.status_code == 200 and "Confirm fresh@example.com" in page.get_data(as_text=True)
    assert not stored(smtp_app, "fresh@example.com").email_verified  # a GET changes nothing

    done = csrf_post(client, path)

    assert done.status_code == 302
    assert stored(smtp_app, "fresh@example.com").email_verified
    with smtp_app.app_context():
        assert (
            db.session.scalar(select(AuditLog.action).order_by(AuditLog.id.desc()).limit(1))
            == "email_verified"
        )


def test_a_verification_link_expires_after_two_days(smtp_app, client, smtp_server, time_machine):
    time_machine.move_to(START, tick=False)
    csrf_post(
        client,
        "/auth/register",
        {"email": "fresh@example.com", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    path = link_in(smtp_server.wait_for(1)[0])

    time_machine.move_to(START + timedelta(hours=47), tick=False)
    assert client.get(path).status_code == 200
    time_machine.move_to(START + timedelta(hours=49), tick=False)
    expired = client.get(path)

    assert expired.status_code == 400 and "expired" in expired.get_data(as_text=True)
    assert csrf_post(client, path, token_from="/auth/login").status_code == 400
    assert not stored(smtp_app, "fresh@example.com").email_verified


@pytest.mark.parametrize("token", ["garbage", "a.b.c", ""])
def test_a_forged_verification_link_is_refused(client, token):
    response = client.get(f"/auth/verify/{token}")

    assert response.status_code in (400, 404)


def test_a_reset_token_is_no_verification_token(app, client, user):
    """Tokens are signed per purpose: a reset link cannot confirm an address."""
    from saas.services.accounts.tokens import password_reset_token

    with app.app_context():
        token = password_reset_token(app.secret_key, db.session.get(User, user.id))

    assert client.get(f"/auth/verify/{token}").status_code == 400


def test_resending_the_verification_link(app, user_factory, client):
    unverified = user_factory()
    login(client, unverified)

    response = csrf_post(client, "/auth/resend-verification", token_from="/account/settings")

    assert response.status_code == 302
    (mail,) = mail_outbox(app)
    assert mail["To"] == unverified.email and "/auth/verify/" in mail.get_content()


def test_resending_is_rate_limited_per_user(app, user_factory, client):
    app.config["RESEND_LIMIT"] = "2 per hour"
    login(client, user_factory())
    for _ in range(2):
        csrf_post(client, "/auth/resend-verification", token_from="/account/settings")

    response = csrf_post(client, "/auth/resend-verification", token_from="/account/settings")

    assert response.status_code == 429 and len(mail_outbox(app)) == 2


def test_resending_needs_a_login(client):
    response = csrf_post(client, "/auth/resend-verification", token_from="/auth/login")

    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


# -- password reset ----------------------------------------------------------------------------


def test_forgot_password_mails_a_reset_link_through_smtp(smtp_app, client, smtp_server, user):
    response = ask_for_reset(client, user.email)

    assert response.status_code == 200
    (mail,) = smtp_server.wait_for(1)
    assert mail["To"] == user.email and mail["Subject"] == "Set a new dcabot password"
    assert link_in(mail).startswith("/auth/reset/")


def test_forgot_password_answers_the_same_for_an_unknown_address(
    smtp_app, client, smtp_server, user
):
    known = ask_for_reset(client, user.email).get_data(as_text=True)
    unknown = ask_for_reset(client, "nobody@example.com").get_data(as_text=True)

    smtp_server.wait_for(1)
    assert len(smtp_server.messages) == 1  # only the real account got mail
    assert without_tokens(known, user.email) == without_tokens(unknown, "nobody@example.com")


def test_a_reset_link_sets_the_password_once(smtp_app, client, smtp_server, user):
    ask_for_reset(client, user.email)
    path = link_in(smtp_server.wait_for(1)[0])

    assert client.get(path).status_code == 200
    done = csrf_post(client, path, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    again = csrf_post(
        client,
        path,
        {"password": "yet another passphrase", "confirm": "yet another passphrase"},
        token_from="/auth/login",
    )

    assert done.status_code == 302 and done.headers["Location"] == "/auth/login"
    assert again.status_code == 400 and "already been used" in again.get_data(as_text=True)
    assert client.get(path).status_code == 400
    assert login_with_form(client, user.email, DEFAULT_PASSWORD).status_code == 400
    assert login_with_form(client, user.email, NEW_PASSWORD).status_code == 302
    notice = smtp_server.wait_for(2)[1]
    assert notice["Subject"] == "Your dcabot password was changed"


def test_a_reset_link_expires_after_an_hour(smtp_app, client, smtp_server, user, time_machine):
    time_machine.move_to(START, tick=False)
    ask_for_reset(client, user.email)
    path = link_in(smtp_server.wait_for(1)[0])

    time_machine.move_to(START + timedelta(minutes=61), tick=False)
    response = csrf_post(
        client, path, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}, token_from="/auth/login"
    )

    assert response.status_code == 400 and "expired" in response.get_data(as_text=True)
    assert login_with_form(client, user.email, NEW_PASSWORD).status_code == 400


def test_a_reset_link_is_valid_until_then(smtp_app, client, smtp_server, user, time_machine):
    time_machine.move_to(START, tick=False)
    ask_for_reset(client, user.email)
    path = link_in(smtp_server.wait_for(1)[0])

    time_machine.move_to(START + timedelta(minutes=59), tick=False)
    response = csrf_post(client, path, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})

    assert response.status_code == 302


def test_an_older_reset_link_dies_when_a_newer_one_is_used(app, client, user):
    ask_for_reset(client, user.email)
    ask_for_reset(client, user.email)
    first, second = (link_in_memory(mail) for mail in mail_outbox(app))

    assert (
        csrf_post(client, second, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code
        == 302
    )
    assert client.get(first).status_code == 400


def link_in_memory(mail) -> str:
    """The path of the link in a mail of the memory backend (BASE_URL is the default)."""
    (url,) = LINK.findall(mail.get_content())
    return url.removeprefix("http://127.0.0.1:8000")


def test_a_reset_ends_other_sessions_and_unlocks_the_account(app, client, user):
    other_device = app.test_client()
    login(other_device, user)
    for _ in range(5):
        login_with_form(client, user.email, "wrong password")
    assert "Too many failed attempts" in login_with_form(client, user.email).get_data(as_text=True)
    ask_for_reset(client, user.email)
    path = link_in_memory(mail_outbox(app)[0])

    csrf_post(client, path, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})

    assert other_device.get("/account/settings").status_code == 302
    # The account is unlocked; this client's address stays limited for its own failures.
    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "198.51.100.3"
    assert login_with_form(elsewhere, user.email, NEW_PASSWORD).status_code == 302
    assert stored(app, user.email).email_verified  # the link proved the mailbox


RESET_VALIDATION = [
    ({"password": "short", "confirm": "short"}, "Use at least 10 characters."),
    (
        {"password": NEW_PASSWORD, "confirm": "different passphrase"},
        "The two passwords are not the same.",
    ),
    ({"password": "", "confirm": ""}, "Choose a password."),
]


@pytest.mark.parametrize(("data", "message"), RESET_VALIDATION)
def test_reset_form_errors_show_again_and_keep_the_link_usable(app, client, user, data, message):
    ask_for_reset(client, user.email)
    path = link_in_memory(mail_outbox(app)[0])

    response = csrf_post(client, path, data)

    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert client.get(path).status_code == 200


FORGOT_VALIDATION = [
    ({"email": ""}, "Enter your e-mail address."),
    ({"email": "nope"}, "Enter a valid e-mail address."),
]


@pytest.mark.parametrize(("data", "message"), FORGOT_VALIDATION)
def test_forgot_password_form_errors(client, data, message):
    response = csrf_post(client, "/auth/forgot", data)

    assert response.status_code == 400 and message in response.get_data(as_text=True)


def test_reset_requests_are_rate_limited_per_address_typed(app, client, user):
    app.config["RESET_REQUEST_LIMIT"] = "2 per hour"
    for number in range(2):
        client.environ_base["REMOTE_ADDR"] = f"203.0.113.{number + 1}"
        assert ask_for_reset(client, user.email).status_code == 200
    client.environ_base["REMOTE_ADDR"] = "203.0.113.9"

    assert ask_for_reset(client, user.email).status_code == 429
    assert len(mail_outbox(app)) == 2


def test_a_mail_server_that_is_down_changes_no_answer(app, client, user, caplog):
    app.config.update(
        {"MAIL_BACKEND": "smtp", "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": 9, "MAIL_TIMEOUT": 2}
    )

    response = ask_for_reset(client, user.email)

    assert response.status_code == 200
    assert "If <strong>" in response.get_data(as_text=True)
    assert "mail not sent" in caplog.text and "/auth/reset/" not in caplog.text
