"""Where a user's notifications go: Telegram now; the e-mail switch is read by later issues."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from saas.models.base import Base, UTCDateTime, utc_now


class NotificationSetting(Base):
    """One row per user; the Telegram token is the user's own bot, else the platform's."""

    __tablename__ = "notification_settings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    telegram_enabled: Mapped[bool] = mapped_column(default=False)
    telegram_chat_id: Mapped[str | None] = mapped_column(String(64))
    # Encrypted with saas.security under the context "user:<id>:telegram"; NULL means the
    # platform's TELEGRAM_BOT_TOKEN.
    telegram_bot_token_encrypted: Mapped[str | None] = mapped_column(Text)
    email_enabled: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now, onupdate=utc_now)

    def __repr__(self) -> str:
        return f"<NotificationSetting user={self.user_id}>"
