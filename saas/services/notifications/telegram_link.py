"""Linking a Telegram chat in two clicks: a one-time deep link, then the bot's /start update.

The user presses "Link Telegram" and gets ``https://t.me/<bot>?start=<token>``; Telegram sends
the platform bot "/start <token>" from their chat, by webhook (``/telegram/webhook``) or through
``getUpdates`` polling in the delivery worker, and that chat becomes theirs.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from saas.models import NotificationSetting
from saas.security import user_context
from saas.services.notifications.preferences import settings_for

logger = logging.getLogger("dcabot.notifications.telegram")
LINK_LIFETIME = timedelta(minutes=30)
LINKED_TEXT = "✅ This chat now receives your dcabot notifications. Unlink it from the web app."


def _digest(token: str) -> str:
    """What we store of a link token."""
    return hashlib.sha256(token.encode()).hexdigest()


def start_link(session: Session, user_id: int, *, bot_username: str, now: datetime) -> str:
    """A fresh deep link for the user (an older unused one stops working)."""
    token = secrets.token_urlsafe(24)  # Telegram's start parameter: [A-Za-z0-9_-], <= 64
    setting = settings_for(session, user_id)
    setting.telegram_link_hash = _digest(token)
    setting.telegram_link_expires_at = now + LINK_LIFETIME
    return f"https://t.me/{bot_username.lstrip('@')}?start={token}"


def start_token(update: Mapping) -> tuple[str, str] | None:
    """(token, chat id) of a "/start <token>" message update, else None."""
    message = update.get("message") if isinstance(update, Mapping) else None
    if not isinstance(message, Mapping):
        return None
    text = str(message.get("text") or "")
    chat = message.get("chat") if isinstance(message.get("chat"), Mapping) else {}
    parts = text.split()
    if len(parts) != 2 or parts[0].split("@", 1)[0] != "/start" or chat.get("id") is None:
        return None
    return parts[1], str(chat["id"])


def handle_update(session: Session, update: Mapping, *, now: datetime) -> tuple[int, str] | None:
    """Link the chat of a valid "/start <token>" update; (user id, chat id) when it did."""
    found = start_token(update)
    if found is None:
        return None
    token, chat_id = found
    setting = session.scalar(
        select(NotificationSetting).where(NotificationSetting.telegram_link_hash == _digest(token))
    )
    if setting is None or setting.telegram_link_expires_at is None:
        return None
    if setting.telegram_link_expires_at <= now:
        return None
    setting.telegram_chat_id = chat_id
    setting.telegram_bot_token_encrypted = None  # the platform bot is the one they talked to
    setting.telegram_enabled = True
    setting.telegram_link_hash = None
    setting.telegram_link_expires_at = None
    return setting.user_id, chat_id


def unlink(session: Session, user_id: int) -> None:
    """Forget the user's chat and own bot token; Telegram is off."""
    setting = settings_for(session, user_id)
    setting.telegram_chat_id = None
    setting.telegram_bot_token_encrypted = None
    setting.telegram_enabled = False
    setting.telegram_link_hash = None


def use_own_bot(session: Session, user_id: int, ring, token: str, chat_id: str) -> None:
    """The user's own bot token (stored encrypted) and chat id instead of the platform bot."""
    token, chat_id = (token or "").strip(), (chat_id or "").strip()
    if not token or ":" not in token:
        raise ValueError("enter the bot token BotFather gave you (it looks like 123456:ABC...)")
    digits = chat_id.removeprefix("-")
    if not (digits.isascii() and digits.isdigit()) or len(chat_id) > 32:
        raise ValueError("the chat id is a number (a group's starts with -)")
    setting = settings_for(session, user_id)
    setting.telegram_bot_token_encrypted = ring.encrypt(user_context(user_id, "telegram"), token)
    setting.telegram_chat_id = chat_id
    setting.telegram_link_hash = None


def poll_updates(sessions, api, *, now: datetime) -> int:
    """getUpdates once (no public URL for a webhook): link every valid /start; returns links made.

    Updates are acknowledged by asking for the next offset, so none is handled twice.
    """
    from saas.db import session_scope  # noqa: PLC0415

    updates = api.call("getUpdates", {"timeout": 0, "allowed_updates": ["message"]}) or []
    linked = 0
    last = None
    for update in updates:
        last = max(last or 0, int(update.get("update_id", 0)))
        with session_scope(sessions) as session:
            done = handle_update(session, update, now=now)
        if done is not None:
            linked += 1
            api.call("sendMessage", {"chat_id": done[1], "text": LINKED_TEXT})
    if last is not None:
        api.call("getUpdates", {"offset": last + 1, "timeout": 0})
    return linked
