"""The app core: the factory, its settings, every route public by design or behind the login,
the first start (admin and demo bot) and `make run`'s server with its background runner."""

import os
import re
import signal
import socket
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from http.cookiejar import CookieJar
from pathlib import Path

import pytest
from sqlalchemy import select

import saas
from saas import create_app
from saas.config import Config, ConfigError, TestConfig, check_rate_limit_storage
from saas.demo import DEMO_BOT_NAME, first_start
from saas.extensions import db
from saas.models import Bot, BotRun, User
from saas.services.bots.lifecycle import start_bot
from tests.fixtures.web import csrf_token, login

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 4, 1, tzinfo=UTC)
# Reachable without logging in, on purpose: signing in and its mailed links, health checks.
PUBLIC_ENDPOINTS = {
    "static",
    "index",
    "auth.login",
    "auth.register",
    "auth.forgot_password",
    "auth.reset_password",
    "auth.verify_email",
    "auth.two_factor",
    "ops.healthz",
    "ops.metrics",
    "billing.pricing",  # the plans and prices, shown before anyone signs up
    "billing.webhook",  # Stripe's calls, authenticated by their signature instead
    "dashboard.plotly_js",
    "dashboard.plotly_stylesheet",  # plotly's own files, static like /static
    "notifications.unsubscribe",  # the link in a mail, authenticated by its signature
    "notifications.telegram_webhook",  # Telegram's calls, authenticated by the secret header
    "api.openapi_json",  # the API's description and its reference page
    "api.docs_page",
}
# The REST API takes a bearer token, never a login: anonymous callers get a 401 problem.
TOKEN_PREFIX = "api."
SAMPLE_VALUES = {"int": "1", "path": "app.css", "default": "sample"}


def sample_path(rule) -> str:
    """A URL of ``rule`` with every variable filled in."""

    def fill(match):
        converter = match.group(1) or "default"
        return SAMPLE_VALUES.get(converter, "sample")

    return re.sub(r"<(?:(\w+)(?:\([^)]*\))?:)?\w+>", fill, rule.rule)


def test_create_app_with_the_test_config_binds_every_extension(app):
    assert app.config["TESTING"] is True
    assert app.config["WTF_CSRF_ENABLED"] is True  # tests post the token, like browsers
    assert app.config["RATELIMIT_STORAGE_URI"] == "memory://"
    for name in ("sqlalchemy", "csrf", "limiter"):
        assert name in app.extensions
    assert app.login_manager.login_view == "auth.login"
    assert app.login_manager.session_protection == "strong"
    assert {"auth", "account"} <= set(app.blueprints)
    assert "ops.healthz" in app.view_functions


def test_the_test_config_keeps_mail_in_memory_and_a_fixed_secret():
    config = TestConfig()

    assert (config.MAIL_BACKEND, config.SECRET_KEY, config.ENV) == (
        "memory",
        "test-secret-key",
        "test",
    )
    assert config.ENCRYPTION_KEY


def test_public_allow_list_names_real_endpoints(app):
    assert PUBLIC_ENDPOINTS - set(app.view_functions) == set()


def routes_to_check(app):
    """(endpoint, method, path) of every route that is not public by design."""
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC_ENDPOINTS or rule.endpoint.startswith(TOKEN_PREFIX):
            continue
        for method in sorted(rule.methods & {"GET", "POST"}):
            yield rule.endpoint, method, sample_path(rule)


def test_every_other_api_route_requires_a_token(app, client):
    checked = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith(TOKEN_PREFIX) or rule.endpoint in PUBLIC_ENDPOINTS:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(sample_path(rule), method=method)
            assert response.status_code == 401, f"{method} {rule.rule}"
            assert response.mimetype == "application/problem+json"
            checked.append(rule.endpoint)
    assert {"api.list_bots", "api.delete_bot"} <= set(checked)


