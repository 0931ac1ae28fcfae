"""Security from the first page: headers and the strict CSP, no inline code, cookie flags,
session protection, the client address behind a proxy, and CSRF on every POST."""

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from saas import create_app
from saas.config import Config
from saas.extensions import db
from saas.models import AuditLog, User
from saas.web_security import CONTENT_SECURITY_POLICY
from tests.fixtures.database import DEFAULT_PASSWORD
from tests.fixtures.web import csrf_post, csrf_token, login, login_with_form

ROOT = Path(__file__).resolve().parents[2]
EXPECTED_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)
INLINE_CODE = [
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I), "an inline <script>"),
    (re.compile(r"<style\b", re.I), "a <style> block"),
    (re.compile(r"\sstyle\s*=", re.I), "a style= attribute"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "an on...= event handler"),
    (re.compile(r"javascript:", re.I), "a javascript: URL"),
]
ANONYMOUS_PAGES = ["/auth/login", "/auth/register", "/auth/forgot", "/no-such-page"]
USER_PAGES = [
    "/account/settings",
    "/account/password",
    "/account/email",
    "/account/two-factor",
    "/account/sessions",
    "/account/delete",
]


def fetch(client, path: str):
    """A GET whose body is read and whose file (static files) is closed."""
    response = client.get(path)
    response.get_data()
    response.close()
    return response


def test_the_policy_is_the_agreed_one():
    assert CONTENT_SECURITY_POLICY == EXPECTED_CSP


@pytest.mark.parametrize("path", ["/auth/login", "/static/app.css", "/no-such-page", "/healthz"])
def test_every_response_carries_the_security_headers(client, path):
    response = fetch(client, path)

    assert response.headers["Content-Security-Policy"] == EXPECTED_CSP
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "camera=()" in response.headers["Permissions-Policy"]
    # Not over plain HTTP (tests, development): HSTS is for production's HTTPS.
    assert "Strict-Transport-Security" not in response.headers


def test_production_answers_carry_hsts_from_the_app(production_app):
    response = production_app.test_client().get("/auth/login", base_url="https://bots.example.test")

    assert response.headers.getlist("Strict-Transport-Security") == ["max-age=63072000"]


def test_pages_are_not_cached_but_static_files_may_be(logged_in):
    assert logged_in.get("/account/settings").headers["Cache-Control"] == "no-store"
    assert fetch(logged_in, "/static/app.css").headers.get("Cache-Control") != "no-store"


def assert_no_inline_code(text: str, where: str) -> None:
    """Fail naming the first inline script, style or handler in ``text``."""
    for pattern, what in INLINE_CODE:
        found = pattern.search(text)
        assert found is None, f"{where} has {what}: {found.group(0)!r}"


@pytest.mark.parametrize(
    "template",
    sorted(str(p.relative_to(ROOT / "templates")) for p in (ROOT / "templates").rglob("*.html")),
)
def test_no_template_has_inline_scripts_or_styles(template):
    source = (ROOT / "templates" / template).read_text()
    without_comments = re.sub(r"\{#.*?#\}", "", source, flags=re.S)  # comments never render

    assert_no_inline_code(without_comments, template)


def test_rendered_pages_have_no_inline_code_and_load_only_our_files(client, user):
    pages = {path: client.get(path).get_data(as_text=True) for path in ANONYMOUS_PAGES}
    login(client, user)
    pages |= {path: client.get(path).get_data(as_text=True) for path in USER_PAGES}

    for path, page in pages.items():
        assert_no_inline_code(page, path)
        for url in re.findall(r'(?:src|href)="([^"#]+)"', page):
            assert url.startswith(("/", "data:")), f"{path} loads {url} from elsewhere"
    assert '<script src="/static/app.js" defer>' in pages["/auth/login"]
    assert '<link rel="stylesheet" href="/static/app.css">' in pages["/account/settings"]


def test_the_layout_works_on_a_phone(client):
    page = client.get("/auth/login").get_data(as_text=True)

    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    css = fetch(client, "/static/app.css").get_data(as_text=True)
    assert "@media (min-width:" in css and ".nav-toggle" in css


def test_flashed_messages_show_with_their_category(client, user):
    login_with_form(client, user.email)
    csrf_post(client, "/auth/logout", token_from="/account/settings")

    page = client.get("/auth/login").get_data(as_text=True)

    assert '<div class="flash flash-info">You are logged out.</div>' in page


# -- cookies -----------------------------------------------------------------------------------


@pytest.fixture
def production_app(sqlite_url, encryption_key):
    """The app configured as on a server (behind one proxy), on a SQLite file."""
    app = create_app(
        Config(
            {
                "DCABOT_ENV": "production",
                "DATABASE_URL": sqlite_url,
                "SECRET_KEY": "s" * 64,
                "ENCRYPTION_KEY": encryption_key,
            }
        )
    )
    app.config["RATELIMIT_STORAGE_URI"] = "memory://"
    yield app
    with app.app_context():
        db.engine.dispose()


def set_cookies(response) -> dict[str, str]:
    """Set-Cookie headers by cookie name."""
    return {value.split("=", 1)[0]: value for value in response.headers.getlist("Set-Cookie")}


