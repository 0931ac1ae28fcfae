"""Plan changes: Stripe subscriptions applied to users, grace periods, lapses, bots over the limit.

Everything takes a session and ``now`` and never a request, so webhooks, the admin form, the CLI
and the runner share it. Callers commit. Bots over a plan's limit are paused with the reason as
their last error, never deleted; who must be told is returned as ``Notice`` values that the
caller sends after committing (a mail must not hold a transaction open, nor go out for a change
that rolled back).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from saas.models import BOT_RUNNING, Bot, TradingPair, User
from saas.models.users import PLAN_STATUSES
from saas.plans import (
    FREE,
    INTERVALS,
    BotFacts,
    PlanTable,
    bots_over_limit,
    effective_plan,
    grace_expired,
    limits_for,
)
from saas.services.billing.plan_keys import ensure_plan_key
from saas.services.bots.lifecycle import pause_bot
from saas.services.runs.locks import lock_user_row

logger = logging.getLogger("dcabot.billing")

DEFAULT_GRACE_DAYS = 7
# Subscriptions that still belong to the customer (past_due: paid plan until the grace ends).
LIVE_STATUSES = frozenset({"active", "trialing", "past_due"})
GRANTING_STATUSES = frozenset({"active", "trialing"})
# A first payment still under way: nothing is granted and nothing is taken away.
PENDING_STATUSES = frozenset({"incomplete"})


@dataclass(frozen=True)
class Notice:
    """A mail for a user about their plan, sent by the caller after committing."""

    to: str
    subject: str
    body: str


@dataclass
class PlanChange:
    """What a change did: the effective plan before and after, paused bots, mails to send."""

    user_id: int
    before: str
    after: str
    paused: list[tuple[str, str]] = field(default_factory=list)  # (bot name, reason)
    grace_started: bool = False
    notices: list[Notice] = field(default_factory=list)


def lock_user(session: Session, user_id: int) -> User | None:
    """The user, re-read and locked until the transaction ends (see lock_user_row)."""
    return lock_user_row(session, user_id)


def bot_facts(session: Session, user_id: int) -> list[BotFacts]:
    """The user's bots with their number of active pairs, in one query."""
    pairs = (
        select(TradingPair.bot_id, func.count(TradingPair.id).label("n"))
        .where(TradingPair.is_active.is_(True))
        .group_by(TradingPair.bot_id)
        .subquery()
    )
    rows = session.execute(
        select(Bot.id, Bot.exchange, Bot.testnet, Bot.status, func.coalesce(pairs.c.n, 0))
        .outerjoin(pairs, pairs.c.bot_id == Bot.id)
        .where(Bot.user_id == user_id)
    )
    return [
        BotFacts(i, exchange, bool(testnet), status == BOT_RUNNING, int(n))
        for i, exchange, testnet, status, n in rows
    ]


def paused_reason(reason: str) -> str:
    """The last error a bot paused by its plan shows."""
    return f"Paused by your plan: {reason}."


def enforce_plan(session: Session, user: User, plans: PlanTable, now: datetime) -> list:
    """Pause the user's running bots that the effective plan does not allow; (name, reason)."""
    limits = limits_for(user, plans, now)
    refused = bots_over_limit(limits, bot_facts(session, user.id))
    paused = []
    for bot_id, reason in sorted(refused.items()):
        bot = session.get(Bot, bot_id)
        pause_bot(session, bot, paused_reason(reason), now=now)
        paused.append((bot.name, reason))
    if paused:
        logger.info(
            "paused %d bot(s) of user %s over the %s plan", len(paused), user.id, limits.plan
        )
    return paused


def _finish(
    change: PlanChange, session: Session, user: User, plans: PlanTable, now: datetime, base_url: str
) -> PlanChange:
    """Pause what the new plan does not allow, keep the revenue records, note the mails."""
    from saas.services.billing.records import sync_subscription  # noqa: PLC0415 - no cycle

    sync_subscription(session, user, plans, now)
    change.paused = enforce_plan(session, user, plans, now)
    change.after = effective_plan(user, plans, now).key
    if change.paused:
        change.notices.append(paused_notice(user, plans, change, base_url))
    return change


def _timestamp(value) -> datetime | None:
    """A Stripe Unix timestamp as an aware UTC datetime."""
    return datetime.fromtimestamp(int(value), UTC) if value else None


def subscription_terms(subscription: dict) -> tuple[str | None, str | None, datetime | None]:
    """(price id, interval, period end) of a subscription, in old and new API shapes."""
    items = ((subscription.get("items") or {}).get("data")) or []
    price = (items[0].get("price") or {}) if items else {}
    interval = (price.get("recurring") or {}).get("interval")
    ends = [item.get("current_period_end") for item in items if item.get("current_period_end")]
    end = max(ends) if ends else subscription.get("current_period_end")
    return price.get("id"), interval, _timestamp(end)


