"""Helpers the notification views share: the plan's limits, the settings row, the CSRF form."""

from __future__ import annotations

from flask import current_app
from flask_login import current_user
from flask_wtf import FlaskForm

from saas.auth.web import utc_now
from saas.extensions import db
from saas.plans import limits_for, load_plans
from saas.services.notifications.preferences import settings_for


class PostForm(FlaskForm):
    """An empty form: POST-only actions still carry a CSRF token."""


def limits():
    """What the current user's plan allows now."""
    return limits_for(current_user, load_plans(), utc_now())


def my_settings():
    """The current user's notification settings (made on first use)."""
    return settings_for(db.session, current_user.id)


def allow_loopback() -> bool:
    """Loopback webhook URLs outside production (development and tests)."""
    from saas.config import PRODUCTION  # noqa: PLC0415

    config = current_app.config
    return config.get("ENV") != PRODUCTION or bool(config.get("WEBHOOK_ALLOW_LOOPBACK"))