def test_every_other_route_requires_login(app, client):
    token = csrf_token(client, "/auth/login")
    checked = []
    for endpoint, method, path in routes_to_check(app):
        data = {"csrf_token": token} if method == "POST" else None
        response = client.open(path, method=method, data=data)
        location = response.headers.get("Location", "")
        assert response.status_code == 302 and location.startswith("/auth/login"), (
            f"{method} {path} ({endpoint}) answered {response.status_code} {location!r} to an "
            "anonymous visitor: add @login_required, or the allow-list in this test"
        )
        checked.append(endpoint)
    assert {"account.settings", "account.export", "auth.logout"} <= set(checked)


def test_json_callers_get_a_401_instead_of_the_login_page(app, client):
    for endpoint, method, path in routes_to_check(app):
        if method != "GET":
            continue
        response = client.get(path, headers={"Accept": "application/json"})
        assert response.status_code == 401, f"GET {path} ({endpoint})"
        assert response.get_json()["status"] == 401


def test_the_start_page_sends_visitors_to_login_and_users_to_their_dashboard(app, client, user):
    assert client.get("/").headers["Location"] == "/auth/login"
    login(client, user)

    starts = [("dashboard.index", "/dashboard/"), ("bots.index", "/bots/")]
    expected = next(
        (path for endpoint, path in starts if endpoint in app.view_functions), "/account/settings"
    )
    assert client.get("/").headers["Location"] == expected


# -- settings ----------------------------------------------------------------------------------


def production_env(**extra) -> dict:
    """A production environment on in-memory SQLite."""
    return {"DCABOT_ENV": "production", "DATABASE_URL": "sqlite://", **extra}


def test_production_refuses_to_start_without_a_secret_key():
    with pytest.raises(ConfigError, match="SECRET_KEY is not set"):
        create_app(Config(production_env()))


def test_production_is_the_default_and_sets_secure_cookies():
    config = Config({"DATABASE_URL": "sqlite://", "SECRET_KEY": "x" * 64})

    assert config.ENV == "production"
    assert config.SESSION_COOKIE_SECURE and config.REMEMBER_COOKIE_SECURE
    assert config.SESSION_COOKIE_HTTPONLY and config.SESSION_COOKIE_SAMESITE == "Lax"
    assert config.TRUSTED_PROXIES == 1  # nginx in front (deploy/)
    assert config.MAIL_BACKEND == "smtp"


def test_development_keeps_cookies_usable_over_plain_http():
    config = Config({"DATABASE_URL": "sqlite://", "DCABOT_ENV": "development"})

    assert not config.SESSION_COOKIE_SECURE
    assert config.MAIL_BACKEND == "console" and config.TRUSTED_PROXIES == 0


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DCABOT_ENV": "staging"}, "DCABOT_ENV must be one of"),
        ({"MAIL_BACKEND": "pigeon"}, "MAIL_BACKEND must be smtp, console or memory"),
        ({"MAIL_PORT": "twenty-five"}, "MAIL_PORT must be a whole number"),
    ],
)
def test_bad_settings_are_named(env, message):
    with pytest.raises(ConfigError, match=message):
        Config({"DATABASE_URL": "sqlite://", **env})


def test_mail_settings_come_from_the_environment():
    config = Config(
        {
            "DATABASE_URL": "sqlite://",
            "MAIL_SERVER": "smtp.example.com",
            "MAIL_PORT": "587",
            "MAIL_USE_TLS": "true",
            "MAIL_USERNAME": "bot",
            "MAIL_DEFAULT_SENDER": "Bots <bots@example.com>",
            "BASE_URL": "https://bots.example.com/",
        }
    )

    assert (config.MAIL_SERVER, config.MAIL_PORT, config.MAIL_USE_TLS) == (
        "smtp.example.com",
        587,
        True,
    )
    assert config.BASE_URL == "https://bots.example.com"


