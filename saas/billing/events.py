"""Stripe webhook events: each applied once, in the same transaction as its record.

``process_event`` inserts the event id into stripe_events (unique) and applies the event's effect
before one commit. A redelivered event finds its id and does nothing; two deliveries at once on
PostgreSQL both insert, the second waits on the unique index until the first commits and then
fails with a unique violation, which is answered as a duplicate. Subscriptions are fetched from
Stripe rather than read from the event, so events arriving out of order (an old ``updated`` after
``deleted``) cannot bring back what Stripe has ended. A Stripe outage raises: nothing is
recorded and Stripe delivers the event again later.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from saas.billing.settings import BillingContext
from saas.models import StripeEvent, User
from saas.services.billing.records import record_invoice
from saas.services.billing.stripe_client import MissingObject, StripeGateway
from saas.services.billing.subscriptions import (
    Notice,
    PlanChange,
    apply_subscription,
    effective_plan_is_free,
    lock_user,
    payment_failed_notice,
    start_grace,
)

logger = logging.getLogger("dcabot.billing")

APPLIED, DUPLICATE, IGNORED = "applied", "duplicate", "ignored"


class MalformedEvent(ValueError):
    """A genuine signature over something that is not an event we can read."""


@dataclass
class EventResult:
    """What became of one delivery, and the mails to send now that it is committed."""

    status: str
    notices: list[Notice] = field(default_factory=list)


class _Run:
    """One event's handling: the session, the context, ``now`` and a lazily opened gateway."""

    def __init__(
        self,
        session: Session,
        ctx: BillingContext,
        now: datetime,
        gateway_factory: Callable[[], StripeGateway],
    ):
        self.session, self.ctx, self.now = session, ctx, now
        self._factory = gateway_factory
        self._gateway: StripeGateway | None = None
        self.notices: list[Notice] = []

    def close(self) -> None:
        """Close the gateway if one was opened."""
        if self._gateway is not None:
            self._gateway.close()

    def subscription(self, subscription_id: str, snapshot: dict | None = None) -> dict | None:
        """The subscription as Stripe has it now (the event's copy if Stripe has none)."""
        if self._gateway is None:
            self._gateway = self._factory()
        try:
            return self._gateway.retrieve_subscription(subscription_id)
        except MissingObject:
            logger.warning(
                "subscription %s is unknown to Stripe; using the event's copy", subscription_id
            )
            return snapshot

    def apply(
        self,
        user: User,
        subscription_id: str | None,
        snapshot: dict | None = None,
        invoice_url: str | None = None,
    ) -> PlanChange | None:
        """Apply the current state of a subscription to the (locked) user."""
        if not subscription_id:
            return None
        subscription = self.subscription(subscription_id, snapshot)
        if subscription is None:
            return None
        change = apply_subscription(
            self.session,
            user,
            subscription,
            self.ctx.plans,
            self.now,
            grace_days=self.ctx.grace_days,
            base_url=self.ctx.base_url,
        )
        self.notices.extend(change.notices)
        if change.grace_started:
            self.notices.append(
                payment_failed_notice(user, self.ctx.plans, invoice_url, self.ctx.base_url)
            )
        return change


def _user_by_customer(session: Session, customer) -> User | None:
    """The user of a Stripe customer id."""
    if not isinstance(customer, str) or not customer:
        return None
    return session.scalar(select(User).where(User.stripe_customer_id == customer))


def _user_by_id(session: Session, raw) -> User | None:
    """The user of our own id as Stripe echoes it (client_reference_id, metadata)."""
    try:
        return session.get(User, int(str(raw)))
    except (TypeError, ValueError):
        return None


def _locked_owner(session: Session, obj: dict, *refs) -> User | None:
    """The object's user, by its customer first, then by our id; locked."""
    user = _user_by_customer(session, obj.get("customer"))
    for ref in refs:
        user = user or _user_by_id(session, ref)
    if user is None:
        logger.info("no user for Stripe %s %s; ignored", obj.get("object"), obj.get("id"))
        return None
    return lock_user(session, user.id)


def invoice_subscription(invoice: dict) -> str | None:
    """The subscription an invoice bills (API 2025-03-31 and later, and older shapes)."""
    parent = invoice.get("parent") or {}
    details = parent.get("subscription_details") or {}
    found = details.get("subscription") or invoice.get("subscription")
    return found.get("id") if isinstance(found, dict) else found


