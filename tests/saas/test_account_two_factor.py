"""Two-factor sign-in: set-up with a QR code, the second login step, recovery codes, turning off."""

import base64
import re
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from sqlalchemy import select

from saas.extensions import db
from saas.models import AuditLog, User
from tests.fixtures.database import DEFAULT_PASSWORD
from tests.fixtures.web import csrf_post, login, login_with_form

START = datetime(2026, 7, 1, 10, 0, 0, tzinfo=UTC)


def setup_page(client) -> tuple[str, str]:
    """(page, secret shown for manual entry) of the set-up page."""
    page = client.get("/account/two-factor").get_data(as_text=True)
    secret = re.search(r'<p class="secret">([A-Z2-7]+)</p>', page).group(1)
    return page, secret


def turn_on(client, at: datetime = START) -> tuple[str, list[str]]:
    """Set two-factor up; (secret, recovery codes)."""
    _, secret = setup_page(client)
    page = csrf_post(client, "/account/two-factor", {"code": pyotp.TOTP(secret).at(at)}).get_data(
        as_text=True
    )
    codes = re.findall(r"<li>([a-z2-9]{5}-[a-z2-9]{5})</li>", page)
    assert len(codes) == 10, page
    return secret, codes


@pytest.fixture
def two_factor_user(app, client, user, time_machine):
    """``user`` with two-factor on (set up at START); yields (user, secret, codes); logged out."""
    time_machine.move_to(START, tick=False)
    login(client, user)
    secret, codes = turn_on(client)
    client.delete_cookie("session")
    return user, secret, codes


def audit_actions(app, user_id) -> list[str]:
    """The user's audit trail."""
    with app.app_context():
        return list(
            db.session.scalars(
                select(AuditLog.action).where(AuditLog.user_id == user_id).order_by(AuditLog.id)
            )
        )


def is_logged_in(client) -> bool:
    """Whether the account page opens."""
    return client.get("/account/settings").status_code == 200


def test_the_set_up_page_shows_a_qr_code_as_an_svg_data_uri(logged_in, user):
    page, secret = setup_page(logged_in)

    found = re.search(r'<img class="qr" src="data:image/svg\+xml;base64,([^"]+)"', page)
    svg = base64.b64decode(found.group(1)).decode()
    assert svg.startswith("<?xml") and "<svg" in svg and "<script" not in svg
    assert len(secret) == 32


def test_reloading_the_set_up_page_keeps_the_same_secret(logged_in):
    assert setup_page(logged_in)[1] == setup_page(logged_in)[1]


def test_the_secret_in_the_session_is_encrypted(logged_in):
    _, secret = setup_page(logged_in)

    with logged_in.session_transaction() as session:
        assert secret not in str(dict(session))


def test_a_right_code_turns_it_on_and_shows_recovery_codes_once(app, client, user, time_machine):
    time_machine.move_to(START, tick=False)  # before logging in: sessions are timestamped
    login(client, user)
    logged_in = client
    secret, codes = turn_on(logged_in)

    with app.app_context():
        stored = db.session.get(User, user.id)
        assert stored.totp_secret_encrypted and secret not in stored.totp_secret_encrypted
        assert not any(code in stored.totp_secret_encrypted for code in codes)
    assert audit_actions(app, user.id)[-1] == "totp_enabled"
    page = logged_in.get("/account/two-factor").get_data(as_text=True)
    assert "10 unused recovery codes" in page and secret not in page
    assert not any(code in page for code in codes)


@pytest.mark.parametrize("code", ["000000", "12345", "abcdef", ""])
def test_a_wrong_code_leaves_it_off(app, logged_in, user, code):
    response = csrf_post(logged_in, "/account/two-factor", {"code": code})

    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "That code is not right" in body or "Enter the code from your app." in body
    with app.app_context():
        assert db.session.get(User, user.id).totp_secret_encrypted is None


