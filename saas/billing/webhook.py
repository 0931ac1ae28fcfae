"""The Stripe webhook: one CSRF-exempt endpoint; a bad signature is a 400 and changes nothing.

Stripe retries any answer other than a 2xx, so: a genuine event already processed is a 200
(``duplicate``); a Stripe outage while applying one is a 503 with nothing recorded (it comes
again); a forged, tampered, unsigned or too-old delivery (tolerance 300 s) is a 400.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from flask import abort, current_app, jsonify, request

from saas.billing import bp, settings
from saas.billing.events import MalformedEvent, process_event
from saas.billing.notices import send_notices
from saas.extensions import csrf, db
from saas.services.billing.stripe_client import (
    StripeUnavailable,
    WebhookSignatureError,
    construct_event,
)

logger = logging.getLogger("dcabot.billing")


@bp.route("/webhook", methods=["POST"])
@csrf.exempt
def webhook():
    """Verify the Stripe-Signature over the raw body, then record and apply the event once."""
    ctx = settings.context(current_app.config)
    if not ctx.webhook_secret:
        abort(404)  # billing off: there is no endpoint to call
    payload = request.get_data(cache=False)
    try:
        event = construct_event(
            payload, request.headers.get("Stripe-Signature"), ctx.webhook_secret
        )
    except WebhookSignatureError as exc:
        logger.warning("stripe webhook refused from %s: %s", request.remote_addr, exc)
        return jsonify({"error": "invalid signature"}), 400
    try:
        result = process_event(db.session, event, ctx, datetime.now(UTC))
    except MalformedEvent as exc:
        return jsonify({"error": str(exc)}), 400
    except StripeUnavailable:
        logger.warning(
            "stripe event %s not applied (Stripe unreachable); it will be redelivered",
            event.get("id"),
        )
        return jsonify({"error": "try again later"}), 503
    send_notices(current_app._get_current_object(), result.notices)
    return jsonify({"received": True, "status": result.status})
