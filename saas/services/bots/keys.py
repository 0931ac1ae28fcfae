"""Re-encrypt every stored secret under the first key of ENCRYPTION_KEY (``rotate-keys``)."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from saas.models import Bot, NotificationSetting, User
from saas.security import KeyRing, bot_context, user_context


def rotate_keys(session: Session, ring: KeyRing) -> dict[str, int]:
    """Rotate bots' API keys, users' TOTP secrets and Telegram tokens; counts per kind.

    A value no key decrypts raises DecryptionError naming its row; the caller rolls back, so
    a rotation is all or nothing.
    """
    counts = {"bots": 0, "totp_secrets": 0, "telegram_tokens": 0}
    bots = session.scalars(
        select(Bot)
        .where(or_(Bot.api_key_encrypted.is_not(None), Bot.api_secret_encrypted.is_not(None)))
        .order_by(Bot.id)
    )
    for bot in bots:
        context, what = bot_context(bot.id), f"the API keys of bot {bot.id}"
        if bot.api_key_encrypted:
            bot.api_key_encrypted = ring.rotate(context, bot.api_key_encrypted, what)
        if bot.api_secret_encrypted:
            bot.api_secret_encrypted = ring.rotate(context, bot.api_secret_encrypted, what)
        counts["bots"] += 1
    users = session.scalars(select(User).where(User.totp_secret_encrypted.is_not(None)))
    for user in users:
        user.totp_secret_encrypted = ring.rotate(
            user_context(user.id, "totp"),
            user.totp_secret_encrypted,
            f"the two-factor secret of user {user.id}",
        )
        counts["totp_secrets"] += 1
    settings = session.scalars(
        select(NotificationSetting).where(
            NotificationSetting.telegram_bot_token_encrypted.is_not(None)
        )
    )
    for setting in settings:
        setting.telegram_bot_token_encrypted = ring.rotate(
            user_context(setting.user_id, "telegram"),
            setting.telegram_bot_token_encrypted,
            f"the Telegram token of user {setting.user_id}",
        )
        counts["telegram_tokens"] += 1
    return counts
