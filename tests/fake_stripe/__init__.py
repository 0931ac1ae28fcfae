"""A loopback stand-in for the Stripe API calls dcabot makes, and signed events.

It answers with Stripe's shapes (API version 2025-03-31 and later: billing periods on subscription
items, an invoice's subscription under ``parent.subscription_details``)::

    POST /v1/customers                 GET /v1/customers/{id}
    POST /v1/checkout/sessions         GET /v1/checkout/sessions/{id}
    POST /v1/billing_portal/sessions   GET /v1/subscriptions/{id}
    GET  /v1/invoices?customer=...     DELETE /v1/subscriptions/{id}
    GET  /pay/{session}, /portal/{id}  (stand-in hosted pages)

Every request needs ``Authorization: Bearer <stripe_server.api_key>``; POSTs honour
Idempotency-Key as Stripe does (same key and parameters: the first answer again; other
parameters: a 400 idempotency_error). ``requests`` records each call with its parsed form and
headers. Test helpers play Stripe's side: ``complete_checkout`` (the customer paid: a subscription
and its first invoice exist), ``update_subscription`` / ``cancel_subscription`` /
``fail_payment`` / ``pay_invoice``, each returning the event Stripe would send, ``event`` to
build any event, ``signed`` to sign a body with the real scheme, and ``fail_next`` to make the
next calls to a path answer 500. ``settings()`` is the app config pointing the app here.
"""

from tests.fake_stripe.server import StripeStandIn
from tests.fake_stripe.shapes import API_KEY, PRICE_IDS, WEBHOOK_SECRET, StripeRequest

__all__ = ["API_KEY", "PRICE_IDS", "WEBHOOK_SECRET", "StripeRequest", "StripeStandIn"]
