"""The plan keys a user's ``plan`` may name: a foreign key, so a misspelt plan is refused."""

from __future__ import annotations

from sqlalchemy import String, text
from sqlalchemy.orm import Mapped, mapped_column

from saas.models.base import Base

# The keys of saas.plans.DEFAULT_PLANS (a test keeps the two equal); a plans file's own keys
# are added when a user is put on them (saas.services.billing.plan_keys).
DEFAULT_PLAN_KEYS = (
    ("free", "Free"),
    ("starter", "Starter"),
    ("pro", "Pro"),
    ("enterprise", "Enterprise"),
)


class PlanKey(Base):
    """One plan key; limits and prices live in saas.plans (the defaults or PLANS_FILE)."""

    __tablename__ = "plans"

    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), default="", server_default=text("''"))

    def __repr__(self) -> str:
        return f"<PlanKey {self.key}>"
