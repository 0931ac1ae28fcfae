"""Notifications: each user's preferences, webhook endpoints, the outbox and its deliveries.

Events are written to ``notification_outbox`` in the transaction of their cause; the delivery
worker fans each out to ``notification_deliveries`` (one per channel or endpoint) and records
every try in ``notification_attempts``. Operator alerts are outbox rows without a user.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, Select, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from saas.models.base import Base, JSONType, UTCDateTime, utc_now
from saas.models.scoping import OwnedByUser

CHANNELS = ("telegram", "email", "webhook")
OPS_CHANNELS = ("ops_email", "ops_webhook")
PENDING, SENT, DEAD, SKIPPED = "pending", "sent", "dead", "skipped"
DELIVERY_STATUSES = (PENDING, SENT, DEAD, SKIPPED)


class _OwnedDirectly(OwnedByUser):
    """Rows with a ``user_id`` belong to that user."""

    @classmethod
    def owner_filter(cls, query: Select, user_id: int) -> Select:
        """Keep the user's rows."""
        return query.where(cls.user_id == user_id)


class NotificationSetting(_OwnedDirectly, Base):
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
    # Server defaults: rows written before these columns existed (and plain SQL) get them too.
    webhooks_enabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Event kind -> the channels it goes to; a kind missing here takes the catalogue default.
    kind_channels: Mapped[dict | None] = mapped_column(JSONType)
    muted_bot_ids: Mapped[list | None] = mapped_column(JSONType)
    # Quiet hours in UTC (start inclusive, end exclusive); only critical events come through.
    quiet_start_hour: Mapped[int | None] = mapped_column(Integer)
    quiet_end_hour: Mapped[int | None] = mapped_column(Integer)
    email_digest_minutes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_email_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # SHA-256 of the one-time /start token of the deep link, and when it stops working.
    telegram_link_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    telegram_link_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The bell: events after this time are unread.
    seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<NotificationSetting user={self.user_id}>"


class WebhookEndpoint(_OwnedDirectly, Base):
    """A user's HTTPS receiver; its signing secret is encrypted and shown once."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(Text)
    # Encrypted with saas.security under "user:<id>:webhook:<endpoint id>".
    secret_encrypted: Mapped[str] = mapped_column(Text, default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    # First failure since the last success; past the retry window the endpoint is disabled.
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)

    def __repr__(self) -> str:
        return f"<WebhookEndpoint {self.id} user={self.user_id} enabled={self.enabled}>"


class NotificationOutbox(_OwnedDirectly, Base):
    """One event, written with its cause; ``event_id`` is what receivers de-duplicate on."""

    __tablename__ = "notification_outbox"
    __table_args__ = (
        Index(None, "user_id", "id"),
        Index(None, "dispatched_at", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    bot_id: Mapped[int | None] = mapped_column(ForeignKey("bots.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(40))
    severity: Mapped[str] = mapped_column(String(10), default="info")
    fields: Mapped[dict] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    # Set when the worker has made its deliveries.
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Events that must exist once (an overdue run, a day's summary, a rate-limited ops alert).
    dedupe_key: Mapped[str | None] = mapped_column(String(120), unique=True)

    def __repr__(self) -> str:
        return f"<NotificationOutbox {self.id} {self.kind} user={self.user_id}>"


class NotificationDelivery(_OwnedDirectly, Base):
    """One event to one channel (or webhook endpoint): pending until sent, dead or skipped."""

    __tablename__ = "notification_deliveries"
    __table_args__ = (
        Index(None, "status", "next_attempt_at"),
        Index(None, "outbox_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("notification_outbox.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    endpoint_id: Mapped[int | None] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE")
    )
    status: Mapped[str] = mapped_column(String(10), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    # A worker's claim: until then no other worker sends it; a killed worker's claim expires.
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(300))
    response_code: Mapped[int | None] = mapped_column(Integer)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)

    def __repr__(self) -> str:
        return f"<NotificationDelivery {self.id} {self.channel} {self.status}>"


class NotificationAttempt(_OwnedDirectly, Base):
    """One try of a delivery: the delivery log page lists the last hundred."""

    __tablename__ = "notification_attempts"
    __table_args__ = (Index(None, "user_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("notification_deliveries.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    ok: Mapped[bool] = mapped_column(Boolean, default=False)
    response_code: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(300))

    def __repr__(self) -> str:
        return f"<NotificationAttempt {self.id} {self.channel} ok={self.ok}>"
