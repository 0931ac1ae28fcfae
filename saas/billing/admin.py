"""The admin plan form: an administrator sets any user's plan by hand (audited).

For self-hosters who do not charge (no Stripe key) this is how plans change; with Stripe it is
for comped accounts, and the next webhook of a user's subscription will override it.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from saas.billing import bp, settings
from saas.billing.forms import PlanForm
from saas.billing.notices import send_notices
from saas.decorators import admin_required
from saas.extensions import db
from saas.models import User
from saas.plans import FREE
from saas.services.accounts.credentials import find_user
from saas.services.billing.subscriptions import set_plan

LISTED_USERS = 50


@bp.route("/admin", methods=["GET", "POST"])
@admin_required
def admin_plans():
    """Set a user's plan; the users on paid plans are listed below the form."""
    ctx = settings.context(current_app.config)
    form = PlanForm()
    form.plan.choices = [(plan.key, plan.name) for plan in ctx.plans.values()]
    if form.validate_on_submit():
        user = find_user(db.session, form.email.data)
        if user is None:
            form.email.errors = [*form.email.errors, "There is no user with that e-mail."]
        else:
            change = set_plan(
                db.session,
                user,
                form.plan.data,
                ctx.plans,
                datetime.now(UTC),
                admin=current_user,
                ip=request.remote_addr,
                base_url=ctx.base_url,
            )
            db.session.commit()
            send_notices(current_app._get_current_object(), change.notices)
            paused = f"; {len(change.paused)} bot(s) paused" if change.paused else ""
            flash(
                f"{user.email} is on the {ctx.plans[form.plan.data].name} plan now{paused}.",
                "success",
            )
            return redirect(url_for("billing.admin_plans"))
    users = db.session.scalars(
        select(User).where(User.plan != FREE).order_by(User.email).limit(LISTED_USERS)
    ).all()
    return render_template("billing/admin.html", form=form, users=users, ctx=ctx)
