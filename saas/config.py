"""The web app's settings, read from the environment when a Config is made (tests pass theirs)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from datetime import timedelta

from saas.db import database_url, engine_options, normalize_url

PRODUCTION = "production"
DEVELOPMENT = "development"
TEST = "test"
ENVIRONMENTS = (PRODUCTION, DEVELOPMENT, TEST)
DEFAULT_BASE_URL = "http://127.0.0.1:8000"
TRUE_WORDS = ("1", "true", "yes", "on", "t", "y")

# What each plan may do comes from saas/plans.py (the operator's plans file or its defaults);
# None here means "read the plan table", a dict given to create_app replaces it (tests).
PLAN_LIMITS = None


class ConfigError(ValueError):
    """A setting the web app cannot start with; the message is one line for the operator."""


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    """A yes/no setting; blank means the default."""
    raw = (env.get(name) or "").strip().lower()
    return default if not raw else raw in TRUE_WORDS


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    """A whole-number setting; blank means the default."""
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None


FLASK_ENV_NAMES = (PRODUCTION, DEVELOPMENT)
FALSE_WORDS = ("", "0", "false", "no", "off")


def environment_name(env: Mapping[str, str]) -> str:
    """DCABOT_ENV (production by default); FLASK_ENV and DEBUG are honoured or refused, never
    silently ignored: FLASK_ENV=development|production stands in for an unset DCABOT_ENV, and
    a true DEBUG is refused outside development (the debugger runs code for whoever sees it)."""
    chosen = (env.get("DCABOT_ENV") or "").strip().lower()
    flask_env = (env.get("FLASK_ENV") or "").strip().lower()
    if chosen and chosen not in ENVIRONMENTS:
        raise ConfigError(f"DCABOT_ENV must be one of {', '.join(ENVIRONMENTS)}, got {chosen!r}")
    if flask_env:
        if flask_env not in FLASK_ENV_NAMES or (chosen and chosen != flask_env):
            raise ConfigError(
                f"FLASK_ENV={flask_env} is not how dcabot is configured: remove it and set "
                f"DCABOT_ENV={chosen or 'production'} (one of {', '.join(ENVIRONMENTS)})"
            )
        chosen = chosen or flask_env
    chosen = chosen or PRODUCTION
    debug = (env.get("DEBUG") or "").strip().lower()
    if debug not in FALSE_WORDS and chosen != DEVELOPMENT:
        raise ConfigError(
            f"DEBUG={env.get('DEBUG')} is not read by dcabot: remove it, and set "
            "DCABOT_ENV=development for a local try-out (never on a server)"
        )
    return chosen


class Config:
    """Production and development settings; every value can come from the environment.

    DCABOT_ENV is production unless told otherwise: a server that forgot it still gets secure
    cookies and refuses to start without SECRET_KEY (create_app checks).
    """

    TESTING = False
    # Forms, sessions and cookies.
    WTF_CSRF_ENABLED = True
    WTF_CSRF_TIME_LIMIT = 4 * 3600
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_DURATION = timedelta(days=30)
    PERMANENT_SESSION_LIFETIME = timedelta(days=30)
    SESSION_PROTECTION = "strong"
    # Rate limits (flask-limiter strings); counted per client address unless noted.
    RATELIMIT_ENABLED = True
    RATELIMIT_STRATEGY = "moving-window"
    RATELIMIT_HEADERS_ENABLED = True
    # Sign-in throttle (saas.services.accounts.throttle; counters in the database): failed
    # attempts per (account, client address), per client address, and failures on an account
    # after which addresses it never signed in from get only LOGIN_SLOWED_MAX_FAILURES.
    LOGIN_MAX_FAILURES = 5
    LOGIN_ADDRESS_MAX_FAILURES = 20
    LOGIN_ACCOUNT_SLOWDOWN_FAILURES = 10
    LOGIN_SLOWED_MAX_FAILURES = 2
    LOGIN_KNOWN_ADDRESS_DAYS = 90
    LOGIN_WINDOW_MINUTES = 15
    LOGIN_LOCK_MINUTES = 15
    LOGIN_REQUEST_LIMIT = "30 per minute"  # every login POST, against floods
    REGISTER_LIMIT = "10 per hour"
    RESET_REQUEST_LIMIT = "5 per 15 minutes"
    RESET_LIMIT = "10 per 15 minutes"
    TOTP_LIMIT = "5 per 5 minutes"  # per half-logged-in user and per address
    RESEND_LIMIT = "3 per 15 minutes"  # per user
    REAUTH_LIMIT = "10 per 15 minutes"  # per user: forms that ask for the current password
    # Tokens sent by mail.
    EMAIL_VERIFY_MAX_AGE = 48 * 3600
    PASSWORD_RESET_MAX_AGE = 3600
    TWO_FACTOR_PENDING_MAX_AGE = 300
    PLAN_LIMITS = PLAN_LIMITS

    def __init__(self, env: Mapping[str, str] | None = None):
        env = os.environ if env is None else env
        self.ENV = environment_name(env)
        url = normalize_url(database_url(env))
        self.SQLALCHEMY_DATABASE_URI = url.render_as_string(hide_password=False)
        self.SQLALCHEMY_ENGINE_OPTIONS = engine_options(url)
        # Without SECRET_KEY, sessions last until the process restarts: fine for a first look,
        # refused in production (create_app).
        self.SECRET_KEY_GENERATED = not env.get("SECRET_KEY")
        self.SECRET_KEY = env.get("SECRET_KEY") or secrets.token_hex(32)
        self.ENCRYPTION_KEY = env.get("ENCRYPTION_KEY") or ""
        self.TELEGRAM_BOT_TOKEN = env.get("TELEGRAM_BOT_TOKEN") or ""
        # Links in mails are built from this, never from the request's Host header.
        self.BASE_URL = (env.get("BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        secure = self.ENV == PRODUCTION
        self.SESSION_COOKIE_SECURE = _flag(env, "SESSION_COOKIE_SECURE", secure)
        self.REMEMBER_COOKIE_SECURE = self.SESSION_COOKIE_SECURE
        self.PREFERRED_URL_SCHEME = "https" if self.SESSION_COOKIE_SECURE else "http"
        # Behind nginx the client address is in X-Forwarded-For; trust that many proxies.
        self.TRUSTED_PROXIES = _int(env, "TRUSTED_PROXIES", 1 if secure else 0)
        self.RATELIMIT_STORAGE_URI = env.get("RATELIMIT_STORAGE_URI") or "memory://"
        self.RATELIMIT_KEY_PREFIX = env.get("RATELIMIT_KEY_PREFIX") or ""
        # Sessions not asked to be remembered end after this many minutes without a request.
        self.SESSION_IDLE_MINUTES = _int(env, "SESSION_IDLE_MINUTES", 30)
        # How many processes serve the app (deploy/gunicorn.conf.py sets it for its workers).
        self.WEB_WORKERS = _int(env, "DCABOT_WEB_WORKERS", 1)
        # The address exchanges see this server connect from, shown to users who should
        # whitelist it on their API key (blank: the server's own address toward the exchange).
        self.EGRESS_IP = (env.get("EGRESS_IP") or "").strip()
        # Seconds a server may be ahead of or behind us on signed webhooks.
        self.WEBHOOK_TOLERANCE_SECONDS = _int(env, "WEBHOOK_TOLERANCE_SECONDS", 300)
        # Per-bot cron lines the web app keeps current on start and stop (saas.ops.cron_block).
        self.CRON_PER_BOT_TARGET = (env.get("CRON_PER_BOT_TARGET") or "").strip()
        self.CRON_PER_BOT_USER = (env.get("CRON_PER_BOT_USER") or "dcabot").strip()
        self._mail_settings(env)
        self._notification_settings(env)

    def _mail_settings(self, env: Mapping[str, str]) -> None:
        """MAIL_*: an SMTP server, or the console (development) or memory (tests) backend."""
        default_backend = "console" if self.ENV == DEVELOPMENT else "smtp"
        self.MAIL_BACKEND = (env.get("MAIL_BACKEND") or default_backend).strip().lower()
        if self.MAIL_BACKEND not in ("smtp", "console", "memory"):
            raise ConfigError(
                f"MAIL_BACKEND must be smtp, console or memory, got {self.MAIL_BACKEND!r}"
            )
        self.MAIL_SERVER = env.get("MAIL_SERVER") or "localhost"
        self.MAIL_PORT = _int(env, "MAIL_PORT", 25)
        self.MAIL_USERNAME = env.get("MAIL_USERNAME") or ""
        self.MAIL_PASSWORD = env.get("MAIL_PASSWORD") or ""
        self.MAIL_USE_TLS = _flag(env, "MAIL_USE_TLS", False)
        self.MAIL_USE_SSL = _flag(env, "MAIL_USE_SSL", False)
        self.MAIL_TIMEOUT = _int(env, "MAIL_TIMEOUT", 10)
        self.MAIL_DEFAULT_SENDER = env.get("MAIL_DEFAULT_SENDER") or "dcabot <noreply@localhost>"

    def _notification_settings(self, env: Mapping[str, str]) -> None:
        """Telegram linking, webhooks, delivery and operator alerts (docs/NOTIFICATIONS.md)."""
        self.TELEGRAM_API_BASE = env.get("TELEGRAM_API_BASE") or ""
        self.TELEGRAM_BOT_USERNAME = (env.get("TELEGRAM_BOT_USERNAME") or "").lstrip("@")
        self.TELEGRAM_WEBHOOK_SECRET = env.get("TELEGRAM_WEBHOOK_SECRET") or ""
        self.WEBHOOK_ALLOW_LOOPBACK = _flag(env, "WEBHOOK_ALLOW_LOOPBACK", False)
        self.WEBHOOK_RETRY_HOURS = _int(env, "WEBHOOK_RETRY_HOURS", 24)
        self.WEBHOOK_TIMEOUT = _int(env, "WEBHOOK_TIMEOUT", 10)
        self.OPS_ALERT_EMAIL = env.get("OPS_ALERT_EMAIL") or ""
        self.OPS_ALERT_WEBHOOK_URL = env.get("OPS_ALERT_WEBHOOK_URL") or ""
        self.OPS_ALERT_WEBHOOK_SECRET = env.get("OPS_ALERT_WEBHOOK_SECRET") or ""
        self.OPS_ALERT_MINUTES = _int(env, "OPS_ALERT_MINUTES", 30)
        self.OPS_FAILING_BOTS = _int(env, "OPS_FAILING_BOTS", 5)
        self.RUN_OVERDUE_MINUTES = _int(env, "RUN_OVERDUE_MINUTES", 10)
        for channel in ("TELEGRAM", "EMAIL", "WEBHOOK"):
            name = f"DELIVER_RATE_{channel}"
            setattr(self, name, _int(env, name, 0))


def check_rate_limit_storage(env_name: str, storage_uri: str, workers: int) -> None:
    """ConfigError when production would keep rate-limit counters in each worker's memory.

    With several workers each would count on its own, so a limit of 5 would allow 5 per worker.
    """
    if env_name == PRODUCTION and workers > 1 and (storage_uri or "").startswith("memory://"):
        raise ConfigError(
            f"RATELIMIT_STORAGE_URI is memory:// but {workers} web workers would each keep their "
            "own counters: set it to redis://127.0.0.1:6379/0 (apt-get install redis-server), "
            "or run one worker (GUNICORN_WORKERS=1)"
        )


class TestConfig(Config):
    """Tests: an in-memory SQLite unless DATABASE_URL is given, CSRF on, mails kept in memory."""

    TESTING = True
    __test__ = False  # not a pytest test class, whatever its name says

    def __init__(self, env: Mapping[str, str] | None = None, **overrides):
        env = dict(env or {})
        env.setdefault("DATABASE_URL", "sqlite://")
        env.setdefault("DCABOT_ENV", TEST)
        env.setdefault("MAIL_BACKEND", "memory")
        super().__init__(env)
        self.SECRET_KEY = env.get("SECRET_KEY") or "test-secret-key"
        self.SECRET_KEY_GENERATED = False
        if not self.ENCRYPTION_KEY:
            from saas.security import generate_key  # noqa: PLC0415

            self.ENCRYPTION_KEY = generate_key()
        for name, value in overrides.items():
            setattr(self, name, value)