def test_production_cookies_are_secure_http_only_and_same_site(production_app):
    with production_app.app_context():
        from tests.fixtures.database import gen_user

        gen_user(db.session, "prod@example.com")
        db.session.commit()
    client = production_app.test_client()
    base = {"base_url": "https://bots.example.test"}
    page = client.get("/auth/login", **base).get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)

    response = client.post(
        "/auth/login",
        data={
            "csrf_token": token,
            "email": "prod@example.com",
            "password": DEFAULT_PASSWORD,
            "remember": "y",
        },
        headers={"Referer": "https://bots.example.test/auth/login"},
        **base,
    )

    assert response.status_code == 302
    cookies = set_cookies(response)
    for name in ("session", "remember_token"):
        assert "; Secure" in cookies[name] and "; HttpOnly" in cookies[name]
        assert "; SameSite=Lax" in cookies[name]


def test_test_cookies_are_http_only_and_same_site_without_secure(client, user):
    response = login_with_form(client, user.email)

    cookie = set_cookies(response)["session"]
    assert "; HttpOnly" in cookie and "; SameSite=Lax" in cookie and "Secure" not in cookie


def test_behind_the_proxy_the_audit_records_the_forwarded_address(production_app):
    client = production_app.test_client()
    headers = {"X-Forwarded-For": "203.0.113.50", "X-Forwarded-Proto": "https"}
    page = client.get("/auth/login", headers=headers).get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)

    client.post(
        "/auth/login",
        data={"csrf_token": token, "email": "x@example.com", "password": "whatever it is"},
        headers={**headers, "Referer": "https://localhost/auth/login"},
    )

    with production_app.app_context():
        assert db.session.scalar(select(AuditLog.ip)) == "203.0.113.50"


def test_without_a_proxy_a_forged_forwarded_header_is_ignored(client, app):
    client.environ_base["HTTP_X_FORWARDED_FOR"] = "203.0.113.99"

    login_with_form(client, "x@example.com", "whatever it is")

    with app.app_context():
        assert db.session.scalar(select(AuditLog.ip)) == "127.0.0.1"


def test_a_session_moved_to_another_browser_is_dropped(logged_in):
    """Session protection "strong": a stolen cookie in another browser logs nobody in."""
    assert logged_in.get("/account/settings").status_code == 200
    logged_in.environ_base["HTTP_USER_AGENT"] = "SomethingElse/1.0"

    assert logged_in.get("/account/settings").status_code == 302


# -- CSRF --------------------------------------------------------------------------------------


def stored_email(app, user_id) -> str:
    """The user's address now."""
    with app.app_context():
        return db.session.get(User, user_id).email


def test_a_post_without_a_token_is_refused_and_changes_nothing(app, logged_in, user):
    response = logged_in.post(
        "/account/email",
        data={"email": "hijacked@example.com", "current_password": DEFAULT_PASSWORD},
    )

    assert response.status_code == 400
    assert "nothing was changed" in response.get_data(as_text=True)
    assert stored_email(app, user.id) == user.email


def test_a_token_of_another_session_is_refused_and_changes_nothing(app, logged_in, user):
    attacker = app.test_client()
    stolen = csrf_token(attacker, "/auth/login")

    response = logged_in.post(
        "/account/email",
        data={
            "csrf_token": stolen,
            "email": "hijacked@example.com",
            "current_password": DEFAULT_PASSWORD,
        },
    )

    assert response.status_code == 400
    assert stored_email(app, user.id) == user.email


def test_the_sessions_own_token_is_accepted(app, logged_in, user):
    response = csrf_post(
        logged_in,
        "/account/email",
        {"email": "moved@example.com", "current_password": DEFAULT_PASSWORD},
    )

    assert response.status_code == 302
    assert stored_email(app, user.id) == "moved@example.com"


def test_login_and_register_posts_need_a_token_too(app, client, user):
    login_attempt = client.post(
        "/auth/login", data={"email": user.email, "password": DEFAULT_PASSWORD}
    )
    register = client.post(
        "/auth/register",
        data={
            "email": "csrf@example.com",
            "password": "long enough password",
            "confirm": "long enough password",
        },
    )

    assert login_attempt.status_code == register.status_code == 400
    assert client.get("/account/settings").status_code == 302
    with app.app_context():
        assert db.session.scalar(select(User).where(User.email == "csrf@example.com")) is None


# Routes that authenticate their caller another way than a session and its CSRF token.
CSRF_EXEMPT = {
    "billing.webhook",  # Stripe signs every call (tests/saas/test_billing_webhooks.py)
    # Signed one-click links and Telegram's secret header (tests/saas/test_notifications_*.py).
    "notifications.unsubscribe",
    "notifications.telegram_webhook",
}
# The REST API takes bearer tokens only and never the cookie session (tests/saas/api/).
TOKEN_ONLY = "api."


def test_every_post_route_refuses_a_missing_token(app, logged_in):
    """Including the other blueprints' routes: CSRF is checked before any view runs."""
    posts = [
        rule
        for rule in app.url_map.iter_rules()
        if "POST" in rule.methods and rule.endpoint not in CSRF_EXEMPT
    ]
    assert posts
    for rule in posts:
        path = re.sub(r"<(?:int:)?\w+>", "1", rule.rule)
        response = logged_in.post(path, data={})
        # CSRF-exempt API routes refuse the logged-in cookie just as firmly: no token, a 401.
        expected = 401 if rule.endpoint.startswith(TOKEN_ONLY) else 400
        assert response.status_code == expected, f"POST {path} ({rule.endpoint})"
