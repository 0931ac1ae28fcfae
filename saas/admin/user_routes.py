"""Admin views of users: the list, one user's page and the actions on their account."""

from __future__ import annotations

from datetime import UTC, datetime, time

from flask import current_app, flash, redirect, render_template, request, url_for

from saas.admin import bp, filters
from saas.admin.access import actor, now, staff_route
from saas.admin.forms import ActionForm, DisableTwoFactorForm, SuspendForm, UserPlanForm
from saas.auth import mails
from saas.auth.web import key_ring
from saas.billing.notices import send_notices
from saas.billing.settings import context as billing_context
from saas.extensions import db
from saas.models.users import PLAN_FREE, ROLES, USER_STATUSES
from saas.services.admin import accounts
from saas.services.admin.users import SORTS, UserFilters, all_users, any_user, user_overview

YES_NO = ("yes", "no")


def _plans():
    """The plan table of this app."""
    return billing_context(current_app.config).plans


def _user_or_404(user_id: int):
    """Any tenant's user, or a 404."""
    user = any_user(db.session, user_id)
    if user is None:
        from flask import abort  # noqa: PLC0415

        abort(404)
    return user


@bp.get("/")
@staff_route
def index():
    """The admin start page is the users list."""
    return redirect(url_for("admin.users"))


@bp.get("/users")
@staff_route
def users():
    """Every user, searchable, filtered, sorted and paged."""
    args = request.args
    plans = _plans()
    chosen = UserFilters(
        q=filters.text(args, "q"),
        plan=filters.text(args, "plan", set(plans)),
        status=filters.text(args, "status", USER_STATUSES),
        role=filters.text(args, "role", ROLES),
        confirmed=filters.text(args, "confirmed", YES_NO),
        two_factor=filters.text(args, "two_factor", YES_NO),
        created_from=filters.day(args, "created_from"),
        created_to=filters.day(args, "created_to"),
        sort=filters.text(args, "sort", SORTS) or "created",
        descending=args.get("dir") != "asc",
    )
    page = all_users(db.session, chosen, filters.page(args))
    return render_template(
        "admin/users.html",
        page=page,
        f=chosen,
        plans=plans,
        roles=ROLES,
        statuses=USER_STATUSES,
        args=filters.query_without(args, "page"),
    )


def _user_page(user, status: int = 200, **forms):
    """The user page with its forms (those given keep their errors)."""
    plans = _plans()
    plan_form = forms.get("plan_form") or UserPlanForm()
    plan_form.plan.choices = [(p.key, p.name) for p in plans.values()]
    if not plan_form.is_submitted():
        plan_form.plan.data = user.plan_override or user.plan or PLAN_FREE
    overview = user_overview(db.session, user, plans, now())
    return render_template(
        "admin/user.html",
        o=overview,
        plans=plans,
        action_form=ActionForm(),
        suspend_form=forms.get("suspend_form") or SuspendForm(),
        two_factor_form=forms.get("two_factor_form") or DisableTwoFactorForm(),
        plan_form=plan_form,
        now=now(),
    ), status


@bp.get("/users/<int:user_id>")
@staff_route
def user_detail(user_id: int):
    """One user: plan and subscription, bots, trades, runs, logins, invoices, trail."""
    return _user_page(_user_or_404(user_id))


def _done(user, message: str):
    """Commit, say what happened and go back to the user page."""
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("admin.user_detail", user_id=user.id))


def _refused(user, exc: Exception):
    """Roll back and say why the action was refused."""
    db.session.rollback()
    flash(str(exc), "error")
    return redirect(url_for("admin.user_detail", user_id=user.id))


@bp.post("/users/<int:user_id>/suspend")
@staff_route
def user_suspend(user_id: int):
    """Suspend the account with a reason; its running bots pause."""
    user = _user_or_404(user_id)
    form = SuspendForm()
    if not form.validate_on_submit():
        return _user_page(user, 400, suspend_form=form)
    try:
        paused = accounts.suspend_user(db.session, user, form.reason.data, now=now(), actor=actor())
    except accounts.AdminActionError as exc:
        return _refused(user, exc)
    return _done(user, f"{user.email} is suspended; {len(paused)} running bot(s) paused.")


