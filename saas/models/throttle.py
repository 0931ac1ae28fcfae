"""Sign-in throttle counters: one row per (scope, key), shared by every web worker.

The key is a keyed digest of what is counted (a typed address, a client address, both), so the
table never holds an e-mail address or an IP in the clear and a made-up address gets a row just
like a real one.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from saas.models.base import Base, UTCDateTime


class LoginThrottle(Base):
    """Failures counted in a fixed window (or, for scope "known", a remembered good sign-in)."""

    __tablename__ = "login_throttles"
    __table_args__ = (
        UniqueConstraint("scope", "key"),
        CheckConstraint("failures >= 0", name="failures"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(64))
    failures: Mapped[int] = mapped_column(default=0)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)