def test_login_asks_for_the_code_before_the_session_starts(client, two_factor_user, time_machine):
    user, secret, _ = two_factor_user
    time_machine.move_to(START + timedelta(minutes=2), tick=False)

    first = login_with_form(client, user.email)

    assert first.headers["Location"] == "/auth/two-factor"
    assert not is_logged_in(client)
    second = csrf_post(
        client, "/auth/two-factor", {"code": pyotp.TOTP(secret).at(START + timedelta(minutes=2))}
    )
    assert second.status_code == 302 and is_logged_in(client)


def test_a_code_is_accepted_only_once(app, client, two_factor_user, time_machine):
    user, secret, _ = two_factor_user
    at = START + timedelta(minutes=3)
    time_machine.move_to(at, tick=False)
    code = pyotp.TOTP(secret).at(at)
    login_with_form(client, user.email)
    csrf_post(client, "/auth/two-factor", {"code": code})
    csrf_post(client, "/auth/logout", token_from="/account/settings")

    login_with_form(client, user.email)
    replay = csrf_post(client, "/auth/two-factor", {"code": code})

    assert replay.status_code == 400 and not is_logged_in(client)
    assert audit_actions(app, user.id)[-1] == "totp_failed"


def test_a_recovery_code_signs_in_once(client, two_factor_user, time_machine):
    user, _, codes = two_factor_user
    time_machine.move_to(START + timedelta(minutes=5), tick=False)

    login_with_form(client, user.email)
    used = csrf_post(client, "/auth/two-factor", {"code": codes[0].upper().replace("-", " ")})
    assert used.status_code == 302
    start_page = client.get("/account/settings").get_data(as_text=True)
    assert "You signed in with a recovery code" in start_page
    assert "9 unused recovery codes" in client.get("/account/two-factor").get_data(as_text=True)
    csrf_post(client, "/auth/logout", token_from="/account/settings")

    login_with_form(client, user.email)
    again = csrf_post(client, "/auth/two-factor", {"code": codes[0]})

    assert again.status_code == 400 and not is_logged_in(client)


def test_the_second_step_expires_after_five_minutes(client, two_factor_user, time_machine):
    user, secret, _ = two_factor_user
    time_machine.move_to(START + timedelta(minutes=10), tick=False)
    login_with_form(client, user.email)

    later = START + timedelta(minutes=16)
    time_machine.move_to(later, tick=False)
    response = csrf_post(
        client, "/auth/two-factor", {"code": pyotp.TOTP(secret).at(later)}, token_from="/auth/login"
    )

    assert response.headers["Location"] == "/auth/login" and not is_logged_in(client)


def test_the_second_step_cannot_be_reached_without_the_password(client, two_factor_user):
    response = client.get("/auth/two-factor")

    assert response.status_code == 302 and response.headers["Location"] == "/auth/login"


def test_wrong_codes_are_throttled_without_locking_the_account(
    app, client, two_factor_user, time_machine
):
    user, secret, _ = two_factor_user
    at = START + timedelta(minutes=20)
    time_machine.move_to(at, tick=False)
    login_with_form(client, user.email)
    for _ in range(5):
        assert csrf_post(client, "/auth/two-factor", {"code": "000000"}).status_code == 400

    blocked = csrf_post(client, "/auth/two-factor", {"code": pyotp.TOTP(secret).at(at)})

    assert blocked.status_code == 429 and not is_logged_in(client)
    assert "account_locked" not in audit_actions(app, user.id)
    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "198.51.100.77"
    again = login_with_form(elsewhere, user.email)
    assert again.status_code == 302 and again.headers["Location"] == "/auth/two-factor"


