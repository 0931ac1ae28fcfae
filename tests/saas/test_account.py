"""The account pages: settings, password, e-mail, other devices, deletion and the data export."""

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from saas.extensions import db
from saas.models import AuditLog, Bot, Trade, TradingPair, User
from tests.fixtures.database import DEFAULT_PASSWORD, gen_bot, gen_pair, gen_user
from tests.fixtures.web import csrf_post, login, login_with_form, mail_outbox

NEW_PASSWORD = "a different passphrase"
ACCOUNT_PAGES = [
    "/account/settings",
    "/account/password",
    "/account/email",
    "/account/two-factor",
    "/account/sessions",
    "/account/delete",
    "/account/export",
]


def last_audit(app) -> AuditLog:
    """The newest audit row."""
    with app.app_context():
        row = db.session.scalar(select(AuditLog).order_by(AuditLog.id.desc()).limit(1))
        db.session.expunge(row)
        return row


def stored(app, user_id) -> User | None:
    """The user row now."""
    with app.app_context():
        user = db.session.get(User, user_id)
        if user is not None:
            db.session.expunge(user)
        return user


@pytest.mark.parametrize("url", ACCOUNT_PAGES)
def test_account_pages_send_anonymous_visitors_to_login(client, url):
    response = client.get(url)

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login?next=")


@pytest.mark.parametrize("url", ACCOUNT_PAGES)
def test_account_pages_open_for_the_logged_in_user(logged_in, url):
    assert logged_in.get(url).status_code == 200


def test_the_settings_page_shows_the_account(logged_in, user):
    page = logged_in.get("/account/settings").get_data(as_text=True)

    assert user.email in page
    assert "Two-factor sign-in" in page and "off" in page
    assert "free" in page


# -- password ----------------------------------------------------------------------------------


def change_password(client, current=DEFAULT_PASSWORD, new=NEW_PASSWORD, confirm=None):
    """Submit the change-password form."""
    return csrf_post(
        client,
        "/account/password",
        {
            "current_password": current,
            "password": new,
            "confirm": new if confirm is None else confirm,
        },
    )


def test_changing_the_password_keeps_this_device_and_logs_out_the_others(app, logged_in, user):
    other_device = app.test_client()
    login(other_device, user)

    response = change_password(logged_in)

    assert response.status_code == 302 and response.headers["Location"] == "/account/settings"
    assert logged_in.get("/account/settings").status_code == 200
    assert other_device.get("/account/settings").status_code == 302
    row = last_audit(app)
    assert (row.action, row.user_id, row.ip) == ("password_changed", user.id, "127.0.0.1")
    assert row.after == {"password_changed": True}
    assert login_with_form(app.test_client(), user.email, NEW_PASSWORD).status_code == 302
    (notice,) = mail_outbox(app)
    assert notice["Subject"] == "Your dcabot password was changed"


def test_a_remember_me_cookie_from_before_the_change_stops_working(app, client, user):
    old_device = app.test_client()
    login_with_form(old_device, user.email, remember="y")
    remember = old_device.get_cookie("remember_token").value
    login(client, user)
    change_password(client)

    thief = app.test_client()
    thief.set_cookie("remember_token", remember)

    assert thief.get("/account/settings").status_code == 302


PASSWORD_ERRORS = [
    ({"current": "wrong password"}, "Your current password is not right."),
    ({"current": ""}, "Enter your current password."),
    ({"new": "short"}, "Use at least 10 characters."),
    ({"confirm": "not the same one"}, "The two passwords are not the same."),
]


@pytest.mark.parametrize(("fields", "message"), PASSWORD_ERRORS)
def test_password_form_errors_show_again_and_change_nothing(app, logged_in, user, fields, message):
    before = stored(app, user.id).password_hash

    response = change_password(logged_in, **fields)

    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert stored(app, user.id).password_hash == before


# -- e-mail ------------------------------------------------------------------------------------


def change_email(client, email="moved@example.com", password=DEFAULT_PASSWORD):
    """Submit the change-e-mail form."""
    return csrf_post(client, "/account/email", {"email": email, "current_password": password})


def test_changing_the_email_needs_a_new_confirmation_and_tells_the_old_address(
    app, logged_in, user
):
    response = change_email(logged_in, "Moved@Example.com")

    assert response.status_code == 302
    now = stored(app, user.id)
    assert (now.email, now.email_verified) == ("moved@example.com", False)
    confirm, notice = mail_outbox(app)
    assert confirm["To"] == "moved@example.com" and "/auth/verify/" in confirm.get_content()
    assert notice["To"] == user.email and "moved@example.com" in notice.get_content()
    row = last_audit(app)
    assert row.action == "email_changed"
    assert (row.before, row.after) == ({"email": user.email}, {"email": "moved@example.com"})


def test_a_verification_link_for_the_old_address_stops_working(app, logged_in, user):
    from saas.services.accounts.tokens import email_verification_token

    with app.app_context():
        old_token = email_verification_token(app.secret_key, db.session.get(User, user.id))
    change_email(logged_in)

    assert logged_in.get(f"/auth/verify/{old_token}").status_code == 400


EMAIL_ERRORS = [
    ({"password": "wrong password"}, "Your current password is not right."),
    ({"email": "not an address"}, "Enter a valid e-mail address."),
    ({"email": "taken@example.com"}, "That address cannot be used."),
]


