"""Bots: a user's connection to one exchange account, its encrypted keys and its schedule."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, Select, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from saas.models.base import Base, JSONType, UTCDateTime, in_values, utc_now
from saas.models.scoping import OwnedByUser

EXCHANGES = ("phemex", "bybit", "paper")
BOT_STOPPED = "stopped"
BOT_RUNNING = "running"
BOT_PAUSED = "paused"
BOT_ERROR = "error"
BOT_STATUSES = (BOT_STOPPED, BOT_RUNNING, BOT_PAUSED, BOT_ERROR)
# Outcomes of workflows.trading runs, plus "running" while a run is under way.
RUN_OUTCOMES = ("running", "ok", "skipped", "error", "auth_error", "locked")
DEFAULT_RUN_INTERVAL_MINUTES = 5


class Bot(OwnedByUser, Base):
    """One bot; keys are Fernet tokens bound to the bot's id (see saas.security)."""

    __tablename__ = "bots"
    __table_args__ = (
        CheckConstraint(in_values("exchange", EXCHANGES), name="exchange"),
        CheckConstraint(in_values("status", BOT_STATUSES), name="status"),
        CheckConstraint(
            f"last_outcome IS NULL OR {in_values('last_outcome', RUN_OUTCOMES)}",
            name="last_outcome",
        ),
        CheckConstraint("run_interval_minutes > 0", name="run_interval_minutes"),
        # A bot runs on a real exchange only with its keys. Keys are encrypted bound to the
        # bot's id, so a new bot is inserted first and given its keys after the flush
        # (saas.services.bots.lifecycle.create_bot); a paper bot has none.
        CheckConstraint(
            "exchange = 'paper' OR status <> 'running' OR (api_key_encrypted IS NOT NULL "
            "AND api_secret_encrypted IS NOT NULL)",
            name="keys_to_run",
        ),
        Index(None, "status", "next_run_at"),
        Index(None, "user_id", "name", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    exchange: Mapped[str] = mapped_column(String(16))
    testnet: Mapped[bool] = mapped_column(default=True)
    api_key_encrypted: Mapped[str | None] = mapped_column(Text)
    api_secret_encrypted: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=BOT_STOPPED)
    run_interval_minutes: Mapped[int] = mapped_column(default=DEFAULT_RUN_INTERVAL_MINUTES)
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_outcome: Mapped[str | None] = mapped_column(String(16))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now, onupdate=utc_now)
    # What the exchange said about the key's permissions at the last check
    # (saas.services.bots.key_permissions.KeyCheck.as_dict); never the key itself.
    key_check: Mapped[dict | None] = mapped_column(JSONType)

    user = relationship("User", lazy="joined", innerjoin=True)
    pairs = relationship(
        "TradingPair",
        back_populates="bot",
        order_by="TradingPair.id",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )

    @classmethod
    def owner_filter(cls, query: Select, user_id: int) -> Select:
        """A bot belongs to its user."""
        return query.where(cls.user_id == user_id)

    @property
    def active_pairs(self) -> list:
        """Pairs the bot trades, in creation order."""
        return [pair for pair in self.pairs if pair.is_active]

    def __repr__(self) -> str:
        # Never the key columns: reprs end up in logs and tracebacks.
        return f"<Bot {self.id} {self.name!r} {self.exchange} {self.status}>"


class OwnedThroughBot(OwnedByUser):
    """Rows with a ``bot_id`` (pairs, orders, trades, runs, logs) belong to the bot's user."""

    @classmethod
    def owner_filter(cls, query: Select, user_id: int) -> Select:
        """Join the bot and keep the user's."""
        return query.join(Bot, cls.bot_id == Bot.id).where(Bot.user_id == user_id)
