"""Stripe webhook events already processed, so a redelivered event is applied once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from saas.models.base import Base, UTCDateTime, utc_now


class StripeEvent(Base):
    """A processed Stripe event id and its type."""

    __tablename__ = "stripe_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(255), unique=True)
    type: Mapped[str] = mapped_column(String(100))
    processed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)

    def __repr__(self) -> str:
        return f"<StripeEvent {self.event_id} {self.type}>"
