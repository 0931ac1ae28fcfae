"""The simulated account of a paper bot: balance, positions and orders of its paper engine."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Integer
from sqlalchemy.orm import Mapped, mapped_column

from saas.models.base import Base, JSONType, Money, UTCDateTime, utc_now


class PaperAccount(Base):
    """One per paper bot; ``state`` is clients.paper.engine_to_dict of its engine."""

    __tablename__ = "paper_accounts"
    __table_args__ = (CheckConstraint("initial_balance > 0", name="initial_balance"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bot_id: Mapped[int] = mapped_column(ForeignKey("bots.id", ondelete="CASCADE"), unique=True)
    initial_balance: Mapped[Decimal] = mapped_column(Money)
    # The wallet is inside ``state`` too; kept as a column so dashboards can read it cheaply.
    wallet: Mapped[Decimal] = mapped_column(Money)
    state: Mapped[dict] = mapped_column(JSONType, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now, onupdate=utc_now)

    def __repr__(self) -> str:
        return f"<PaperAccount bot={self.bot_id} wallet={self.wallet}>"
