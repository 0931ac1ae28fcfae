"""Views of the account blueprint; the rules live in saas.services.accounts (credentials, totp)."""

from __future__ import annotations

import json

from flask import Response, current_app, flash, redirect, render_template, session, url_for
from flask_login import current_user, login_required, logout_user

from saas.account import bp
from saas.account.forms import (
    ChangeEmailForm,
    ChangePasswordForm,
    DeleteAccountForm,
    DisableTwoFactorForm,
    EnableTwoFactorForm,
    PasswordConfirmForm,
)
from saas.auth import mails
from saas.auth.sessions import refresh_login
from saas.auth.web import config_limit, key_ring, utc_now
from saas.extensions import db, limiter
from saas.security import user_context, verify_and_upgrade
from saas.services.accounts import credentials as accounts
from saas.services.accounts import totp
from saas.services.accounts.audit import record_audit
from saas.services.accounts.users import AccountError
from saas.web_security import client_ip

SETUP_KEY = "two_factor_setup"


def reauth_limit():
    """Password-checking forms: REAUTH_LIMIT failed tries per user (successes redirect)."""
    return limiter.limit(
        config_limit("REAUTH_LIMIT"),
        methods=["POST"],
        key_func=lambda: f"reauth:{current_user.id}",
        deduct_when=lambda response: response.status_code != 302,
    )


def _render(template: str, status: int = 200, **context):
    """A page with the status of its form (400 when it is shown again with errors)."""
    return render_template(template, **context), status


@bp.get("/settings")
@login_required
def settings():
    """What the account is set to, with links to change it."""
    ring = key_ring()
    return render_template(
        "account/settings.html",
        two_factor=bool(current_user.totp_secret_encrypted),
        recovery_left=totp.remaining_recovery_codes(current_user, ring),
    )


