"""First start: an administrator and a paper-exchange demo bot, so a new install has something
to log in to and something to start (no exchange keys, no network)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from saas.models import ROLE_ADMIN, Bot, TradingPair, User
from saas.plans import PlanTable, load_plans
from saas.services.accounts.audit import record_audit
from saas.services.accounts.users import create_admin, generate_password, normalize_email
from saas.services.bots.lifecycle import create_bot

DEFAULT_ADMIN_EMAIL = "admin@example.com"
DEMO_BOT_NAME = "Demo BTCUSDT (paper)"
DEMO_INTERVAL_MINUTES = 1


@dataclass(frozen=True)
class FirstStart:
    """Who can log in; the password only when it was generated now (printed once)."""

    admin_email: str
    generated_password: str | None
    created: bool
    demo_bot_id: int | None


def operator_plan(plans: PlanTable) -> str:
    """The key of the plan allowing the most bots (the later one of equals)."""
    return max(reversed(plans.plans), key=lambda plan: plan.max_bots).key


def add_demo_bot(session: Session, admin: User, *, now: datetime) -> Bot:
    """A stopped paper bot trading BTCUSDT Long, ready for its owner to start."""
    bot = create_bot(
        session,
        admin,
        name=DEMO_BOT_NAME,
        exchange="paper",
        testnet=True,
        run_interval_minutes=DEMO_INTERVAL_MINUTES,
        created_at=now,
    )
    session.add(
        TradingPair(
            bot_id=bot.id,
            symbol="BTCUSDT",
            side="Long",
            leverage=Decimal(10),
            ema_interval=1,
            automatic_mode=True,
        )
    )
    session.flush()
    return bot


def first_start(
    session: Session, env: Mapping[str, str], *, now: datetime, demo: bool = True
) -> FirstStart:
    """On an empty database: the administrator (ADMIN_EMAIL / ADMIN_PASSWORD, else a default
    address and a random password) and the demo bot. Otherwise: who the administrator is.
    Flushed, not committed."""
    if session.scalar(select(func.count(User.id))):
        admin_email = session.scalar(
            select(User.email).where(User.role == ROLE_ADMIN).order_by(User.id).limit(1)
        )
        return FirstStart(admin_email or "", None, False, None)
    email = normalize_email(env.get("ADMIN_EMAIL") or DEFAULT_ADMIN_EMAIL)
    password = env.get("ADMIN_PASSWORD") or ""
    generated = None
    if not password:
        password = generated = generate_password()
    admin = create_admin(session, email, password)
    # The operator's own account is not held to the free plan: the table's largest plan, given
    # as an override (no end date), so it is a real plan and never counts as revenue.
    admin.plan_override = operator_plan(load_plans(env))
    record_audit(
        admin, "admin_created", target=admin, after={"email": email}, session=session, now=now
    )
    bot = add_demo_bot(session, admin, now=now) if demo else None
    return FirstStart(email, generated, True, bot.id if bot else None)
