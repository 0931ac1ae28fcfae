"""A thin wrapper over stripe-python: the API key, STRIPE_API_BASE, timeouts, idempotency keys.

Each ``StripeGateway`` is one ``stripe.StripeClient`` (its ``base_addresses["api"]`` is the
client's own ``api_base``, so tests point it at a loopback stand-in without touching the
library's globals) on its own requests session, closed with the gateway. Answers come back as
plain dicts in Stripe's shapes; failures are ``StripeUnavailable`` with a message a user can read.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass

logger = logging.getLogger("dcabot.billing")

DEFAULT_TIMEOUT_S = 10
DEFAULT_RETRIES = 2
WEBHOOK_TOLERANCE_S = 300  # stripe.Webhook's default: older signatures are replays


class StripeUnavailable(RuntimeError):
    """Stripe could not be reached or refused the request; the message is for the user."""


class IdempotencyConflict(StripeUnavailable):
    """An idempotency key was reused with different parameters (Stripe's idempotency_error)."""


class MissingObject(StripeUnavailable):
    """Stripe has no such object (resource_missing)."""


class WebhookSignatureError(ValueError):
    """A webhook's Stripe-Signature is missing, malformed, wrong or too old; the body is unread."""


@dataclass(frozen=True)
class StripeSettings:
    """How to reach Stripe: the secret key, an optional API base (tests), timeout and retries."""

    api_key: str
    api_base: str | None = None
    timeout: float = DEFAULT_TIMEOUT_S
    max_retries: int = DEFAULT_RETRIES


def idempotency_key(namespace: str, *parts) -> str:
    """A key derived from our own data: the same parts always give the same key.

    ``namespace`` tells installations sharing one Stripe account apart (saas.billing uses a hash
    of BASE_URL); the parts name the user and what is bought.
    """
    text = "|".join(str(part) for part in (namespace, *parts))
    return "dcabot-" + hashlib.sha256(text.encode()).hexdigest()[:40]


def _plain(obj):
    """A StripeObject (or anything) as plain dicts and lists."""
    to_dict = getattr(obj, "to_dict", None)
    return to_dict(recursive=True) if callable(to_dict) else obj


class StripeGateway:
    """The Stripe calls dcabot makes, on one client; use as a context manager."""

    def __init__(self, settings: StripeSettings):
        import requests  # noqa: PLC0415 - only the web app and billing commands talk to Stripe
        import stripe  # noqa: PLC0415

        if not settings.api_key:
            raise StripeUnavailable("Billing is not set up on this server (no Stripe key).")
        self._stripe = stripe
        self._session = requests.Session()
        addresses = {"api": settings.api_base.rstrip("/")} if settings.api_base else None
        self._client = stripe.StripeClient(
            settings.api_key,
            base_addresses=addresses,
            max_network_retries=settings.max_retries,
            http_client=stripe.RequestsClient(timeout=settings.timeout, session=self._session),
        )

    def __enter__(self) -> StripeGateway:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP connections."""
        self._session.close()

    def _call(self, what: str, method, *args, **kwargs) -> dict:
        """Call the library, translating its errors at the boundary."""
        error = self._stripe.StripeError
        try:
            return _plain(method(*args, **kwargs))
        except self._stripe.IdempotencyError as exc:
            raise IdempotencyConflict(f"Stripe refused a repeated request ({what}).") from exc
        except self._stripe.InvalidRequestError as exc:
            if getattr(exc, "code", None) == "resource_missing":
                raise MissingObject(f"Stripe has no such object ({what}).") from exc
            logger.error("stripe refused %s: %s", what, exc.user_message or exc)
            raise StripeUnavailable(f"Stripe refused the request ({what}).") from exc
        except error as exc:
            logger.warning("stripe call %s failed: %s", what, type(exc).__name__)
            raise StripeUnavailable(
                "Stripe could not be reached just now; nothing was charged. Try again in a minute."
            ) from exc

    def create_customer(self, *, email: str, user_id: int, key: str) -> dict:
        """A new customer for a user (the key makes a retried creation return the same one)."""
        params = {"email": email, "metadata": {"user_id": str(user_id)}}
        return self._call(
            "create customer", self._client.v1.customers.create, params, {"idempotency_key": key}
        )

    def create_checkout_session(self, params: Mapping, *, key: str) -> dict:
        """A Checkout Session; the same key and parameters return the same session."""
        return self._call(
            "create checkout session",
            self._client.v1.checkout.sessions.create,
            dict(params),
            {"idempotency_key": key},
        )

    def create_portal_session(self, *, customer: str, return_url: str) -> dict:
        """A customer portal session for managing cards, plans and cancellation."""
        params = {"customer": customer, "return_url": return_url}
        return self._call(
            "create portal session", self._client.v1.billing_portal.sessions.create, params
        )

    def retrieve_subscription(self, subscription_id: str) -> dict:
        """The subscription as Stripe has it now (MissingObject when it does not exist)."""
        return self._call(
            "retrieve subscription", self._client.v1.subscriptions.retrieve, subscription_id
        )

    def cancel_subscription(self, subscription_id: str) -> dict:
        """End a subscription now (no further charges)."""
        return self._call(
            "cancel subscription", self._client.v1.subscriptions.cancel, subscription_id
        )

    def list_invoices(self, customer: str, limit: int = 12) -> list[dict]:
        """The customer's latest invoices, newest first."""
        page = self._call(
            "list invoices", self._client.v1.invoices.list, {"customer": customer, "limit": limit}
        )
        return list(page.get("data") or [])


def construct_event(
    payload: bytes, signature: str | None, secret: str, tolerance: int = WEBHOOK_TOLERANCE_S
) -> dict:
    """The verified event of a webhook body as a dict; WebhookSignatureError when not genuine."""
    import stripe  # noqa: PLC0415

    if not secret:
        raise WebhookSignatureError("no webhook secret is configured")
    try:
        event = stripe.Webhook.construct_event(payload, signature, secret, tolerance)
    except stripe.SignatureVerificationError as exc:
        raise WebhookSignatureError(str(exc).splitlines()[0]) from None
    except ValueError:
        raise WebhookSignatureError("the body is not a Stripe event") from None
    return _plain(event)
