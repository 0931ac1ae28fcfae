"""Webhook signatures: ``Dcabot-Signature: t=<unix time>,v1=<hex HMAC-SHA256>`` over "t.body".

The format follows Stripe's: the receiver recomputes the HMAC of ``f"{t}.{raw body}"`` with the
endpoint's secret, compares in constant time, and refuses timestamps older than its tolerance
(replays). docs/NOTIFICATIONS.md carries the same check in Python and Node.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

HEADER = "Dcabot-Signature"
EVENT_ID_HEADER = "Dcabot-Event-Id"
SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret
DEFAULT_TOLERANCE = 300


def new_secret() -> str:
    """A fresh endpoint secret (shown to its owner once)."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of "timestamp.body"."""
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign_header(secret: str, timestamp: int, body: bytes) -> str:
    """The header value for one delivery."""
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


def verify(
    secret: str,
    header: str,
    body: bytes,
    *,
    tolerance: int = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> bool:
    """The documented receiver check: a v1 signature matches and the timestamp is recent."""
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body)
    return hmac.compare_digest(expected, parts.get("v1", ""))
