"""Tell a bot's owner that the runner set it to error, through the owner's own channels."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from notifications.base import ERROR, Event, Notifier

logger = logging.getLogger("dcabot.runner")


def owner_notifier(session: Session, user_id: int, env: Mapping[str, str]) -> Notifier:
    """The owner's Telegram (their own bot token, else the platform's), or an empty fan-out."""
    from notifications import build_notifier  # noqa: PLC0415
    from notifications.base import FanOut  # noqa: PLC0415
    from saas.models import NotificationSetting  # noqa: PLC0415
    from saas.security import KeyRing, user_context  # noqa: PLC0415

    setting = session.scalars(
        select(NotificationSetting).where(NotificationSetting.user_id == user_id)
    ).first()
    if setting is None or not setting.telegram_enabled or not setting.telegram_chat_id:
        return FanOut([])
    token = env.get("TELEGRAM_BOT_TOKEN")
    if setting.telegram_bot_token_encrypted:
        ring = KeyRing.from_env(env)
        token = ring.decrypt(
            user_context(user_id, "telegram"),
            setting.telegram_bot_token_encrypted,
            "the Telegram token",
        )
    return build_notifier(token, setting.telegram_chat_id, api_base=env.get("TELEGRAM_API_BASE"))


def notify_bot_error(session: Session, bot_id: int, reason: str, env: Mapping[str, str]) -> bool:
    """Send the owner an error event naming the bot and why; True when a channel got it."""
    from saas.models import Bot  # noqa: PLC0415

    bot = session.get(Bot, bot_id)
    if bot is None:
        return False
    notifier = owner_notifier(session, bot.user_id, env)
    if not getattr(notifier, "channels", [notifier]):
        return False
    notifier.send(
        Event(
            ERROR,
            {
                "symbol": f"bot {bot.name}",
                "error_type": "bot set to error",
                "message": reason,
            },
        )
    )
    return True
