"""Personal access tokens of the REST API: stored as a hash, with scopes and an optional expiry."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from saas.models.base import Base, UTCDateTime, utc_now
from saas.models.scoping import OwnedByUser

# Each scope includes the ones before it: a trade token reads, an admin token trades.
TOKEN_SCOPES = ("read", "trade", "admin")


class ApiToken(OwnedByUser, Base):
    """A token's SHA-256 hash (the token itself is shown once), its scope, expiry and use."""

    __tablename__ = "api_tokens"
    __table_args__ = (
        CheckConstraint("scope IN ('read', 'trade', 'admin')", name="scope"),
        CheckConstraint("name <> ''", name="name"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    # The first characters of the token, so the owner can tell tokens apart on the page.
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scope: Mapped[str] = mapped_column(String(8), default="read", server_default=text("'read'"))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utc_now, server_default=text("CURRENT_TIMESTAMP")
    )

    @classmethod
    def owner_filter(cls, query, user_id: int):
        """A token belongs to its user."""
        return query.where(cls.user_id == user_id)

    def allows(self, scope: str) -> bool:
        """Whether this token's scope includes ``scope``."""
        return TOKEN_SCOPES.index(self.scope) >= TOKEN_SCOPES.index(scope)

    def __repr__(self) -> str:
        # Never the hash: a repr ends up in logs.
        return f"<ApiToken {self.id} {self.prefix}… {self.scope}>"