@bp.post("/users/<int:user_id>/unsuspend")
@staff_route
def user_unsuspend(user_id: int):
    """Lift the suspension; the bots it paused run again."""
    user = _user_or_404(user_id)
    if not ActionForm().validate_on_submit():
        return redirect(url_for("admin.user_detail", user_id=user.id))
    try:
        resumed = accounts.unsuspend_user(db.session, user, _plans(), now=now(), actor=actor())
    except accounts.AdminActionError as exc:
        return _refused(user, exc)
    return _done(user, f"{user.email} is active again; {len(resumed)} bot(s) resumed.")


@bp.post("/users/<int:user_id>/password-reset")
@staff_route
def user_password_reset(user_id: int):
    """End the password (and every session) and mail a reset link."""
    user = _user_or_404(user_id)
    if not ActionForm().validate_on_submit():
        return redirect(url_for("admin.user_detail", user_id=user.id))
    accounts.force_password_reset(db.session, user, now=now(), actor=actor())
    db.session.commit()
    sent = mails.send_password_reset(user)
    flash(
        f"{user.email} must set a new password; "
        + ("a reset link is on its way." if sent else "the reset mail could not be sent."),
        "success" if sent else "warning",
    )
    return redirect(url_for("admin.user_detail", user_id=user.id))


@bp.post("/users/<int:user_id>/two-factor-off")
@staff_route
def user_two_factor_off(user_id: int):
    """Turn two-factor sign-in off after the identity check (audited with its note)."""
    user = _user_or_404(user_id)
    form = DisableTwoFactorForm()
    if not form.validate_on_submit():
        return _user_page(user, 400, two_factor_form=form)
    try:
        accounts.disable_two_factor(
            db.session,
            user,
            key_ring(),
            identity_note=form.identity_note.data,
            confirm_email=form.confirm_email.data,
            admin_password=form.password.data,
            now=now(),
            actor=actor(),
        )
    except accounts.AdminActionError as exc:
        db.session.rollback()
        form.form_errors.append(str(exc))
        return _user_page(user, 400, two_factor_form=form)
    return _done(user, f"Two-factor sign-in is off for {user.email}.")


@bp.post("/users/<int:user_id>/plan")
@staff_route
def user_plan(user_id: int):
    """Set the plan by hand: an override until a date, or the lasting manual plan."""
    user = _user_or_404(user_id)
    plans = _plans()
    form = UserPlanForm()
    form.plan.choices = [(p.key, p.name) for p in plans.values()]
    if not form.validate_on_submit():
        return _user_page(user, 400, plan_form=form)
    until = datetime.combine(form.until.data, time(), tzinfo=UTC) if form.until.data else None
    ctx = billing_context(current_app.config)
    try:
        change = accounts.override_plan(
            db.session,
            user,
            form.plan.data,
            until,
            plans,
            now=now(),
            actor=actor(),
            base_url=ctx.base_url,
        )
    except accounts.AdminActionError as exc:
        db.session.rollback()
        form.until.errors = [*form.until.errors, str(exc)]
        return _user_page(user, 400, plan_form=form)
    db.session.commit()
    send_notices(current_app._get_current_object(), change.notices)
    name = plans[form.plan.data].name
    until_text = f" until {until:%Y-%m-%d}" if until else ""
    paused = f"; {len(change.paused)} bot(s) paused" if change.paused else ""
    flash(f"{user.email} is on the {name} plan{until_text}{paused}.", "success")
    return redirect(url_for("admin.user_detail", user_id=user.id))


@bp.post("/users/<int:user_id>/plan-override/end")
@staff_route
def user_plan_override_end(user_id: int):
    """End a plan override now."""
    user = _user_or_404(user_id)
    if not ActionForm().validate_on_submit():
        return redirect(url_for("admin.user_detail", user_id=user.id))
    try:
        accounts.end_plan_override(db.session, user, _plans(), now=now(), actor=actor())
    except accounts.AdminActionError as exc:
        return _refused(user, exc)
    return _done(user, f"The plan override of {user.email} has ended.")


@bp.post("/users/<int:user_id>/resend-confirmation")
@staff_route
def user_resend_confirmation(user_id: int):
    """Mail the confirmation link again."""
    user = _user_or_404(user_id)
    if not ActionForm().validate_on_submit():
        return redirect(url_for("admin.user_detail", user_id=user.id))
    try:
        accounts.note_confirmation_resent(db.session, user, now=now(), actor=actor())
    except accounts.AdminActionError as exc:
        return _refused(user, exc)
    db.session.commit()
    if mails.send_verification(user):
        flash(f"A new confirmation link is on its way to {user.email}.", "success")
    else:
        flash("The confirmation mail could not be sent just now.", "warning")
    return redirect(url_for("admin.user_detail", user_id=user.id))
