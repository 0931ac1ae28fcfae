"""Checkout, the customer portal and invoices: the Stripe calls a user's clicks make.

Nothing here grants a plan: a Checkout Session only sends the user to pay, and only the webhook
(saas.billing.events) changes plans. Idempotency keys come from our own data, so a double-click
or a retry sends Stripe the same request and gets the same session back: the user's id and
creation time, the price, and ``checkout_nonce``, which moves on once a session completes or
expires (Stripe keeps a key for 24 hours and would otherwise answer with the finished session).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from saas.billing.settings import BillingContext
from saas.models import User
from saas.services.billing.stripe_client import (
    IdempotencyConflict,
    MissingObject,
    StripeGateway,
    StripeUnavailable,
    idempotency_key,
)
from saas.services.billing.subscriptions import LIVE_STATUSES, lock_user

# Currencies Stripe counts in whole units (no cents).
ZERO_DECIMAL_CURRENCIES = frozenset(
    {
        "bif",
        "clp",
        "djf",
        "gnf",
        "jpy",
        "kmf",
        "krw",
        "mga",
        "pyg",
        "rwf",
        "ugx",
        "vnd",
        "vuv",
        "xaf",
        "xof",
        "xpf",
    }
)


class BillingError(ValueError):
    """The request cannot be done; the message is for the user."""


class AlreadySubscribed(BillingError):
    """The user has a live subscription: plan changes go through the portal."""


@dataclass(frozen=True)
class InvoiceRow:
    """One invoice as the billing page lists it."""

    number: str
    created: datetime | None
    amount: Decimal
    currency: str
    status: str
    url: str | None


def _user_stamp(user: User) -> int:
    """The user's creation time: a user id reused after a database reset gets new keys."""
    return int(user.created_at.timestamp()) if user.created_at else 0


def ensure_customer(
    session: Session, user: User, ctx: BillingContext, gateway: StripeGateway
) -> str:
    """The user's Stripe customer id, created (once, idempotently) and stored when missing."""
    if user.stripe_customer_id:
        return user.stripe_customer_id
    key = idempotency_key(ctx.namespace, "customer", user.id, _user_stamp(user))
    customer = gateway.create_customer(email=user.email, user_id=user.id, key=key)
    user.stripe_customer_id = customer["id"]
    session.flush()
    return user.stripe_customer_id


def checkout_params(
    user: User, customer: str, plan_key: str, interval: str, price_id: str, base_url: str
) -> dict:
    """The Checkout Session we ask for: a subscription to one price, for this user."""
    return {
        "mode": "subscription",
        "customer": customer,
        "client_reference_id": str(user.id),
        "line_items": [{"price": price_id, "quantity": 1}],
        "success_url": f"{base_url}/billing/success?session_id={{CHECKOUT_SESSION_ID}}",
        "cancel_url": f"{base_url}/billing/cancel",
        "metadata": {"user_id": str(user.id), "plan": plan_key, "interval": interval},
        "subscription_data": {"metadata": {"user_id": str(user.id), "plan": plan_key}},
    }


def start_checkout(
    session: Session,
    user: User,
    plan_key: str,
    interval: str,
    ctx: BillingContext,
    gateway: StripeGateway,
) -> str:
    """The URL of a Stripe Checkout page for this plan; the caller commits (the customer id)."""
    if not ctx.enabled:
        raise BillingError("Billing is not set up on this server; an administrator sets plans.")
    plan = ctx.plans.get(plan_key)
    if plan is None or not plan.purchasable(interval):
        raise BillingError("That plan cannot be bought here.")
    price_id = plan.price(interval).stripe_price_id
    # Locked: a double-click's second request waits and then asks Stripe the same question.
    user = lock_user(session, user.id) or user
    if user.stripe_subscription_id and user.plan_status in LIVE_STATUSES:
        raise AlreadySubscribed(
            "You already have a subscription: change or cancel it in the billing portal."
        )
    customer = ensure_customer(session, user, ctx, gateway)
    params = checkout_params(user, customer, plan.key, interval, price_id, ctx.base_url)

    def key() -> str:
        return idempotency_key(
            ctx.namespace, "checkout", user.id, _user_stamp(user), price_id, user.checkout_nonce
        )

    try:
        checkout = gateway.create_checkout_session(params, key=key())
    except IdempotencyConflict:
        # The key was used with other parameters (say, BASE_URL changed): start a new series.
        user.checkout_nonce += 1
        session.flush()
        checkout = gateway.create_checkout_session(params, key=key())
    if not checkout.get("url"):
        raise StripeUnavailable("Stripe did not return a checkout page; try again.")
    return checkout["url"]


def open_portal(user: User, ctx: BillingContext, gateway: StripeGateway) -> str:
    """The URL of the user's Stripe customer portal (cards, plan switches, cancellation)."""
    if not ctx.enabled:
        raise BillingError("Billing is not set up on this server.")
    if not user.stripe_customer_id:
        raise BillingError("You have no billing account yet: choose a plan first.")
    portal = gateway.create_portal_session(
        customer=user.stripe_customer_id, return_url=f"{ctx.base_url}/billing/"
    )
    if not portal.get("url"):
        raise StripeUnavailable("Stripe did not return a portal page; try again.")
    return portal["url"]


def cancel_for_deleted_account(user: User, ctx: BillingContext) -> bool:
    """End the user's live subscription now, before their account is deleted; True if ended.

    Call it before deleting the user: afterwards nobody could cancel a subscription that would
    go on charging a card. StripeUnavailable means the deletion should wait.
    """
    if not ctx.enabled or not user.stripe_subscription_id or user.plan_status not in LIVE_STATUSES:
        return False
    with ctx.gateway() as gateway:
        try:
            gateway.cancel_subscription(user.stripe_subscription_id)
        except MissingObject:
            return False
    return True


def invoice_row(invoice: dict) -> InvoiceRow:
    """An invoice for display (amounts in the currency's units, as Decimal)."""
    currency = str(invoice.get("currency") or "usd").lower()
    cents = invoice.get("amount_paid") if invoice.get("status") == "paid" else None
    cents = invoice.get("amount_due") if cents is None else cents
    amount = Decimal(int(cents or 0))
    if currency not in ZERO_DECIMAL_CURRENCIES:
        amount = amount / 100
    created = invoice.get("created")
    return InvoiceRow(
        number=str(invoice.get("number") or invoice.get("id") or ""),
        created=datetime.fromtimestamp(int(created), UTC) if created else None,
        amount=amount.quantize(Decimal("0.01"))
        if currency not in ZERO_DECIMAL_CURRENCIES
        else amount,
        currency=currency.upper(),
        status=str(invoice.get("status") or ""),
        url=invoice.get("hosted_invoice_url"),
    )


def recent_invoices(user: User, ctx: BillingContext) -> list[InvoiceRow] | None:
    """The user's latest invoices; [] without a customer, None when Stripe cannot say now."""
    if not ctx.enabled or not user.stripe_customer_id:
        return []
    try:
        with ctx.gateway() as gateway:
            return [invoice_row(i) for i in gateway.list_invoices(user.stripe_customer_id)]
    except StripeUnavailable:
        return None
