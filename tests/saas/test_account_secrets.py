"""No secret leaks: not in any rendered account page, not in a log line, not in the export,
not in the audit trail. One realistic session is scanned for every secret it handled."""

import json
import logging
import re
from datetime import UTC, datetime

import pyotp
import pytest
from sqlalchemy import select

from saas.extensions import db
from saas.models import AuditLog, Bot, User
from tests.fixtures.database import DEFAULT_PASSWORD, gen_bot
from tests.fixtures.web import csrf_post, login, login_with_form, mail_outbox

API_KEY = "LIVEKEY-7f3a9c2e1b"
API_SECRET = "LIVESECRET-0d4e8b6a5c2f"
NEW_PASSWORD = "the second passphrase"
START = datetime(2026, 8, 3, 12, 0, tzinfo=UTC)
ACCOUNT_PAGES = [
    "/account/settings",
    "/account/password",
    "/account/email",
    "/account/two-factor",
    "/account/sessions",
    "/account/delete",
]


@pytest.fixture
def session_transcript(app, client, user, caplog, time_machine):
    """Everything a user's session produced (pages, export, logs, audit rows) and its secrets."""
    time_machine.move_to(START, tick=False)
    caplog.set_level(logging.DEBUG)
    with app.app_context():
        owner = db.session.get(User, user.id)
        bot = gen_bot(db.session, owner, exchange="bybit", api_key=API_KEY, api_secret=API_SECRET)
        db.session.commit()
        encrypted = [bot.api_key_encrypted, bot.api_secret_encrypted]
    pages: dict[str, str] = {}

    def keep(name, response):
        pages[name] = response.get_data(as_text=True)
        return response

    keep("login", login_with_form(client, user.email))
    setup = client.get("/account/two-factor").get_data(as_text=True)
    totp_secret = re.search(r'<p class="secret">([A-Z2-7]+)</p>', setup).group(1)
    codes_page = csrf_post(
        client, "/account/two-factor", {"code": pyotp.TOTP(totp_secret).at(START)}
    ).get_data(as_text=True)
    codes = re.findall(r"<li>([a-z2-9]{5}-[a-z2-9]{5})</li>", codes_page)
    assert len(codes) == 10
    for path in ACCOUNT_PAGES:
        keep(path, client.get(path))
    keep(
        "wrong password",
        csrf_post(
            client,
            "/account/password",
            {
                "current_password": "a wrong guess here",
                "password": NEW_PASSWORD,
                "confirm": NEW_PASSWORD,
            },
        ),
    )
    keep(
        "password changed",
        csrf_post(
            client,
            "/account/password",
            {
                "current_password": DEFAULT_PASSWORD,
                "password": NEW_PASSWORD,
                "confirm": NEW_PASSWORD,
            },
            follow_redirects=True,
        ),
    )
    keep(
        "recovery failure",
        csrf_post(
            client,
            "/account/two-factor/disable",
            {"current_password": NEW_PASSWORD, "code": "123456"},
        ),
    )
    keep("export", client.get("/account/export"))
    csrf_post(client, "/auth/logout", token_from="/account/settings")
    keep(
        "two-factor login", login_with_form(client, user.email, NEW_PASSWORD, follow_redirects=True)
    )
    keep(
        "second step",
        csrf_post(client, "/auth/two-factor", {"code": codes[0]}, follow_redirects=True),
    )
    for path in ACCOUNT_PAGES:
        keep(f"after {path}", client.get(path))
    with app.app_context():
        audit = [
            json.dumps([row.action, row.before, row.after])
            for row in db.session.scalars(select(AuditLog))
        ]
        stored = db.session.get(User, user.id)
        hashes = [stored.password_hash, stored.totp_secret_encrypted]
    secrets = {
        "the old password": DEFAULT_PASSWORD,
        "the new password": NEW_PASSWORD,
        "the API key": API_KEY,
        "the API secret": API_SECRET,
        "the TOTP secret": totp_secret,
        "the encryption key": app.config["ENCRYPTION_KEY"],
        "the secret key": app.secret_key,
        **{f"recovery code {i}": code for i, code in enumerate(codes)},
        **{f"stored value {i}": value for i, value in enumerate(encrypted + hashes)},
    }
    return {
        "pages": pages,
        "logs": caplog.text,
        "audit": audit,
        "secrets": secrets,
        "mails": [m.get_content() for m in mail_outbox(app)],
    }


