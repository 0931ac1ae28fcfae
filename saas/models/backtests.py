"""Backtests users started in the browser: their parameters, progress, metrics and report."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, Select, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from saas.models.base import Base, JSONType, Money, UTCDateTime, in_values, utc_now
from saas.models.scoping import OwnedByUser

BACKTEST_QUEUED = "queued"
BACKTEST_RUNNING = "running"
BACKTEST_DONE = "done"
BACKTEST_ERROR = "error"
BACKTEST_STATUSES = (BACKTEST_QUEUED, BACKTEST_RUNNING, BACKTEST_DONE, BACKTEST_ERROR)


class Backtest(OwnedByUser, Base):
    """One backtest job; the report file lives under BACKTEST_REPORT_DIR, named by the id."""

    __tablename__ = "backtests"
    __table_args__ = (
        CheckConstraint(in_values("status", BACKTEST_STATUSES), name="status"),
        CheckConstraint("progress >= 0 AND progress <= 1000", name="progress"),
        CheckConstraint("end_at > start_at", name="period"),
        Index(None, "user_id", "created_at"),
        Index(None, "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # The pair whose settings were copied, when started from one (kept if the pair goes).
    pair_id: Mapped[int | None] = mapped_column(ForeignKey("trading_pairs.id", ondelete="SET NULL"))
    symbol: Mapped[str] = mapped_column(String(32))
    side: Mapped[str] = mapped_column(String(8))
    strategy: Mapped[str] = mapped_column(String(32), default="martingale")
    params: Mapped[dict] = mapped_column(JSONType, default=dict)
    balance: Mapped[Decimal] = mapped_column(Money)
    leverage: Mapped[Decimal] = mapped_column(Money)
    interval_minutes: Mapped[int] = mapped_column(default=5)
    ema_interval: Mapped[int | None] = mapped_column()
    start_at: Mapped[datetime] = mapped_column(UTCDateTime)
    end_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default=BACKTEST_QUEUED)
    # Per mille done, so the page can draw a bar without floats in the database.
    progress: Mapped[int] = mapped_column(default=0)
    message: Mapped[str] = mapped_column(Text, default="")
    data_file: Mapped[str] = mapped_column(Text, default="")
    metrics: Mapped[dict] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Written with progress; a running job whose heartbeat stops was lost with its process.
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Last, as ALTER TABLE adds it (revision 0003_margin_modes).
    margin_mode: Mapped[str] = mapped_column(String(8), default="cross", server_default="cross")

    @classmethod
    def owner_filter(cls, query: Select, user_id: int) -> Select:
        """A backtest belongs to the user who started it."""
        return query.where(cls.user_id == user_id)

    @property
    def finished(self) -> bool:
        """Done or failed: nothing will change any more."""
        return self.status in (BACKTEST_DONE, BACKTEST_ERROR)

    def __repr__(self) -> str:
        return f"<Backtest {self.id} {self.symbol} {self.side} {self.status}>"
