"""A user's webhook endpoints: add (secret shown once), list, delete, and the signing secret."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session

from notifications.signing import new_secret
from notifications.ssrf import UnsafeURL, check_url
from saas.models import WebhookEndpoint
from saas.security import user_context

MAX_ENDPOINTS = 5


class EndpointError(ValueError):
    """An endpoint that cannot be saved; the message is for the form."""


def _context(endpoint: WebhookEndpoint) -> str:
    """The encryption context of an endpoint's secret."""
    return user_context(endpoint.user_id, f"webhook:{endpoint.id}")


def add_endpoint(
    session: Session,
    user,
    url: str,
    *,
    ring,
    limits,
    allow_loopback: bool,
    now: datetime,
    resolver: Callable | None = None,
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its secret (the only time the secret is returned)."""
    if not limits.webhooks:
        raise EndpointError(f"Webhooks are not part of the {limits.name} plan; upgrade to use them")
    try:
        url = check_url(url, allow_loopback=allow_loopback, resolver=resolver)
    except UnsafeURL as exc:
        raise EndpointError(str(exc)) from None
    count = session.query(WebhookEndpoint).filter_by(user_id=user.id).count()
    if count >= MAX_ENDPOINTS:
        raise EndpointError(f"at most {MAX_ENDPOINTS} webhook endpoints per account")
    endpoint = WebhookEndpoint(user_id=user.id, url=url, enabled=True, created_at=now)
    session.add(endpoint)
    session.flush()
    secret = new_secret()
    endpoint.secret_encrypted = ring.encrypt(_context(endpoint), secret)
    return endpoint, secret


def endpoint_secret(endpoint: WebhookEndpoint, ring) -> str:
    """The decrypted signing secret (the worker signs with it)."""
    return ring.decrypt(_context(endpoint), endpoint.secret_encrypted, "a webhook secret")


def enable_endpoint(endpoint: WebhookEndpoint) -> None:
    """Turn a disabled endpoint back on (its failure clock restarts)."""
    endpoint.enabled, endpoint.disabled_reason, endpoint.failing_since = True, None, None


def delete_endpoint(session: Session, endpoint: WebhookEndpoint) -> None:
    """Remove the endpoint and its deliveries."""
    session.delete(endpoint)