def test_the_env_file_is_read_and_the_real_environment_wins(tmp_path, monkeypatch):
    (tmp_path / ".env").write_text("BASE_URL=https://from-file.example\nMAIL_PORT=2525\n")
    monkeypatch.setattr(saas, "ROOT", tmp_path)
    monkeypatch.setenv("MAIL_PORT", "26")

    env = saas.environment()

    assert env["BASE_URL"] == "https://from-file.example" and env["MAIL_PORT"] == "26"
    assert "BASE_URL" not in os.environ or os.environ["BASE_URL"] != env["BASE_URL"]


def test_maintenance_commands_work_without_a_secret_key():
    """The crontab's env file and key rotation need not carry SECRET_KEY."""
    env = {"PATH": os.environ["PATH"], "DCABOT_ENV": "production", "DATABASE_URL": "sqlite://"}
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "saas", "schema"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    assert "CREATE TABLE IF NOT EXISTS users" in result.stdout


# -- first start -------------------------------------------------------------------------------


def test_first_start_creates_an_admin_with_a_printed_password_and_a_demo_bot(app):
    with app.app_context():
        start = first_start(db.session, {}, now=NOW)
        db.session.commit()
        admin = db.session.scalar(select(User))
        (bot,) = db.session.scalars(select(Bot))
        pairs = [(p.symbol, p.side) for p in bot.pairs]

        assert start.created and start.admin_email == "admin@example.com"
        assert admin.is_admin and admin.email_verified and admin.plan_override == "enterprise"
        assert len(start.generated_password) >= 12
        assert (bot.name, bot.exchange, bot.status) == (DEMO_BOT_NAME, "paper", "stopped")
        assert bot.user_id == admin.id and pairs == [("BTCUSDT", "Long")]
        assert bot.api_key_encrypted is None


def test_the_printed_password_logs_in(app, client):
    with app.app_context():
        start = first_start(db.session, {}, now=NOW)
        db.session.commit()
    from tests.fixtures.web import login_with_form

    assert login_with_form(client, start.admin_email, start.generated_password).status_code == 302


def test_first_start_uses_admin_email_and_password_and_runs_once(app):
    env = {"ADMIN_EMAIL": "Ops@Example.org", "ADMIN_PASSWORD": "chosen by the operator"}
    with app.app_context():
        first = first_start(db.session, env, now=NOW)
        db.session.commit()
        again = first_start(db.session, env, now=NOW)

        assert (first.admin_email, first.generated_password) == ("ops@example.org", None)
        assert (again.created, again.admin_email, again.demo_bot_id) == (
            False,
            "ops@example.org",
            None,
        )
        assert len(db.session.scalars(select(User)).all()) == 1


# -- make run ----------------------------------------------------------------------------------


def test_dev_environment_keeps_its_secrets_in_a_keys_folder(tmp_path):
    from saas.devserver import dev_environment

    first = dev_environment({}, tmp_path)
    second = dev_environment({}, tmp_path)

    assert first["SECRET_KEY"] == second["SECRET_KEY"]
    assert first["ENCRYPTION_KEY"] == second["ENCRYPTION_KEY"]
    for name in ("secret_key", "encryption_key"):
        assert stat.S_IMODE((tmp_path / "keys" / name).stat().st_mode) == 0o600
    assert (first["DCABOT_ENV"], first["MAIL_BACKEND"]) == ("development", "console")
    assert dev_environment({"SECRET_KEY": "given"}, tmp_path)["SECRET_KEY"] == "given"