def find_secrets(text: str, secrets: dict) -> list[str]:
    """Names of the secrets ``text`` contains."""
    return [name for name, value in secrets.items() if value and value in text]


def test_the_transcript_is_real(session_transcript):
    """The session logged in with two-factor and the logs saw every request."""
    assert "Log out" in session_transcript["pages"]["after /account/settings"]
    assert "mail sent" in session_transcript["logs"]
    assert "Two-factor sign-in" in session_transcript["pages"]["after /account/settings"]
    assert json.loads(session_transcript["pages"]["export"])["bots"][0]["has_api_keys"]


def test_no_rendered_page_shows_a_secret(session_transcript):
    for name, page in session_transcript["pages"].items():
        assert find_secrets(page, session_transcript["secrets"]) == [], name


def test_no_log_line_holds_a_secret(session_transcript):
    assert find_secrets(session_transcript["logs"], session_transcript["secrets"]) == []


def test_the_export_holds_no_secret_and_no_key_column(session_transcript):
    export = session_transcript["pages"]["export"]

    assert find_secrets(export, session_transcript["secrets"]) == []
    for column in (
        "api_key_encrypted",
        "api_secret_encrypted",
        "password_hash",
        "totp_secret_encrypted",
    ):
        assert column not in export


def test_the_audit_trail_holds_no_secret(session_transcript):
    trail = "\n".join(session_transcript["audit"])

    assert find_secrets(trail, session_transcript["secrets"]) == []
    assert "totp_enabled" in trail and "password_changed" in trail


def test_mails_hold_no_password_or_key(session_transcript):
    for mail in session_transcript["mails"]:
        assert find_secrets(mail, session_transcript["secrets"]) == []


def test_the_audit_helper_redacts_secret_looking_fields(app, user):
    from saas.services.accounts.audit import record_audit

    with app.app_context():
        row = record_audit(
            user.id,
            "key_changed",
            target=("bot", 7),
            session=db.session,
            before={
                "api_key": "OLDKEY",
                "api_key_last4": "EKEY",
                "password": "x",
                "name": "my bot",
            },
            after={"api_secret": "NEW", "telegram_token": "T", "name": "bot"},
        )
        db.session.commit()

        assert row.before == {
            "api_key": "[redacted]",
            "api_key_last4": "EKEY",
            "password": "[redacted]",
            "name": "my bot",
        }
        assert row.after == {
            "api_secret": "[redacted]",
            "telegram_token": "[redacted]",
            "name": "bot",
        }
        assert (row.target_type, row.target_id, row.user_id) == ("bot", 7, user.id)


def test_a_bot_target_is_named_by_its_table(app, user):
    from saas.services.accounts.audit import record_audit

    with app.app_context():
        bot = gen_bot(db.session, db.session.get(User, user.id))
        row = record_audit(user.id, "bot_started", target=bot, session=db.session)

        assert (row.target_type, row.target_id) == ("bot", bot.id)
        assert isinstance(bot, Bot)


def test_logging_in_as_someone_else_shows_none_of_their_data(app, client, user, user_factory):
    other = user_factory(email="other@example.com")
    with app.app_context():
        gen_bot(
            db.session,
            db.session.get(User, other.id),
            exchange="bybit",
            api_key=API_KEY,
            api_secret=API_SECRET,
            name="other's bot",
        )
        db.session.commit()
    login(client, user)

    export = client.get("/account/export").get_data(as_text=True)

    assert json.loads(export)["bots"] == []
    assert "other@example.com" not in export and "other's bot" not in export
