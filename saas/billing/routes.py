"""The billing pages: pricing, the user's billing page, checkout, portal, success and cancel.

Views are thin over saas.billing.checkout and saas.services.billing.subscriptions. None of them
grants a plan: the success page only says the payment is being confirmed; the webhook changes
plans. Every page is about the logged-in user only (no ids in URLs). Pages with buttons that lead
to Stripe widen the CSP's form-action to Stripe's hosted pages, since the redirect after the POST
goes there.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required

from saas.billing import bp, settings
from saas.billing.checkout import (
    AlreadySubscribed,
    BillingError,
    open_portal,
    recent_invoices,
    start_checkout,
)
from saas.billing.forms import ActionForm, CheckoutForm
from saas.billing.notices import send_notices
from saas.extensions import db
from saas.plans import FREE, effective_plan, limits_for
from saas.services.billing.stripe_client import StripeUnavailable
from saas.services.billing.subscriptions import lapse_if_overdue, overdue
from saas.web_security import CONTENT_SECURITY_POLICY

STRIPE_PAGES = frozenset({"billing.pricing", "billing.index"})


def _now() -> datetime:
    """The request's time (services take it as an argument)."""
    return datetime.now(UTC)


def _ctx() -> settings.BillingContext:
    """The billing settings of this app."""
    return settings.context(current_app.config)


@bp.before_app_request
def lapse_overdue_plan():
    """A plan whose grace period ended lapses before its user's next request does anything."""
    if request.endpoint in (None, "static", "billing.webhook") or "_user_id" not in session:
        return
    if not current_user.is_authenticated or not overdue(current_user, _now()):
        return
    ctx = _ctx()
    change = lapse_if_overdue(db.session, current_user, ctx.plans, _now(), base_url=ctx.base_url)
    db.session.commit()
    if change is not None:
        send_notices(current_app._get_current_object(), change.notices)
        flash(
            "Your payment could not be collected and the grace period has ended: your plan "
            "is Free now.",
            "warning",
        )


@bp.after_request
def allow_stripe_form_targets(response):
    """Checkout and portal buttons POST here and are redirected to Stripe's hosted pages."""
    if request.endpoint in STRIPE_PAGES:
        origins = " ".join(_ctx().form_action_origins())
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY.replace(
            "form-action 'self'", f"form-action 'self' {origins}"
        )
    return response


@bp.route("/pricing")
def pricing():
    """Every plan with its limits and prices; logged-in users can buy one."""
    ctx = _ctx()
    current = (
        effective_plan(current_user, ctx.plans, _now()).key
        if current_user.is_authenticated
        else None
    )
    subscribed = (
        current_user.is_authenticated
        and current != FREE
        and bool(current_user.stripe_subscription_id)
    )
    return render_template(
        "billing/pricing.html",
        plans=list(ctx.plans.values()),
        enabled=ctx.enabled,
        current=current,
        subscribed=subscribed,
        form=CheckoutForm(),
    )


@bp.route("/")
@login_required
def index():
    """The user's plan, its status and renewal, the grace period if any, and invoices."""
    ctx = _ctx()
    now = _now()
    limits = limits_for(current_user, ctx.plans, now)
    chosen = ctx.plans.get((current_user.plan or FREE).lower())
    return render_template(
        "billing/index.html",
        ctx=ctx,
        limits=limits,
        chosen=chosen,
        now=now,
        invoices=recent_invoices(current_user, ctx),
        form=ActionForm(),
    )


@bp.route("/checkout", methods=["POST"])
@login_required
def checkout():
    """Send the user to Stripe Checkout for the chosen plan (a double-click gets one session)."""
    form = CheckoutForm()
    if not form.validate_on_submit():
        flash("Choose a plan and monthly or yearly billing.", "error")
        return redirect(url_for("billing.pricing"))
    ctx = _ctx()
    try:
        with ctx.gateway() as gateway:
            url = start_checkout(
                db.session, current_user, form.plan.data, form.interval.data, ctx, gateway
            )
    except AlreadySubscribed as exc:
        db.session.rollback()
        flash(str(exc), "info")
        return redirect(url_for("billing.index"))
    except (BillingError, StripeUnavailable) as exc:
        db.session.commit()  # a customer created on the way is kept (and found again)
        flash(str(exc), "error")
        return redirect(url_for("billing.pricing"))
    db.session.commit()
    current_app.logger.info(
        "checkout started by user %s for %s/%s", current_user.id, form.plan.data, form.interval.data
    )
    return redirect(url, code=303)


@bp.route("/portal", methods=["POST"])
@login_required
def portal():
    """Send the user to Stripe's customer portal (card, plan switch, cancellation)."""
    if not ActionForm().validate_on_submit():
        flash("The form had expired; try again.", "error")
        return redirect(url_for("billing.index"))
    ctx = _ctx()
    try:
        with ctx.gateway() as gateway:
            url = open_portal(current_user, ctx, gateway)
    except (BillingError, StripeUnavailable) as exc:
        flash(str(exc), "error")
        return redirect(url_for("billing.index"))
    return redirect(url, code=303)


@bp.route("/success")
@login_required
def success():
    """Back from Checkout: the plan changes when Stripe confirms the payment, not here."""
    return render_template(
        "billing/success.html", limits=limits_for(current_user, _ctx().plans, _now())
    )


@bp.route("/cancel")
@login_required
def cancel():
    """Back from Checkout without paying: nothing changed."""
    return render_template("billing/cancel.html")
