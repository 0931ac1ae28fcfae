"""The plans page: set any user's plan by their address (when Stripe is off, how plans change).

Folded in from the former /billing/admin page. With Stripe it is for comped accounts, and the
next webhook of a user's subscription replaces it; the user page also sets plans with an end date.
"""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, url_for
from sqlalchemy import select

from saas.admin import bp
from saas.admin.access import actor, now, staff_route
from saas.admin.forms import PlanByEmailForm
from saas.billing import settings
from saas.billing.notices import send_notices
from saas.extensions import db
from saas.models import User
from saas.plans import FREE
from saas.services.accounts.credentials import find_user
from saas.services.billing.subscriptions import set_plan

LISTED_USERS = 50


@bp.route("/plans", methods=["GET", "POST"])
@staff_route
def plans():
    """Set a user's plan; the users on paid plans are listed below the form."""
    ctx = settings.context(current_app.config)
    form = PlanByEmailForm()
    form.plan.choices = [(plan.key, plan.name) for plan in ctx.plans.values()]
    if form.validate_on_submit():
        user = find_user(db.session, form.email.data)
        if user is None:
            form.email.errors = [*form.email.errors, "There is no user with that e-mail."]
        else:
            who = actor()
            change = set_plan(
                db.session,
                user,
                form.plan.data,
                ctx.plans,
                now(),
                admin=who.user,
                ip=who.ip,
                base_url=ctx.base_url,
            )
            db.session.commit()
            send_notices(current_app._get_current_object(), change.notices)
            paused = f"; {len(change.paused)} bot(s) paused" if change.paused else ""
            flash(
                f"{user.email} is on the {ctx.plans[form.plan.data].name} plan now{paused}.",
                "success",
            )
            return redirect(url_for("admin.plans"))
    users = db.session.scalars(
        select(User).where(User.plan != FREE).order_by(User.email).limit(LISTED_USERS)
    ).all()
    return render_template("admin/plans.html", form=form, users=users, ctx=ctx)
