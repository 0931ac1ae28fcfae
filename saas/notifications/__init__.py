"""Notifications pages: preferences, Telegram linking, webhooks, the delivery log and the bell."""

from flask import Blueprint

bp = Blueprint("notifications", __name__)

from saas.notifications import routes, telegram_routes  # noqa: E402, F401 - registers the views
