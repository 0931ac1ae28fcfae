"""Notification channels: the interface, the fan-out, Telegram, and the builder main.py uses."""

from __future__ import annotations

import logging

from notifications.base import EVENT_KINDS, Event, FanOut, MemoryNotifier, Notifier

# Telegram (requests, urllib3, ssl) and the formatter load on first use: the backtester imports
# notifications.base through the workflow and must not pay for an HTTP stack it never uses.
_LAZY = {
    "DEFAULT_API_BASE": "notifications.telegram",
    "NotificationError": "notifications.telegram",
    "TelegramNotifier": "notifications.telegram",
    "format_event": "notifications.formatting",
}


def __getattr__(name: str):
    """The lazily imported names of __all__."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'notifications' has no attribute {name!r}")
    import importlib  # noqa: PLC0415

    return getattr(importlib.import_module(module), name)


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
    from notifications.telegram import DEFAULT_API_BASE, TelegramNotifier  # noqa: PLC0415

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
