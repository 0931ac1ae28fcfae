"""Billing: pricing, the billing page, Stripe Checkout and portal, webhooks.

Registering the blueprint also reads the billing settings (STRIPE_*, PLANS_FILE,
BILLING_GRACE_DAYS) into the app config and makes the plan table the app's PLAN_LIMITS, so the
bots pages enforce the plans configured here. ``flask --app saas billing ...`` holds its commands.
"""

from flask import Blueprint

bp = Blueprint("billing", __name__, url_prefix="/billing")

from saas.billing import cli, routes, settings, webhook  # noqa: E402, F401 - views on bp

bp.record_once(lambda state: settings.install(state.app))