def start_grace(user: User, now: datetime, days: int) -> bool:
    """Start the grace period of a failed payment (once); True when it started now."""
    if user.plan_grace_until is not None or effective_plan_is_free(user):
        return False
    user.plan_grace_until = now + timedelta(days=days)
    return True


def effective_plan_is_free(user: User) -> bool:
    """Whether the user has no paid plan to keep during a grace period."""
    return (user.plan or FREE) == FREE


def apply_subscription(
    session: Session,
    user: User,
    subscription: dict,
    plans: PlanTable,
    now: datetime,
    *,
    grace_days: int = DEFAULT_GRACE_DAYS,
    base_url: str = "",
) -> PlanChange:
    """Make the user's plan what this subscription (as Stripe has it now) pays for.

    A subscription other than the user's current one only counts while it is live (a new one
    replaces the old); an old one ending leaves the current plan alone. A live subscription to a
    price no plan names changes nothing (logged): we never guess what was paid for.
    """
    change = PlanChange(
        user.id, effective_plan(user, plans, now).key, effective_plan(user, plans, now).key
    )
    status = subscription.get("status")
    current = user.stripe_subscription_id
    if subscription.get("id") != current and status not in LIVE_STATUSES:
        return change
    price_id, interval, period_end = subscription_terms(subscription)
    match = plans.by_price_id(price_id)
    if match is None and status in LIVE_STATUSES | PENDING_STATUSES:
        logger.error(
            "subscription %s of user %s is for price %s, which no plan lists; plan left unchanged",
            subscription.get("id"),
            user.id,
            price_id,
        )
        return change
    if match is not None:
        ensure_plan_key(session, match[0])
    user.stripe_subscription_id = subscription.get("id")
    user.plan_status = status if status in PLAN_STATUSES else None
    user.plan_period_end = period_end
    user.plan_interval = interval if interval in INTERVALS else None
    user.plan_cancel_at_period_end = bool(
        subscription.get("cancel_at_period_end") or subscription.get("cancel_at")
    )
    if status in GRANTING_STATUSES:
        user.plan, user.plan_grace_until = match[0].key, None
    elif status == "past_due" and grace_expired(user, now):
        user.plan = FREE  # this failure's grace is over: the plan stays lapsed
    elif status == "past_due":
        user.plan = match[0].key
        change.grace_started = start_grace(user, now, grace_days)
    elif status not in PENDING_STATUSES:
        # canceled, unpaid, incomplete_expired, paused: the paid plan ends now.
        user.plan, user.plan_grace_until, user.plan_cancel_at_period_end = FREE, None, False
    return _finish(change, session, user, plans, now, base_url)


def overdue(user: User, now: datetime) -> bool:
    """Whether a paid plan's grace period has ended and the plan must lapse to free."""
    return (
        (user.plan or FREE) != FREE
        and user.plan_grace_until is not None
        and user.plan_grace_until <= now
    )


def lapse_plan(
    session: Session, user: User, plans: PlanTable, now: datetime, *, base_url: str = ""
) -> PlanChange:
    """The plan lapses to free (the grace period ended); bots over the free limits pause."""
    change = PlanChange(user.id, (user.plan or FREE), FREE)
    logger.info(
        "plan %s of user %s lapsed to free (grace ended %s)",
        user.plan,
        user.id,
        user.plan_grace_until,
    )
    # plan_grace_until stays: later retries of the same unpaid invoice must not restart it.
    user.plan = FREE
    _finish(change, session, user, plans, now, base_url)
    change.notices.insert(0, lapsed_notice(user, plans, change, base_url))
    return change


def lapse_if_overdue(
    session: Session, user: User, plans: PlanTable, now: datetime, *, base_url: str = ""
) -> PlanChange | None:
    """Lapse this user's plan if its grace has ended (the user row locked first)."""
    if not overdue(user, now):
        return None
    locked = lock_user(session, user.id)
    if locked is None or not overdue(locked, now):
        return None  # someone else lapsed it meanwhile
    return lapse_plan(session, locked, plans, now, base_url=base_url)


def lapse_overdue(
    session: Session, plans: PlanTable, now: datetime, *, base_url: str = ""
) -> list[PlanChange]:
    """Lapse every plan whose grace period has ended (``flask --app saas billing lapse``)."""
    ids = session.scalars(
        select(User.id).where(User.plan != FREE, User.plan_grace_until <= now).order_by(User.id)
    ).all()
    changes = []
    for user_id in ids:
        user = lock_user(session, user_id)
        if user is not None and overdue(user, now):
            changes.append(lapse_plan(session, user, plans, now, base_url=base_url))
    return changes


