"""Notification settings over the API (saas.services.notifications.settings)."""

from __future__ import annotations

from flask import jsonify

from saas.api.auth import api_user, client_ip
from saas.api.common import boolean, json_body, now, string
from saas.api.registry import api_route
from saas.api.schemas import SETTINGS_BODY, ref
from saas.bots.helpers import key_ring
from saas.extensions import db
from saas.services.notifications import settings as service


@api_route(
    "/notification-settings",
    "GET",
    summary="Your notification settings",
    scope="read",
    tag="account",
    response=ref("NotificationSettings"),
)
def get_notification_settings():
    """Whether Telegram and e-mail are on, the chat id, and whether an own bot token is set."""
    return jsonify(service.notification_settings(db.session, api_user()))


@api_route(
    "/notification-settings",
    "PATCH",
    summary="Change your notification settings",
    scope="admin",
    tag="account",
    body=SETTINGS_BODY,
    response=ref("NotificationSettings"),
)
def update_notification_settings():
    """Absent fields keep their value; a blank telegram_bot_token goes back to the platform's."""
    body = json_body()
    change = service.SettingsChange(
        telegram_enabled=boolean(body, "telegram_enabled"),
        telegram_chat_id=string(body, "telegram_chat_id"),
        telegram_bot_token=string(body, "telegram_bot_token"),
        email_enabled=boolean(body, "email_enabled"),
    )
    ring = key_ring() if (change.telegram_bot_token or "").strip() else None
    result = service.update_notification_settings(
        db.session, api_user(), change, now=now(), ring=ring, ip=client_ip()
    )
    db.session.commit()
    return jsonify(result)