def test_the_background_runner_runs_the_started_demo_bot(tmp_path, sqlite_url):
    """make run trades with no cron: one runner pass runs a due bot in its own process."""
    from saas.devserver import BackgroundRunner, dev_environment, prepare

    env = dev_environment({"DATABASE_URL": sqlite_url, "PATH": os.environ["PATH"]}, tmp_path)
    app, start = prepare(env, now=datetime.now(UTC))
    try:
        with app.app_context():
            bot = db.session.get(Bot, start.demo_bot_id)
            start_bot(db.session, bot, now=datetime.now(UTC))
            db.session.commit()

        summary = BackgroundRunner(env).run_pass()

        with app.app_context():
            (run,) = db.session.scalars(select(BotRun)).all()
            bot = db.session.get(Bot, start.demo_bot_id)
            assert summary["claimed"] == 1
            assert run.outcome == "ok" and bot.last_outcome == "ok"
            assert bot.next_run_at is not None
    finally:
        with app.app_context():
            db.engine.dispose()


def free_port() -> int:
    """A free loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process, seconds: float = 30) -> None:
    """Until something accepts connections on ``port``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server exited: {process.stdout.read()}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError("the server did not start")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """Keep 302s visible."""

    def redirect_request(self, *args, **kwargs):
        return None


def test_the_dev_server_serves_the_printed_login_and_stops_on_sigterm(tmp_path):
    port = free_port()
    env = {
        "PATH": os.environ["PATH"],
        "DATABASE_URL": f"sqlite:///{tmp_path / 'dev.sqlite'}",
        "SECRET_KEY": "dev-test",
        "ENCRYPTION_KEY": TestConfig().ENCRYPTION_KEY,
        "RUNNER_STATE_FILE": str(tmp_path / "state.json"),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "saas.devserver", "--port", str(port), "--no-runner"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_for_port(port, process)
        base = f"http://127.0.0.1:{port}"
        jar = CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect)
        with opener.open(f"{base}/auth/login", timeout=10) as answer:
            page = answer.read().decode()
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        banner = []
        while not any("password" in line for line in banner):
            banner.append(process.stdout.readline())
        password = re.search(r"with password (\S+)", "".join(banner)).group(1)
        form = urllib.parse.urlencode(
            {"csrf_token": token, "email": "admin@example.com", "password": password}
        ).encode()
        with pytest.raises(urllib.error.HTTPError) as redirect:
            opener.open(f"{base}/auth/login", data=form, timeout=10)
        redirect.value.close()
        assert redirect.value.code == 302 and redirect.value.headers["Location"] == "/"
        with opener.open(f"{base}/account/settings", timeout=10) as settings:
            assert settings.status == 200 and "admin@example.com" in settings.read().decode()
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0
    assert "dcabot web app stopped" in output


# -- rate-limit storage ------------------------------------------------------------------------


def test_production_refuses_per_worker_rate_limits_with_several_workers():
    env = production_env(SECRET_KEY="x" * 64, DCABOT_WEB_WORKERS="3")

    with pytest.raises(ConfigError, match="RATELIMIT_STORAGE_URI is memory:// but 3 web workers"):
        create_app(Config(env))


def test_memory_storage_is_fine_with_one_worker_or_outside_production():
    check_rate_limit_storage("production", "memory://", 1)
    check_rate_limit_storage("production", "redis://127.0.0.1:6379/0", 9)
    check_rate_limit_storage("development", "memory://", 9)
    with pytest.raises(ConfigError):
        check_rate_limit_storage("production", "memory://", 2)


def test_gunicorn_refuses_to_start_several_workers_on_memory_storage(tmp_path):
    """The shipped gunicorn settings stop at once with one line, before any worker starts."""
    root = Path(__file__).resolve().parents[2]
    env = {
        "PATH": os.environ["PATH"],
        "DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite'}",
        "SECRET_KEY": "x" * 64,
        "DCABOT_ENV": "production",
        "RATELIMIT_STORAGE_URI": "memory://",
        "GUNICORN_WORKERS": "3",
        "GUNICORN_BIND": f"unix:{tmp_path / 'g.sock'}",
    }
    done = subprocess.run(
        [str(root / ".venv" / "bin" / "gunicorn"), "--config", "deploy/gunicorn.conf.py"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode != 0
    assert "RATELIMIT_STORAGE_URI is memory:// but 3 web workers" in done.stderr