@pytest.mark.parametrize(("fields", "message"), EMAIL_ERRORS)
def test_email_form_errors_show_again_and_change_nothing(
    app, logged_in, user, user_factory, fields, message
):
    user_factory(email="taken@example.com")

    response = change_email(logged_in, **fields)

    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert stored(app, user.id).email == user.email
    assert mail_outbox(app) == []


def test_wrong_current_passwords_are_rate_limited(app, logged_in):
    app.config["REAUTH_LIMIT"] = "3 per 15 minutes"
    for _ in range(3):
        assert change_email(logged_in, password="wrong password").status_code == 400

    assert change_email(logged_in).status_code == 429


# -- other devices -----------------------------------------------------------------------------


def test_logging_out_other_devices(app, logged_in, user):
    other_device = app.test_client()
    login(other_device, user)

    wrong = csrf_post(logged_in, "/account/sessions", {"current_password": "wrong password"})
    assert wrong.status_code == 400 and other_device.get("/account/settings").status_code == 200
    done = csrf_post(logged_in, "/account/sessions", {"current_password": DEFAULT_PASSWORD})

    assert done.status_code == 302
    assert other_device.get("/account/settings").status_code == 302
    assert logged_in.get("/account/settings").status_code == 200
    assert login_with_form(app.test_client(), user.email).status_code == 302
    assert last_audit(app).action == "login"


# -- deletion ----------------------------------------------------------------------------------


def owned_things(app, user):
    """A bot with keys, a pair and a trade of ``user``; and someone else's bot."""
    with app.app_context():
        owner = db.session.get(User, user.id)
        bot = gen_bot(
            db.session,
            owner,
            exchange="bybit",
            api_key="KEY-ABCD1234",
            api_secret="SECRET-XYZ987654",
        )
        pair = gen_pair(db.session, bot)
        db.session.add(
            Trade(
                bot_id=bot.id,
                pair_id=pair.id,
                client_order_id="b1-p1-1-1",
                time=datetime(2026, 3, 2, tzinfo=UTC),
                symbol="BTCUSDT",
                side="Long",
                action="OPEN",
                qty=Decimal("0.01"),
                price=Decimal("30000.5"),
            )
        )
        stranger = gen_user(db.session, "stranger@example.com")
        other = gen_bot(db.session, stranger, name="not yours")
        gen_pair(db.session, other)
        db.session.commit()
        return bot.id, other.id


def test_deleting_the_account_removes_it_and_everything_it_owns(app, logged_in, user):
    bot_id, other_id = owned_things(app, user)

    response = csrf_post(
        logged_in, "/account/delete", {"current_password": DEFAULT_PASSWORD, "understood": "y"}
    )

    assert response.status_code == 302 and response.headers["Location"] == "/auth/login"
    assert stored(app, user.id) is None
    with app.app_context():
        assert db.session.get(Bot, bot_id) is None
        assert db.session.scalar(select(func.count(TradingPair.id))) == 1  # the stranger's
        assert db.session.scalar(select(func.count(Trade.id))) == 0
        assert db.session.get(Bot, other_id) is not None
        row = db.session.scalar(select(AuditLog).where(AuditLog.action == "account_deleted"))
        assert (row.user_id, row.target_type, row.target_id) == (None, "user", user.id)
    assert logged_in.get("/account/settings").status_code == 302


def test_deleting_works_on_postgresql_too(pg_app):
    """The cascade is the database's: check it where production runs."""
    client = pg_app.test_client()
    with pg_app.app_context():
        owner = gen_user(db.session, "leaving@example.com")
        gen_pair(db.session, gen_bot(db.session, owner))
        db.session.commit()
        owner_id = owner.id
    login(client, owner_id)

    csrf_post(client, "/account/delete", {"current_password": DEFAULT_PASSWORD, "understood": "y"})

    with pg_app.app_context():
        assert db.session.get(User, owner_id) is None
        assert db.session.scalar(select(func.count(Bot.id))) == 0


DELETE_ERRORS = [
    ({"current_password": "wrong password", "understood": "y"}, "Your password is not right."),
    ({"current_password": DEFAULT_PASSWORD}, "Tick the box to confirm."),
]


@pytest.mark.parametrize(("data", "message"), DELETE_ERRORS)
def test_deletion_needs_the_password_and_the_tick(app, logged_in, user, data, message):
    response = csrf_post(logged_in, "/account/delete", data)

    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert stored(app, user.id) is not None


# -- export ------------------------------------------------------------------------------------


def test_the_export_is_a_json_download_of_bots_pairs_and_trades(app, logged_in, user):
    bot_id, other_id = owned_things(app, user)

    response = logged_in.get("/account/export")

    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    data = json.loads(response.get_data(as_text=True))
    assert data["account"]["email"] == user.email
    (bot,) = data["bots"]
    assert bot["id"] == bot_id and bot["has_api_keys"] is True
    assert [p["symbol"] for p in bot["pairs"]] == ["BTCUSDT"]
    assert bot["trades"][0]["price"] == "30000.5"
    assert other_id not in [b["id"] for b in data["bots"]]
    assert last_audit(app).action == "data_exported"
