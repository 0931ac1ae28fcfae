"""Per-plan limits: how many bots and pairs a user may have, and whether mainnet is allowed.

The checks run inside the transaction of the write they guard: the user's row is locked first
(``SELECT ... FOR UPDATE`` on PostgreSQL), so two requests racing to create a second bot on a
one-bot plan serialise on that lock and the later one counts the earlier one's bot. SQLite has
no row locks; a no-op write takes its single write lock first, which serialises them the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from saas.models import Bot, TradingPair
from saas.models.scoping import session_for
from saas.plans import (
    DEFAULT_PLANS,
    FREE,
    PAID_STATUSES,
    UNLIMITED_AS_NUMBER,
    load_plans,
    parse_plans,
)
from saas.services.runs.locks import lock_user_row

# The numbers live in one place, saas/plans.py (the operator's plans file or its defaults);
# a plan missing from a table gets the free limits.
DEFAULT_PLAN_LIMITS: dict[str, dict] = parse_plans(DEFAULT_PLANS).limits_table()
FREE_PLAN = FREE
UNLIMITED = UNLIMITED_AS_NUMBER


class LimitError(ValueError):
    """The user's plan does not allow this; the message says what and how to get it."""


@dataclass(frozen=True)
class PlanLimits:
    """What one plan allows."""

    plan: str
    max_bots: int
    max_pairs: int
    mainnet: bool


def limits_table(table: Mapping | None = None) -> Mapping:
    """The given table (the app's PLAN_LIMITS), else the plan table of saas/plans.py."""
    return table or load_plans().limits_table()


def effective_plan(user) -> str:
    """The plan whose limits apply: an admin's override while it lasts; else a paid plan whose
    subscription lapsed counts as free."""
    override = getattr(user, "plan_override", None)
    until = getattr(user, "plan_override_until", None)
    if override and (until is None or until > datetime.now(UTC)):
        return override.strip().lower()
    plan = (getattr(user, "plan", None) or FREE_PLAN).strip().lower()
    status = getattr(user, "plan_status", None)
    if plan != FREE_PLAN and status is not None and status not in PAID_STATUSES:
        return FREE_PLAN
    return plan


def plan_limits(user, table: Mapping | None = None) -> PlanLimits:
    """The limits of the user's plan, each missing value taken from the free plan."""
    table = limits_table(table)
    plan = effective_plan(user)
    base = dict(DEFAULT_PLAN_LIMITS[FREE_PLAN]) | dict(table.get(FREE_PLAN) or {})
    values = base | dict(table.get(plan) or {})
    return PlanLimits(
        plan=plan if plan in table else FREE_PLAN,
        max_bots=_count(values["max_bots"]),
        max_pairs=_count(values["max_pairs"]),
        mainnet=bool(values["mainnet"]),
    )


def _count(value) -> int:
    """A limit as a number; None (unlimited in a plans file) becomes a number nobody reaches."""
    return UNLIMITED if value is None else int(value)


def lock_user(session: Session, user_id: int) -> None:
    """Lock the user's row until the transaction ends (on SQLite: take the write lock)."""
    lock_user_row(session, user_id)


def is_mainnet(exchange: str, testnet: bool) -> bool:
    """Whether a bot would trade real money: a real exchange outside its testnet."""
    return exchange != "paper" and not testnet


def _plural(count: int, word: str) -> str:
    """ "1 bot", "3 bots"."""
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def check_mainnet(user, exchange: str, testnet: bool, table: Mapping | None = None) -> None:
    """LimitError when the plan is testnet-only and this bot would trade on mainnet."""
    limits = plan_limits(user, table)
    if is_mainnet(exchange, testnet) and not limits.mainnet:
        raise LimitError(
            f"The {limits.plan} plan trades on testnet and paper only; upgrade your plan to "
            "trade on mainnet."
        )


def check_can_create_bot(
    user,
    *,
    exchange: str = "paper",
    testnet: bool = True,
    session: Session | None = None,
    table: Mapping | None = None,
) -> None:
    """LimitError when the user already has the plan's number of bots or mainnet is refused."""
    session = session_for(user, session)
    lock_user(session, user.id)
    limits = plan_limits(user, table)
    check_mainnet(user, exchange, testnet, table)
    count = session.scalar(select(func.count(Bot.id)).where(Bot.user_id == user.id)) or 0
    if count >= limits.max_bots:
        raise LimitError(
            f"The {limits.plan} plan allows {_plural(limits.max_bots, 'bot')} and you have "
            f"{count}; delete one or upgrade your plan."
        )


def check_can_add_pair(
    bot: Bot, *, session: Session | None = None, table: Mapping | None = None
) -> None:
    """LimitError when the bot already has the plan's number of trading pairs."""
    session = session_for(bot.user, session)
    lock_user(session, bot.user_id)
    limits = plan_limits(bot.user, table)
    count = (
        session.scalar(select(func.count(TradingPair.id)).where(TradingPair.bot_id == bot.id)) or 0
    )
    if count >= limits.max_pairs:
        raise LimitError(
            f"The {limits.plan} plan allows {_plural(limits.max_pairs, 'trading pair')} per bot "
            f"and this bot has {count}; remove one or upgrade your plan."
        )


def check_can_start(
    bot: Bot, *, session: Session | None = None, table: Mapping | None = None
) -> None:
    """LimitError (or a plain reason) when the bot may not run: no active pair, no keys, plan."""
    session = session_for(bot.user, session)
    lock_user(session, bot.user_id)
    active = (
        session.scalar(
            select(func.count(TradingPair.id)).where(
                TradingPair.bot_id == bot.id, TradingPair.is_active.is_(True)
            )
        )
        or 0
    )
    if not active:
        raise LimitError("Add an active trading pair before starting the bot.")
    if bot.exchange != "paper" and not (bot.api_key_encrypted and bot.api_secret_encrypted):
        raise LimitError("Store the bot's API key and secret before starting it.")
    check_mainnet(bot.user, bot.exchange, bot.testnet, table)
    limits = plan_limits(bot.user, table)
    # A downgraded plan keeps its bots but runs only as many as it allows.
    running = (
        session.scalar(
            select(func.count(Bot.id)).where(
                Bot.user_id == bot.user_id, Bot.status == "running", Bot.id != bot.id
            )
        )
        or 0
    )
    if running >= limits.max_bots:
        raise LimitError(
            f"The {limits.plan} plan runs {_plural(limits.max_bots, 'bot')} at a time; stop "
            "another bot or upgrade your plan."
        )
