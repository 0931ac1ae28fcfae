"""Billing settings: read into the app config once, and the context the billing code runs with.

STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET, STRIPE_API_BASE (tests), STRIPE_TIMEOUT,
STRIPE_MAX_RETRIES, STRIPE_PRICE_<PLAN>_<MONTHLY|YEARLY>, PLANS_FILE and BILLING_GRACE_DAYS come
from the environment (and the .env beside main.py) unless the app's config already has them;
tests pass theirs in the config and never read the environment. Without STRIPE_SECRET_KEY billing
is off: the pages say so and an administrator sets plans by hand.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from saas.plans import PlanTable, load_plans
from saas.services.billing.stripe_client import (
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT_S,
    StripeGateway,
    StripeSettings,
)
from saas.services.billing.subscriptions import DEFAULT_GRACE_DAYS

SETTINGS = {
    "STRIPE_SECRET_KEY": "",
    "STRIPE_WEBHOOK_SECRET": "",
    "STRIPE_API_BASE": "",
    "STRIPE_TIMEOUT": str(DEFAULT_TIMEOUT_S),
    "STRIPE_MAX_RETRIES": str(DEFAULT_RETRIES),
    "PLANS_FILE": "",
    "BILLING_GRACE_DAYS": str(DEFAULT_GRACE_DAYS),
}
PRICE_PREFIX = "STRIPE_PRICE_"
# Where Stripe's hosted pages live; forms that lead there must be allowed by the CSP.
STRIPE_HOSTED_ORIGINS = ("https://checkout.stripe.com", "https://billing.stripe.com")


def install(app) -> None:
    """Fill missing billing settings from the environment; plans become PLAN_LIMITS."""
    from saas import config as app_config  # noqa: PLC0415

    env = {} if app.testing else _environment()
    for name, default in SETTINGS.items():
        if name not in app.config:
            app.config[name] = (env.get(name) or "").strip() or default
    for name, value in env.items():
        if name.startswith(PRICE_PREFIX):
            app.config.setdefault(name, value)
    plans = load_plans(plan_settings(app.config))  # a broken plans file stops the start here
    # The bots pages read PLAN_LIMITS; a table given to create_app on purpose is kept.
    if app.config.get("PLAN_LIMITS") is getattr(app_config, "PLAN_LIMITS", None):
        app.config["PLAN_LIMITS"] = plans.limits_table()


def _environment() -> dict:
    """The process environment over the .env beside main.py, as create_app reads it."""
    from saas import environment  # noqa: PLC0415

    return environment()


def plan_settings(config: Mapping) -> dict:
    """The settings the plan table depends on (PLANS_FILE and the price ids)."""
    values = {k: str(v) for k, v in config.items() if k.startswith(PRICE_PREFIX) and v}
    if config.get("PLANS_FILE"):
        values["PLANS_FILE"] = str(config["PLANS_FILE"])
    return values


def _number(config: Mapping, name: str, kind=int):
    """A numeric setting, its default when blank or malformed."""
    raw = config.get(name)
    try:
        return kind(str("" if raw is None else raw).strip() or SETTINGS[name])
    except ValueError:
        return kind(SETTINGS[name])


@dataclass(frozen=True)
class BillingContext:
    """What the billing code needs from the configuration, read once per request."""

    plans: PlanTable
    stripe: StripeSettings
    webhook_secret: str
    base_url: str
    grace_days: int
    namespace: str  # tells installations sharing a Stripe account apart in idempotency keys

    @property
    def enabled(self) -> bool:
        """Whether Stripe is configured (else plans are set by an administrator)."""
        return bool(self.stripe.api_key)

    def gateway(self) -> StripeGateway:
        """A Stripe gateway (a context manager closing its connections)."""
        return StripeGateway(self.stripe)

    def form_action_origins(self) -> tuple[str, ...]:
        """Origins our checkout and portal forms may lead to (Stripe's, or the test stand-in)."""
        origins = list(STRIPE_HOSTED_ORIGINS)
        if self.stripe.api_base:
            parts = urlsplit(self.stripe.api_base)
            origins.append(f"{parts.scheme}://{parts.netloc}")
        return tuple(origins)


def context(config: Mapping) -> BillingContext:
    """The billing context of an app config."""
    base_url = str(config.get("BASE_URL") or "http://127.0.0.1:8000").rstrip("/")
    return BillingContext(
        plans=load_plans(plan_settings(config)),
        stripe=StripeSettings(
            api_key=str(config.get("STRIPE_SECRET_KEY") or "").strip(),
            api_base=str(config.get("STRIPE_API_BASE") or "").strip() or None,
            timeout=_number(config, "STRIPE_TIMEOUT", float),
            max_retries=_number(config, "STRIPE_MAX_RETRIES"),
        ),
        webhook_secret=str(config.get("STRIPE_WEBHOOK_SECRET") or "").strip(),
        base_url=base_url,
        grace_days=max(0, _number(config, "BILLING_GRACE_DAYS")),
        namespace=hashlib.sha256(base_url.encode()).hexdigest()[:12],
    )
