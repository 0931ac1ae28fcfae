"""A user's notification preferences: channels on/off, channels per kind, quiet hours, mutes.

Plan gating lives here for saving (Telegram and webhooks per plan, saas/plans.py); the delivery
worker checks the plan again when it sends, so a downgrade takes effect without a save.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from notifications import events as catalogue
from saas.models import Bot, NotificationSetting
from saas.models.notifications import CHANNELS

# What a kind goes to until its owner says otherwise (by the kind's group).
DEFAULT_CHANNELS = {
    "trades": ("telegram", "webhook"),
    "warnings": ("telegram", "email", "webhook"),
    "errors": ("telegram", "email", "webhook"),
    "summary": ("email",),
    "account": ("email",),
}
MAX_DIGEST_MINUTES = 24 * 60


class PreferenceError(ValueError):
    """A preference the user may not save; the message is for the form."""


@dataclass
class Preferences:
    """What the preferences form submits."""

    telegram_enabled: bool = False
    email_enabled: bool = False
    webhooks_enabled: bool = False
    kind_channels: dict[str, set[str]] = field(default_factory=dict)
    quiet_start_hour: int | None = None
    quiet_end_hour: int | None = None
    email_digest_minutes: int = 0
    muted_bot_ids: set[int] = field(default_factory=set)


def settings_for(session: Session, user_id: int) -> NotificationSetting:
    """The user's settings row, made (and flushed) on first use."""
    row = session.scalar(select(NotificationSetting).where(NotificationSetting.user_id == user_id))
    if row is None:
        row = NotificationSetting(user_id=user_id, email_digest_minutes=0)
        session.add(row)
        session.flush()
    return row


def channels_for(setting: NotificationSetting | None, kind: str) -> set[str]:
    """The channels a kind goes to under these settings (before channel switches and plan)."""
    chosen = (setting.kind_channels or {}) if setting is not None else {}
    if kind in chosen:
        return set(chosen[kind]) & set(CHANNELS)
    return set(DEFAULT_CHANNELS.get(catalogue.event_type(kind).group, ()))


def current(setting: NotificationSetting) -> Preferences:
    """The form's starting values."""
    return Preferences(
        telegram_enabled=bool(setting.telegram_enabled),
        email_enabled=bool(setting.email_enabled),
        webhooks_enabled=bool(setting.webhooks_enabled),
        kind_channels={k: channels_for(setting, k) for k in catalogue.USER_KINDS},
        quiet_start_hour=setting.quiet_start_hour,
        quiet_end_hour=setting.quiet_end_hour,
        email_digest_minutes=setting.email_digest_minutes or 0,
        muted_bot_ids=set(setting.muted_bot_ids or []),
    )


def save_preferences(session: Session, user, prefs: Preferences, *, limits) -> NotificationSetting:
    """Store the preferences; PreferenceError when the plan or the values forbid them."""
    if prefs.telegram_enabled and not limits.telegram:
        raise PreferenceError(
            f"Telegram notifications are not part of the {limits.name} plan; upgrade to use them"
        )
    if prefs.webhooks_enabled and not limits.webhooks:
        raise PreferenceError(
            f"Webhooks are not part of the {limits.name} plan; upgrade to use them"
        )
    hours = (prefs.quiet_start_hour, prefs.quiet_end_hour)
    if (hours[0] is None) != (hours[1] is None):
        raise PreferenceError("quiet hours need both a start and an end hour")
    if any(h is not None and not 0 <= h <= 23 for h in hours):
        raise PreferenceError("quiet hours are whole hours from 0 to 23 (UTC)")
    if not 0 <= prefs.email_digest_minutes <= MAX_DIGEST_MINUTES:
        raise PreferenceError(f"the digest interval is 0 to {MAX_DIGEST_MINUTES} minutes")
    own_bots = set(session.scalars(select(Bot.id).where(Bot.user_id == user.id)))
    setting = settings_for(session, user.id)
    if prefs.telegram_enabled and not setting.telegram_chat_id:
        raise PreferenceError("link a Telegram chat first")
    setting.telegram_enabled = prefs.telegram_enabled
    setting.email_enabled = prefs.email_enabled
    setting.webhooks_enabled = prefs.webhooks_enabled
    setting.kind_channels = {
        kind: sorted(set(prefs.kind_channels.get(kind, ())) & set(CHANNELS))
        for kind in catalogue.USER_KINDS
    }
    setting.quiet_start_hour, setting.quiet_end_hour = hours
    setting.email_digest_minutes = prefs.email_digest_minutes
    setting.muted_bot_ids = sorted(prefs.muted_bot_ids & own_bots)
    return setting


def unsubscribe_kind(session: Session, user_id: int, kind: str) -> None:
    """Stop e-mails about one kind (the signed one-click link)."""
    setting = settings_for(session, user_id)
    chosen = {k: set(channels_for(setting, k)) for k in catalogue.USER_KINDS}
    if kind in chosen:
        chosen[kind].discard("email")
    setting.kind_channels = {k: sorted(v) for k, v in chosen.items()}


def in_quiet_hours(setting: NotificationSetting | None, now: datetime) -> datetime | None:
    """When the quiet hours around ``now`` end, or None outside them."""
    if setting is None or setting.quiet_start_hour is None or setting.quiet_end_hour is None:
        return None
    start, end, hour = setting.quiet_start_hour, setting.quiet_end_hour, now.hour
    inside = start <= hour < end if start < end else (hour >= start or hour < end)
    if not inside or start == end:
        return None
    until = now.replace(hour=end, minute=0, second=0, microsecond=0)
    if until <= now:
        until += timedelta(days=1)
    return until
