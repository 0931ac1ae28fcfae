"""Daily aggregates per bot (bot_daily_stats): what the dashboards read instead of every trade."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Integer, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from saas.models.base import Base, JSONType, Money, UTCDateTime, utc_now
from saas.models.bots import OwnedThroughBot


class BotDailyStat(OwnedThroughBot, Base):
    """One bot's fills of one UTC day, and its account as the day's last fills left it.

    Rows are dense from the bot's first trade through today (a day without trades carries the
    balance and positions forward), so an equity curve is a plain GROUP BY day.
    ``saas.services.insights.stats`` rebuilds them from ``trades``; nothing else writes them.
    """

    __tablename__ = "bot_daily_stats"
    __table_args__ = (UniqueConstraint("bot_id", "day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bot_id: Mapped[int] = mapped_column(ForeignKey("bots.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    trades: Mapped[int] = mapped_column(default=0)
    # Reduces and closes: the fills that realise PnL; wins and losses count them by sign.
    closes: Mapped[int] = mapped_column(default=0)
    wins: Mapped[int] = mapped_column(default=0)
    losses: Mapped[int] = mapped_column(default=0)
    realised_pnl: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    fees: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    volume: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    # End of day: the last wallet balance a fill reported, and the open positions' state.
    balance: Mapped[Decimal | None] = mapped_column(Money)
    unrealised_pnl: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    margin: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    min_margin_level: Mapped[Decimal | None] = mapped_column(Money)
    # "SYMBOL/Side" -> the open position after its last fill (decimals as strings).
    positions: Mapped[dict] = mapped_column(JSONType, default=dict)
    # The newest trade counted up to this day: later trades mean the rows are stale.
    last_trade_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now, onupdate=utc_now)

    @property
    def equity(self) -> Decimal | None:
        """Balance plus unrealised PnL at the end of the day (None before any balance)."""
        return None if self.balance is None else self.balance + self.unrealised_pnl

    def __repr__(self) -> str:
        return f"<BotDailyStat bot={self.bot_id} {self.day} trades={self.trades}>"