def set_plan(
    session: Session,
    user: User,
    plan_key: str,
    plans: PlanTable,
    now: datetime,
    *,
    admin=None,
    ip: str | None = None,
    base_url: str = "",
) -> PlanChange:
    """An administrator sets a user's plan by hand (no Stripe); audited, bots over it paused."""
    from saas.services.accounts.audit import record_audit  # noqa: PLC0415 - only the admin path

    if plan_key not in plans:
        raise ValueError(f"unknown plan {plan_key!r}; choose one of {', '.join(plans)}")
    user = lock_user(session, user.id) or user
    before = {
        "plan": user.plan,
        "plan_status": user.plan_status,
        "plan_grace_until": user.plan_grace_until,
    }
    change = PlanChange(user.id, effective_plan(user, plans, now).key, plan_key)
    ensure_plan_key(session, plans[plan_key])
    user.plan, user.plan_status, user.plan_grace_until = plan_key, None, None
    user.plan_cancel_at_period_end = False
    _finish(change, session, user, plans, now, base_url)
    record_audit(
        admin,
        "billing.plan_set",
        target=user,
        before=before,
        after={"plan": plan_key, "paused_bots": len(change.paused)},
        ip=ip,
        session=session,
        now=now,
    )
    return change


def runner_refusal(session: Session, bot: Bot, plans: PlanTable, now: datetime) -> str | None:
    """Why the owner's plan does not let this bot run now (the bot is paused), else None.

    Called where a run loads its configuration: a lapsed plan lapses here first, so a bot over
    the limit never reaches the exchange even when no web request or webhook came first.
    """
    user = bot.user
    lapse_if_overdue(session, user, plans, now)
    if bot.status != BOT_RUNNING:
        return bot.last_error or "paused by the plan"
    refused = bots_over_limit(limits_for(user, plans, now), bot_facts(session, user.id))
    reason = refused.get(bot.id)
    if reason is None:
        return None
    message = paused_reason(reason)
    pause_bot(session, bot, message, now=now)
    return message


# -- the mails ----------------------------------------------------------------------------------


def _plan_name(plans: PlanTable, key: str) -> str:
    """A plan's display name (its key when it is no longer in the table)."""
    plan = plans.get(key)
    return plan.name if plan is not None else key


def _bot_lines(change: PlanChange) -> str:
    """One line per paused bot."""
    return "\n".join(f"- {name}: {reason}" for name, reason in change.paused)


def paused_notice(user: User, plans: PlanTable, change: PlanChange, base_url: str) -> Notice:
    """Bots were paused because the plan allows fewer."""
    count = len(change.paused)
    body = (
        f"Your dcabot plan is now {_plan_name(plans, change.after)}. It allows fewer bots or "
        f"features than you were using, so {count} bot{'s were' if count != 1 else ' was'} "
        f"paused (nothing was deleted; open positions stay as they are on the exchange):\n\n"
        f"{_bot_lines(change)}\n\nUpgrade or adjust your bots, then resume them: "
        f"{base_url}/billing/\n"
    )
    return Notice(user.email, "dcabot: bots paused after a plan change", body)


def lapsed_notice(user: User, plans: PlanTable, change: PlanChange, base_url: str) -> Notice:
    """The grace period ended and the plan is free now."""
    body = (
        f"We could not collect the payment for your {_plan_name(plans, change.before)} plan "
        f"and its grace period has ended, so your account is on the Free plan now.\n\n"
        f"Pay the open invoice or choose a plan again to get your limits back: "
        f"{base_url}/billing/\n"
    )
    return Notice(user.email, "dcabot: your plan has lapsed to Free", body)


def payment_failed_notice(
    user: User, plans: PlanTable, invoice_url: str | None, base_url: str
) -> Notice:
    """A payment failed; the plan stays until the grace period ends."""
    until = user.plan_grace_until.strftime("%Y-%m-%d %H:%M UTC") if user.plan_grace_until else ""
    pay = f"\nPay the invoice here: {invoice_url}\n" if invoice_url else ""
    body = (
        f"The payment for your dcabot {_plan_name(plans, user.plan)} plan failed. Your plan "
        f"stays as it is until {until}; after that it lapses to Free and bots beyond the Free "
        f"limits are paused.\n{pay}\nUpdate your card in the billing portal: "
        f"{base_url}/billing/\n"
    )
    return Notice(user.email, "dcabot: your payment failed", body)
