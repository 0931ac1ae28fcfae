"""Plan keys in the database: users.plan refers to a plans row, added when a plan is first used."""

from __future__ import annotations

from sqlalchemy.orm import Session

from saas.models import PlanKey


def ensure_plan_key(session: Session, plan) -> None:
    """Add the plans row of a saas.plans.Plan (a plans file's own key) when it is missing."""
    if session.get(PlanKey, plan.key) is None:
        session.add(PlanKey(key=plan.key, name=plan.name))
        session.flush()
