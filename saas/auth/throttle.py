"""The login views' side of sign-in throttling: this app's settings and the caller's keys.

The rules and counters are in saas.services.accounts.throttle (database rows shared by every
worker); this module only reads the request's client address and the app's config.
"""

from __future__ import annotations

from flask import current_app

from saas.extensions import client_address
from saas.services.accounts.throttle import Keys, ThrottleSettings


def settings() -> ThrottleSettings:
    """The throttle rule of this app."""
    return ThrottleSettings.from_config(current_app.config)


def keys(email: str) -> Keys:
    """The counter keys of a sign-in with this typed address from this client."""
    return Keys.of(current_app.secret_key, email, client_address())
