"""What each run of a bot did: one bot_runs row per run and the owner-facing log lines."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from saas.models.base import Base, JSONType, UTCDateTime, in_values
from saas.models.bots import RUN_OUTCOMES, OwnedThroughBot

LOG_LEVELS = ("debug", "info", "warning", "error")


class BotRun(OwnedThroughBot, Base):
    """One run: inserted as "running" when it starts, completed when it ends."""

    __tablename__ = "bot_runs"
    __table_args__ = (
        CheckConstraint(in_values("outcome", RUN_OUTCOMES), name="outcome"),
        CheckConstraint("duration_ms IS NULL OR duration_ms >= 0", name="duration_ms"),
        Index(None, "bot_id", "started_at"),
        # The admin system page counts runs of the last 24 hours across all bots.
        Index(None, "started_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bot_id: Mapped[int] = mapped_column(ForeignKey("bots.id", ondelete="CASCADE"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    duration_ms: Mapped[int | None] = mapped_column()
    outcome: Mapped[str] = mapped_column(String(16), default="running")
    # Pair id -> the pair's one-line conclusion or error.
    conclusions: Mapped[dict] = mapped_column(JSONType, default=dict)

    def __repr__(self) -> str:
        return f"<BotRun {self.id} bot={self.bot_id} {self.outcome}>"


class BotLog(OwnedThroughBot, Base):
    """A log line the owner can read on the bot's page."""

    __tablename__ = "bot_logs"
    __table_args__ = (
        CheckConstraint(in_values("level", LOG_LEVELS), name="level"),
        Index(None, "bot_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bot_id: Mapped[int] = mapped_column(ForeignKey("bots.id", ondelete="CASCADE"))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("bot_runs.id", ondelete="SET NULL"))
    level: Mapped[str] = mapped_column(String(16))
    message: Mapped[str] = mapped_column(Text)
    fields: Mapped[dict] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<BotLog {self.id} {self.level}>"