@bp.route("/password", methods=["GET", "POST"])
@login_required
@reauth_limit()
def change_password():
    """New password (current one first); other devices are logged out."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            accounts.change_password(
                db.session,
                current_user,
                form.current_password.data,
                form.password.data,
                now=utc_now(),
                ip=client_ip(),
            )
        except AccountError as exc:
            db.session.rollback()
            form.current_password.errors.append(str(exc))
        else:
            db.session.commit()
            refresh_login(current_user)
            mails.send_password_changed(current_user)
            flash("Your password is changed. Other devices were logged out.", "success")
            return redirect(url_for("account.settings"))
    return _render("account/password.html", 400 if form.errors else 200, form=form)


@bp.route("/email", methods=["GET", "POST"])
@login_required
@reauth_limit()
def change_email():
    """Move the account to a new address; the link to confirm it goes there."""
    form = ChangeEmailForm()
    if form.validate_on_submit():
        try:
            old = accounts.change_email(
                db.session,
                current_user,
                form.current_password.data,
                form.email.data,
                now=utc_now(),
                ip=client_ip(),
            )
        except AccountError as exc:
            db.session.rollback()
            target = form.current_password if "password" in str(exc) else form.email
            target.errors.append(str(exc))
        else:
            db.session.commit()
            mails.send_verification(current_user)
            mails.send_email_changed(old, current_user.email)
            flash(
                f"Your address is now {current_user.email}. We sent a link there to confirm it.",
                "success",
            )
            return redirect(url_for("account.settings"))
    return _render("account/email.html", 400 if form.errors else 200, form=form)


def _setup_secret() -> str:
    """The secret being set up, kept encrypted in the session until the first code matches."""
    ring, context = key_ring(), user_context(current_user.id, "totp-setup")
    stored = session.get(SETUP_KEY)
    if stored:
        try:
            return ring.decrypt(context, stored)
        except ValueError:
            pass  # a session from before a key change: start again
    secret = totp.new_secret()
    session[SETUP_KEY] = ring.encrypt(context, secret)
    return secret


@bp.route("/two-factor", methods=["GET", "POST"])
@login_required
@limiter.limit(
    config_limit("TOTP_LIMIT"), methods=["POST"], key_func=lambda: f"totp-setup:{current_user.id}"
)
def two_factor():
    """Turn two-factor sign-in on (scan, type the first code) or see and manage it."""
    if current_user.totp_secret_encrypted:
        return render_template(
            "account/two_factor.html",
            enabled=True,
            disable_form=DisableTwoFactorForm(),
            codes_form=PasswordConfirmForm(),
            recovery_left=totp.remaining_recovery_codes(current_user, key_ring()),
        )
    secret = _setup_secret()
    form = EnableTwoFactorForm()
    if form.validate_on_submit():
        codes = accounts.enable_two_factor(
            db.session,
            current_user,
            key_ring(),
            secret,
            form.code.data,
            now=utc_now(),
            ip=client_ip(),
        )
        if codes is not None:
            db.session.commit()
            session.pop(SETUP_KEY, None)
            flash("Two-factor sign-in is on.", "success")
            return render_template("account/recovery_codes.html", codes=codes)
        form.code.errors.append("That code is not right. Check your phone's clock and try again.")
    uri = totp.provisioning_uri(secret, current_user.email)
    return _render(
        "account/two_factor.html",
        400 if form.errors else 200,
        enabled=False,
        form=form,
        qr=totp.qr_data_uri(uri),
        secret=secret,
    )


@bp.post("/two-factor/disable")
@login_required
@reauth_limit()
def disable_two_factor():
    """Turn two-factor sign-in off (password and a code)."""
    if not current_user.totp_secret_encrypted:
        return redirect(url_for("account.two_factor"))
    form = DisableTwoFactorForm()
    if form.validate_on_submit():
        try:
            accounts.disable_two_factor(
                db.session,
                current_user,
                key_ring(),
                form.current_password.data,
                form.code.data,
                now=utc_now(),
                ip=client_ip(),
            )
        except AccountError as exc:
            db.session.rollback()
            target = form.current_password if "password" in str(exc) else form.code
            target.errors.append(str(exc))
        else:
            db.session.commit()
            flash("Two-factor sign-in is off.", "success")
            return redirect(url_for("account.settings"))
    return _render(
        "account/two_factor.html",
        400,
        enabled=True,
        disable_form=form,
        codes_form=PasswordConfirmForm(),
        recovery_left=totp.remaining_recovery_codes(current_user, key_ring()),
    )


@bp.post("/two-factor/recovery-codes")
@login_required
@reauth_limit()
def recovery_codes():
    """New recovery codes (the old ones stop working), shown once."""
    if not current_user.totp_secret_encrypted:
        return redirect(url_for("account.two_factor"))
    form = PasswordConfirmForm()
    if form.validate_on_submit():
        try:
            codes = accounts.new_recovery_codes(
                db.session,
                current_user,
                key_ring(),
                form.current_password.data,
                now=utc_now(),
                ip=client_ip(),
            )
        except AccountError as exc:
            db.session.rollback()
            form.current_password.errors.append(str(exc))
        else:
            db.session.commit()
            return render_template("account/recovery_codes.html", codes=codes)
    return _render(
        "account/two_factor.html",
        400,
        enabled=True,
        disable_form=DisableTwoFactorForm(),
        codes_form=form,
        recovery_left=totp.remaining_recovery_codes(current_user, key_ring()),
    )


@bp.route("/sessions", methods=["GET", "POST"])
@login_required
@reauth_limit()
def end_other_sessions():
    """Log out every other device (a new session generation: their cookies stop loading)."""
    form = PasswordConfirmForm()
    if form.validate_on_submit():
        if verify_and_upgrade(current_user, form.current_password.data):
            accounts.end_sessions(current_user)
            record_audit(
                current_user,
                "sessions_ended",
                target=current_user,
                ip=client_ip(),
                session=db.session,
                now=utc_now(),
            )
            db.session.commit()
            refresh_login(current_user)
            flash("Other devices are logged out.", "success")
            return redirect(url_for("account.settings"))
        form.current_password.errors.append("Your current password is not right.")
    return _render("account/sessions.html", 400 if form.errors else 200, form=form)


def _end_subscription(user) -> None:
    """Cancel a live Stripe subscription before the account goes (when billing is installed)."""
    if "billing" not in current_app.blueprints:
        return
    from saas.billing.checkout import StripeUnavailable, cancel_for_deleted_account  # noqa: PLC0415
    from saas.billing.settings import context  # noqa: PLC0415

    try:
        cancel_for_deleted_account(user, context(current_app.config))
    except StripeUnavailable:
        raise AccountError(
            "Stripe could not be reached to cancel your subscription, so nothing was deleted; "
            "try again in a few minutes."
        ) from None


@bp.route("/delete", methods=["GET", "POST"])
@login_required
@reauth_limit()
def delete_account():
    """Delete the account and everything in it (password and a tick box)."""
    form = DeleteAccountForm()
    if form.validate_on_submit():
        try:
            accounts.delete_account(
                db.session,
                current_user,
                form.current_password.data,
                now=utc_now(),
                ip=client_ip(),
                before_delete=_end_subscription,
            )
        except AccountError as exc:
            db.session.rollback()
            form.current_password.errors.append(str(exc))
        else:
            db.session.commit()
            logout_user()
            session.clear()
            flash("Your account and its data are deleted.", "info")
            return redirect(url_for("auth.login"))
    return _render("account/delete.html", 400 if form.errors else 200, form=form)


@bp.get("/export")
@login_required
def export():
    """Everything you own as a JSON download (no keys, secrets or hashes)."""
    now = utc_now()
    data = accounts.export_data(db.session, current_user, now=now)
    record_audit(
        current_user,
        "data_exported",
        target=current_user,
        ip=client_ip(),
        session=db.session,
        now=now,
    )
    db.session.commit()
    body = json.dumps(data, indent=2, sort_keys=True)
    filename = f"dcabot-export-{now:%Y%m%d-%H%M%S}.json"
    return Response(
        body,
        mimetype="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )
