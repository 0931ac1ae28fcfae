"""The Stripe webhook: one CSRF-exempt endpoint; a bad signature is a 400 and changes nothing.

Stripe retries any answer other than a 2xx, so: a genuine event already processed is a 200
(``duplicate``); a Stripe outage while applying one is a 503 with nothing recorded (it comes
again); a forged, tampered, unsigned, too-old or future-dated delivery (beyond
WEBHOOK_TOLERANCE_SECONDS, 300 s) is a 400, and so is a signed body that is not a JSON object.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

from flask import abort, current_app, jsonify, request

from saas.billing import bp, settings
from saas.billing.events import MalformedEvent, process_event
from saas.billing.notices import send_notices
from saas.extensions import csrf, db
from saas.inputs import InputError, is_ascii_digits, parse_json
from saas.services.billing.stripe_client import (
    StripeUnavailable,
    WebhookSignatureError,
    construct_event,
)

logger = logging.getLogger("dcabot.billing")
MAX_EVENT_BYTES = 1_000_000
MAX_EVENT_DEPTH = 64


def signed_in_future(header: str | None, now: float, tolerance: int) -> bool:
    """Whether the Stripe-Signature's timestamp (t=...) is more than ``tolerance`` s ahead.

    Stripe's library refuses old signatures only; one dated ahead would stay replayable until
    its time came.
    """
    for part in (header or "").split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and is_ascii_digits(value) and len(value) < 16:
            return int(value) > now + tolerance
    return False


def _refusal(payload: bytes, header: str | None, tolerance: int) -> str | None:
    """Why a delivery is refused before its signature is even checked, or None."""
    if signed_in_future(header, time.time(), tolerance):
        return "the signature is dated in the future"
    try:
        body = parse_json(payload, max_bytes=MAX_EVENT_BYTES, max_depth=MAX_EVENT_DEPTH)
    except InputError:
        return "the body is not a Stripe event"
    return None if isinstance(body, dict) else "the body is not a Stripe event"


@bp.route("/webhook", methods=["POST"])
@csrf.exempt
def webhook():
    """Verify the Stripe-Signature over the raw body, then record and apply the event once."""
    ctx = settings.context(current_app.config)
    if not ctx.webhook_secret:
        abort(404)  # billing off: there is no endpoint to call
    payload = request.get_data(cache=False)
    header = request.headers.get("Stripe-Signature")
    tolerance = int(current_app.config.get("WEBHOOK_TOLERANCE_SECONDS", 300))
    try:
        refused = _refusal(payload, header, tolerance)
        if refused:
            raise WebhookSignatureError(refused)
        event = construct_event(payload, header, ctx.webhook_secret, tolerance)
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
