"""The audit trail: who changed what, the values before and after, and from where."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from saas.models.base import Base, JSONType, UTCDateTime, utc_now


class AuditLog(Base):
    """One audited action; never holds a key or a password, only which fields changed."""

    __tablename__ = "audit_logs"
    __table_args__ = (
        Index(None, "user_id", "created_at"),
        Index(None, "target_type", "target_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The actor; kept as NULL when the user is deleted so the trail survives.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str | None] = mapped_column(String(32))
    target_id: Mapped[int | None] = mapped_column()
    before: Mapped[dict | None] = mapped_column(JSONType)
    after: Mapped[dict | None] = mapped_column(JSONType)
    ip: Mapped[str | None] = mapped_column(String(45))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)

    def __repr__(self) -> str:
        return f"<AuditLog {self.id} {self.action}>"
