"""The web app's settings, read from the environment when a Config is made (tests pass theirs)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping

from saas.db import database_url, engine_options, normalize_url


class Config:
    """Production and development settings; every value can come from the environment."""

    TESTING = False

    def __init__(self, env: Mapping[str, str] | None = None):
        env = os.environ if env is None else env
        url = normalize_url(database_url(env))
        self.SQLALCHEMY_DATABASE_URI = url.render_as_string(hide_password=False)
        self.SQLALCHEMY_ENGINE_OPTIONS = engine_options(url)
        # Without SECRET_KEY, sessions last until the process restarts: fine for a first look.
        self.SECRET_KEY = env.get("SECRET_KEY") or secrets.token_hex(32)
        self.ENCRYPTION_KEY = env.get("ENCRYPTION_KEY") or ""
        self.TELEGRAM_BOT_TOKEN = env.get("TELEGRAM_BOT_TOKEN") or ""


class TestConfig(Config):
    """Tests: an in-memory SQLite unless DATABASE_URL is given, no CSRF, a fresh key ring."""

    TESTING = True
    WTF_CSRF_ENABLED = False

    def __init__(self, env: Mapping[str, str] | None = None, **overrides):
        env = dict(env or {})
        env.setdefault("DATABASE_URL", "sqlite://")
        super().__init__(env)
        self.SECRET_KEY = env.get("SECRET_KEY") or "test-secret-key"
        if not self.ENCRYPTION_KEY:
            from saas.security import generate_key  # noqa: PLC0415

            self.ENCRYPTION_KEY = generate_key()
        for name, value in overrides.items():
            setattr(self, name, value)