def test_the_code_throttle_holds_without_the_rate_limit_storage(
    app, client, two_factor_user, time_machine
):
    """The second step's counter is a database row: clearing flask-limiter does not reset it."""
    from saas.extensions import limiter

    user, secret, _ = two_factor_user
    at = START + timedelta(minutes=25)
    time_machine.move_to(at, tick=False)
    login_with_form(client, user.email)
    for _ in range(5):
        csrf_post(client, "/auth/two-factor", {"code": "000000"})
    limiter.reset()

    response = csrf_post(
        client, "/auth/two-factor", {"code": pyotp.TOTP(secret).at(at)}, token_from="/auth/login"
    )

    assert response.headers["Location"] == "/auth/login" and not is_logged_in(client)


def test_turning_it_off_needs_the_password_and_a_code(app, client, two_factor_user, time_machine):
    user, secret, codes = two_factor_user
    at = START + timedelta(minutes=30)
    time_machine.move_to(at, tick=False)
    login(client, user)

    no_code = csrf_post(
        client,
        "/account/two-factor/disable",
        {"current_password": DEFAULT_PASSWORD, "code": "000000"},
    )
    no_password = csrf_post(
        client,
        "/account/two-factor/disable",
        {"current_password": "wrong password", "code": pyotp.TOTP(secret).at(at)},
    )
    assert no_code.status_code == no_password.status_code == 400
    assert "That code is not right." in no_code.get_data(as_text=True)
    assert "Your current password is not right." in no_password.get_data(as_text=True)

    done = csrf_post(
        client,
        "/account/two-factor/disable",
        {"current_password": DEFAULT_PASSWORD, "code": codes[3]},
    )

    assert done.status_code == 302
    with app.app_context():
        assert db.session.get(User, user.id).totp_secret_encrypted is None
    assert audit_actions(app, user.id)[-1] == "totp_disabled"
    client.delete_cookie("session")
    assert login_with_form(client, user.email).headers["Location"] == "/"


def test_new_recovery_codes_replace_the_old_ones(app, client, two_factor_user, time_machine):
    user, _, old_codes = two_factor_user
    time_machine.move_to(START + timedelta(minutes=40), tick=False)
    login(client, user)

    wrong = csrf_post(
        client, "/account/two-factor/recovery-codes", {"current_password": "wrong password"}
    )
    page = csrf_post(
        client, "/account/two-factor/recovery-codes", {"current_password": DEFAULT_PASSWORD}
    ).get_data(as_text=True)
    new_codes = re.findall(r"<li>([a-z2-9]{5}-[a-z2-9]{5})</li>", page)

    assert wrong.status_code == 400 and len(new_codes) == 10
    assert audit_actions(app, user.id)[-1] == "recovery_codes_regenerated"
    client.delete_cookie("session")
    login_with_form(client, user.email)
    assert csrf_post(client, "/auth/two-factor", {"code": old_codes[1]}).status_code == 400
    assert csrf_post(client, "/auth/two-factor", {"code": new_codes[1]}).status_code == 302


def test_a_password_change_during_the_second_step_voids_it(
    app, client, two_factor_user, time_machine
):
    user, secret, _ = two_factor_user
    at = START + timedelta(minutes=50)
    time_machine.move_to(at, tick=False)
    login_with_form(client, user.email)
    with app.app_context():
        from saas.security import hash_password

        db.session.get(User, user.id).password_hash = hash_password("changed elsewhere now")
        db.session.commit()

    response = csrf_post(client, "/auth/two-factor", {"code": pyotp.TOTP(secret).at(at)})

    assert response.headers["Location"] == "/auth/login" and not is_logged_in(client)


@pytest.mark.parametrize(
    "url", ["/account/two-factor/disable", "/account/two-factor/recovery-codes"]
)
def test_managing_two_factor_while_it_is_off_leads_to_the_set_up(logged_in, url):
    response = csrf_post(
        logged_in,
        url,
        {"current_password": DEFAULT_PASSWORD, "code": "1"},
        token_from="/account/settings",
    )

    assert response.status_code == 302 and response.headers["Location"] == "/account/two-factor"
