"""Small helpers of the account views: the clock, the key ring, lock-out settings."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import current_app

from saas.security import KeyRing
from saas.services.accounts.credentials import LoginSettings


def utc_now() -> datetime:
    """The views' clock (services get it as ``now``)."""
    return datetime.now(UTC)


def key_ring() -> KeyRing:
    """The app's ENCRYPTION_KEY as a key ring, parsed once per app."""
    ring = current_app.extensions.get("dcabot_key_ring")
    if ring is None:
        ring = KeyRing.from_string(current_app.config.get("ENCRYPTION_KEY"))
        current_app.extensions["dcabot_key_ring"] = ring
    return ring


def login_settings() -> LoginSettings:
    """The lock-out rule of this app."""
    return LoginSettings.from_config(current_app.config)


def config_limit(name: str):
    """A flask-limiter limit read from the app's config when the request comes."""
    return lambda: current_app.config[name]
