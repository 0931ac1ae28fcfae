"""Playing Stripe's side: what happens on Stripe (a payment, a cancellation) and its event."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

from tests.fake_stripe.shapes import DAY, price_info, price_object, public


class StripeSide:
    """Scripting for StripeStandIn: each change is stored and returns the event Stripe sends."""

    # -- playing Stripe's side -----------------------------------------------------------------

    def event(
        self, type_: str, obj: dict, *, created: int | None = None, previous: dict | None = None
    ) -> dict:
        """An event as Stripe sends it to a webhook endpoint."""
        data = {"object": public(obj)}
        if previous is not None:
            data["previous_attributes"] = previous
        return {
            "id": self.new_id("evt"),
            "object": "event",
            "api_version": "2025-03-31.basil",
            "created": created or int(time.time()),
            "type": type_,
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "data": data,
        }

    def complete_checkout(self, session_id: str, *, status: str = "active") -> dict:
        """The customer paid: the subscription and its paid invoice exist; the completed event."""
        with self._lock:
            session = self.sessions[session_id]
            subscription = self.make_subscription(
                session["customer"],
                session["_price"],
                status=status,
                metadata=session["_subscription_metadata"],
            )
            session.update(
                status="complete", payment_status="paid", subscription=subscription["id"]
            )
            self.add_invoice(subscription, "paid")
            return self.event("checkout.session.completed", session)

    def make_subscription(
        self,
        customer: str,
        price_id: str,
        *,
        status: str = "active",
        metadata: dict | None = None,
        period_days: int = 30,
    ) -> dict:
        """A subscription of ``customer`` to ``price_id`` (stored; returned)."""
        now = int(time.time())
        sub_id = self.new_id("sub")
        subscription = {
            "id": sub_id,
            "object": "subscription",
            "customer": customer,
            "status": status,
            "cancel_at_period_end": False,
            "cancel_at": None,
            "canceled_at": None,
            "ended_at": None,
            "created": now,
            "start_date": now,
            "livemode": False,
            "metadata": dict(metadata or {}),
            "latest_invoice": None,
            "items": {
                "object": "list",
                "has_more": False,
                "url": "/v1/subscription_items",
                "data": [self._item(price_id, now, period_days)],
            },
        }
        self.subscriptions[sub_id] = subscription
        return subscription

    def _item(self, price_id: str, start: int, period_days: int) -> dict:
        """A subscription item with its own billing period (API 2025-03-31 and later)."""
        return {
            "id": self.new_id("si"),
            "object": "subscription_item",
            "quantity": 1,
            "price": price_object(price_id),
            "current_period_start": start,
            "current_period_end": start + period_days * DAY,
        }

    def update_subscription(self, sub_id: str, *, price: str | None = None, **changes) -> dict:
        """Change a subscription (status, cancel_at_period_end, price); the updated event."""
        with self._lock:
            subscription = self.subscriptions[sub_id]
            previous = {name: subscription.get(name) for name in changes}
            subscription.update(changes)
            if price is not None:
                item = subscription["items"]["data"][0]
                item["price"] = price_object(price)
                previous["items"] = {"data": [{"price": {"id": "(previous)"}}]}
            return self.event("customer.subscription.updated", subscription, previous=previous)

    def cancel_subscription(self, sub_id: str) -> dict:
        """End a subscription now; the deleted event."""
        with self._lock:
            subscription = self.subscriptions[sub_id]
            now = int(time.time())
            subscription.update(status="canceled", canceled_at=now, ended_at=now)
            return self.event("customer.subscription.deleted", subscription)

    def add_invoice(self, subscription: dict, status: str) -> dict:
        """An invoice of the subscription's price (paid or open), stored."""
        _, _, amount = price_info(subscription["items"]["data"][0]["price"]["id"])
        invoice_id = self.new_id("in")
        invoice = {
            "id": invoice_id,
            "object": "invoice",
            "customer": subscription["customer"],
            "number": f"STANDIN-{len(self.invoices) + 1:04d}",
            "status": status,
            "currency": "usd",
            "amount_due": amount,
            "amount_paid": amount if status == "paid" else 0,
            "created": int(time.time()),
            "hosted_invoice_url": f"{self.url}/invoice/{invoice_id}",
            "invoice_pdf": f"{self.url}/invoice/{invoice_id}.pdf",
            "livemode": False,
            "billing_reason": "subscription_cycle",
            "parent": {
                "type": "subscription_details",
                "quote_details": None,
                "subscription_details": {
                    "subscription": subscription["id"],
                    "metadata": subscription["metadata"],
                },
            },
        }
        self.invoices[invoice_id] = invoice
        subscription["latest_invoice"] = invoice_id
        return invoice

    def fail_payment(self, sub_id: str) -> dict:
        """A renewal payment failed: the subscription is past_due; invoice.payment_failed."""
        with self._lock:
            subscription = self.subscriptions[sub_id]
            subscription["status"] = "past_due"
            invoice = self.add_invoice(subscription, "open")
            return self.event("invoice.payment_failed", invoice)

    def pay_invoice(self, sub_id: str) -> dict:
        """The open invoice was paid after all: the subscription is active; invoice.paid."""
        with self._lock:
            subscription = self.subscriptions[sub_id]
            subscription["status"] = "active"
            invoice = self.invoices[subscription["latest_invoice"]]
            invoice.update(status="paid", amount_paid=invoice["amount_due"])
            return self.event("invoice.paid", invoice)

    def signed(
        self, event: dict | bytes, *, secret: str | None = None, timestamp: int | None = None
    ) -> tuple[bytes, dict]:
        """The body and headers Stripe would post: Stripe-Signature t=...,v1=HMAC(t.body)."""
        body = event if isinstance(event, bytes) else json.dumps(event).encode()
        stamp = int(time.time()) if timestamp is None else timestamp
        digest = hmac.new(
            (secret or self.webhook_secret).encode(), f"{stamp}.".encode() + body, hashlib.sha256
        ).hexdigest()
        return body, {
            "Stripe-Signature": f"t={stamp},v1={digest}",
            "Content-Type": "application/json",
        }
