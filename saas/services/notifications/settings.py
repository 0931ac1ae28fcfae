"""Read and change a user's notification settings; changes are audited, tokens never shown."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from saas.models import NotificationSetting
from saas.plans import limits_for, load_plans
from saas.security import KeyRing, user_context
from saas.services.accounts.audit import record_audit

MAX_CHAT_ID_LENGTH = 64


class SettingsError(ValueError):
    """A setting the service refuses; the message is shown as it is."""


@dataclass(frozen=True)
class SettingsChange:
    """Fields to change; None leaves a field as it is (a blank bot token clears it)."""

    telegram_enabled: bool | None = None
    telegram_chat_id: str | None = None
    telegram_bot_token: str | None = None
    email_enabled: bool | None = None


def _check_plan_allows_telegram(user, now: datetime) -> None:
    """The same plan gate as the preferences page (saas.services.notifications.preferences)."""
    limits = limits_for(user, load_plans(), now)
    if not limits.telegram:
        raise SettingsError(
            f"Telegram notifications are not part of the {limits.name} plan; upgrade to use them"
        )


def _row(session: Session, user) -> NotificationSetting | None:
    """The user's row, if any."""
    return session.scalar(select(NotificationSetting).where(NotificationSetting.user_id == user.id))


def describe(setting: NotificationSetting | None) -> dict:
    """The settings as shown to their owner: whether an own bot token is set, never the token."""
    return {
        "telegram_enabled": bool(setting and setting.telegram_enabled),
        "telegram_chat_id": setting.telegram_chat_id if setting else None,
        "telegram_bot_token_set": bool(setting and setting.telegram_bot_token_encrypted),
        "email_enabled": bool(setting and setting.email_enabled),
    }


def notification_settings(session: Session, user) -> dict:
    """The user's notification settings (defaults when never saved)."""
    return describe(_row(session, user))


def update_notification_settings(
    session: Session,
    user,
    change: SettingsChange,
    *,
    now: datetime,
    ring: KeyRing | None = None,
    ip: str | None = None,
) -> dict:
    """Apply ``change``; Telegram needs a chat id. Audited with the fields before and after."""
    setting = _row(session, user)
    if setting is None:
        setting = NotificationSetting(user_id=user.id, updated_at=now)
        session.add(setting)
    before = describe(setting)
    if change.telegram_chat_id is not None:
        chat = change.telegram_chat_id.strip()
        if len(chat) > MAX_CHAT_ID_LENGTH or (chat and not chat.lstrip("-").isalnum()):
            raise SettingsError("The Telegram chat id is a number like 123456789 or -100123.")
        setting.telegram_chat_id = chat or None
    if change.telegram_bot_token is not None:
        token = change.telegram_bot_token.strip()
        if token and ring is None:
            raise SettingsError("The server cannot store tokens right now; tell the operator.")
        setting.telegram_bot_token_encrypted = (
            ring.encrypt(user_context(user.id, "telegram"), token) if token else None
        )
    if change.telegram_enabled and not setting.telegram_enabled:
        _check_plan_allows_telegram(user, now)
    if change.telegram_enabled is not None:
        setting.telegram_enabled = bool(change.telegram_enabled)
    if change.email_enabled is not None:
        setting.email_enabled = bool(change.email_enabled)
    if setting.telegram_enabled and not setting.telegram_chat_id:
        raise SettingsError("Telegram needs a chat id to send to.")
    setting.updated_at = now
    session.flush()
    after = describe(setting)
    if after != before or change.telegram_bot_token is not None:
        record_audit(
            user,
            "notifications.update",
            target=("notification_setting", setting.id),
            before=before,
            after=after,
            ip=ip,
            session=session,
            now=now,
        )
    return after