def on_checkout_completed(run: _Run, obj: dict) -> None:
    """Checkout finished: link the customer, start a new checkout series, apply the plan."""
    if obj.get("mode") != "subscription":
        return
    user = _locked_owner(run.session, obj, obj.get("client_reference_id"))
    if user is None:
        return
    if obj.get("customer") and not user.stripe_customer_id:
        user.stripe_customer_id = obj["customer"]
    user.checkout_nonce += 1
    run.apply(user, obj.get("subscription"))


def on_checkout_expired(run: _Run, obj: dict) -> None:
    """An unpaid session expired: the next checkout gets a new one."""
    user = _locked_owner(run.session, obj, obj.get("client_reference_id"))
    if user is not None:
        user.checkout_nonce += 1


def on_subscription(run: _Run, obj: dict) -> None:
    """Created, updated or deleted: apply what Stripe has now, not the event's snapshot."""
    user = _locked_owner(run.session, obj, (obj.get("metadata") or {}).get("user_id"))
    if user is not None:
        run.apply(user, obj.get("id"), snapshot=obj)


def on_invoice_paid(run: _Run, obj: dict) -> None:
    """A payment went through: the subscription is current again (grace over)."""
    user = _locked_owner(run.session, obj)
    record_invoice(run.session, user, obj, run.now)
    if user is None:
        return
    run.apply(user, invoice_subscription(obj))
    if user.plan_status in (None, "active", "trialing"):
        user.plan_grace_until = None


def on_invoice_failed(run: _Run, obj: dict) -> None:
    """A payment failed: the plan stays for the grace period and the user is told once."""
    user = _locked_owner(run.session, obj)
    record_invoice(run.session, user, obj, run.now, failed=True)
    if user is None:
        return
    url = obj.get("hosted_invoice_url")
    change = run.apply(user, invoice_subscription(obj), invoice_url=url)
    if change is not None and change.grace_started:
        return
    # Stripe may not have marked the subscription past_due yet: the failure alone starts it.
    if not effective_plan_is_free(user) and start_grace(user, run.now, run.ctx.grace_days):
        run.notices.append(payment_failed_notice(user, run.ctx.plans, url, run.ctx.base_url))


HANDLERS: dict[str, Callable[[_Run, dict], None]] = {
    "checkout.session.completed": on_checkout_completed,
    "checkout.session.expired": on_checkout_expired,
    "customer.subscription.created": on_subscription,
    "customer.subscription.updated": on_subscription,
    "customer.subscription.deleted": on_subscription,
    "invoice.paid": on_invoice_paid,
    "invoice.payment_failed": on_invoice_failed,
}


def _parts(event: dict) -> tuple[str, str, dict]:
    """(id, type, data.object) of an event; MalformedEvent when any is missing."""
    event_id, kind = event.get("id"), event.get("type")
    obj = (event.get("data") or {}).get("object")
    if (
        not isinstance(event_id, str)
        or not event_id
        or not isinstance(kind, str)
        or not isinstance(obj, dict)
    ):
        raise MalformedEvent("the event has no id, type or data.object")
    return event_id, kind, obj


def _seen(session: Session, event_id: str) -> bool:
    """Whether this event id is already recorded (committed)."""
    return (
        session.scalar(select(StripeEvent.id).where(StripeEvent.event_id == event_id)) is not None
    )


def process_event(
    session: Session,
    event: dict,
    ctx: BillingContext,
    now: datetime,
    gateway_factory: Callable[[], StripeGateway] | None = None,
) -> EventResult:
    """Record and apply one verified event, committing both together; duplicates do nothing."""
    event_id, kind, obj = _parts(event)
    if _seen(session, event_id):
        session.rollback()
        return EventResult(DUPLICATE)
    run = _Run(session, ctx, now, gateway_factory or ctx.gateway)
    try:
        session.add(StripeEvent(event_id=event_id, type=kind[:100], processed_at=now))
        session.flush()  # on PostgreSQL a concurrent delivery waits here for the first one
        handler = HANDLERS.get(kind)
        if handler is not None:
            handler(run, obj)
        session.commit()
    except IntegrityError:
        session.rollback()
        if _seen(session, event_id):
            return EventResult(DUPLICATE)
        raise
    except Exception:
        session.rollback()
        raise
    finally:
        run.close()
    logger.info("stripe event %s (%s) %s", event_id, kind, "applied" if handler else "ignored")
    return EventResult(APPLIED if handler else IGNORED, run.notices)
