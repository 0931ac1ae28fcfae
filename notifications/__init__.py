"""Notification channels: the interface, the fan-out, Telegram, and the builder main.py uses."""

from __future__ import annotations

import logging

from notifications.base import EVENT_KINDS, Event, FanOut, MemoryNotifier, Notifier
from notifications.formatting import format_event
from notifications.telegram import DEFAULT_API_BASE, NotificationError, TelegramNotifier

__all__ = [
    "DEFAULT_API_BASE",
    "EVENT_KINDS",
    "Event",
    "FanOut",
    "MemoryNotifier",
    "NotificationError",
    "Notifier",
    "TelegramNotifier",
    "build_notifier",
    "format_event",
]

logger = logging.getLogger(__name__)


def build_notifier(
    telegram_token: str | None,
    telegram_chat_id: str | None,
    *,
    api_base: str | None = None,
) -> Notifier:
    """A fan-out of the configured channels; Telegram only when both token and chat id are set."""
    token = (telegram_token or "").strip()
    chat_id = (telegram_chat_id or "").strip()
    channels: list[Notifier] = []
    if token and chat_id:
        channels.append(
            TelegramNotifier(token, chat_id, api_base=(api_base or "").strip() or DEFAULT_API_BASE)
        )
    else:
        missing = [
            name
            for name, value in (("TELEGRAM_BOT_TOKEN", token), ("TELEGRAM_CHAT_ID", chat_id))
            if not value
        ]
        logger.warning(
            "Telegram notifications disabled: %s not set",
            " and ".join(missing),
            extra={"missing": missing},
        )
    return FanOut(channels)
