"""Views of the auth blueprint; the rules live in saas.services.accounts.credentials."""

from __future__ import annotations

import hashlib
import time

from flask import (
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required, logout_user
from sqlalchemy.exc import IntegrityError

from saas.auth import bp, mails, throttle
from saas.auth.forms import (
    ConfirmForm,
    ForgotPasswordForm,
    LoginForm,
    RegisterForm,
    ResetPasswordForm,
    TwoFactorForm,
)
from saas.auth.sessions import safe_next_url, session_version, start_session
from saas.auth.web import config_limit, key_ring, login_settings, utc_now
from saas.extensions import client_address, db, limiter
from saas.models import USER_ACTIVE, User
from saas.services.accounts import credentials as accounts
from saas.services.accounts import totp
from saas.services.accounts.audit import record_audit
from saas.services.accounts.tokens import TokenError, user_for_reset, user_for_verification
from saas.services.accounts.users import AccountError, normalize_email
from saas.services.admin.accounts import suspended_login_message
from saas.web_security import client_ip

INVALID_LOGIN = "Wrong e-mail address or password."
LOCKED_LOGIN = (
    "Too many failed attempts: signing in is paused for a while. Try again in 15 minutes, or "
    "set a new password with \u201cForgot your password?\u201d."
)
RECOVERY_USED = (
    "You signed in with a recovery code; it will not work again. Make new codes in your "
    "account settings if you are running low."
)
PENDING_KEY = "two_factor_pending"


def index():
    """The start page: your dashboard (or bots) when logged in, else the login page."""
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    for start in ("dashboard.index", "bots.index"):
        if start in current_app.view_functions:
            return redirect(url_for(start))
    return redirect(url_for("account.settings"))


bp.record_once(lambda state: state.app.add_url_rule("/", "index", index))


def _typed_email_key() -> str:
    """Rate-limit key of the address typed into a form (hashed)."""
    typed = normalize_email(request.form.get("email", ""))
    return "email:" + hashlib.sha256(typed.encode()).hexdigest()[:32]


def _pending_key() -> str:
    """Rate-limit key of the half-logged-in user waiting for their second factor."""
    pending = session.get(PENDING_KEY) or {}
    return f"two-factor:{pending.get('uid', client_address())}"


def finish_login(
    user: User, remember: bool, next_url: str | None, method: str, notice: str | None = None
):
    """Record the sign-in, start a fresh session and go where the user was headed."""
    accounts.complete_login(db.session, user, now=utc_now(), ip=client_ip(), method=method)
    db.session.commit()
    throttle.clear_account(user.email)
    start_session(user, remember=remember)
    if notice:
        flash(notice, "warning")  # after start_session, which empties the session
    return redirect(safe_next_url(next_url) or url_for("index"))


def _attempt_login(form: LoginForm):
    """A redirect when the password was right; None (with the form's error set) otherwise."""
    email = form.email.data
    if throttle.login_blocked(email):
        form.form_errors.append(LOCKED_LOGIN)
        return None
    suspended = suspended_login_message(db.session, email, form.password.data)
    if suspended:  # the right password of a suspended account: tell them why
        form.form_errors.append(suspended)
        return None
    result = accounts.authenticate(
        db.session,
        email,
        form.password.data,
        now=utc_now(),
        ip=client_ip(),
        settings=login_settings(),
    )
    if result.status != accounts.LOGIN_OK:
        if result.status == accounts.LOGIN_INVALID:
            throttle.count_failure(email)
        db.session.commit()
        form.form_errors.append(
            LOCKED_LOGIN if result.status == accounts.LOGIN_LOCKED else INVALID_LOGIN
        )
        return None
    user = result.user
    db.session.commit()  # an upgraded password hash
    if user.totp_secret_encrypted:
        session.clear()
        session[PENDING_KEY] = {
            "uid": user.id,
            "sv": session_version(user),
            "remember": bool(form.remember.data),
            "next": form.next.data,
            "at": int(time.time()),
        }
        return redirect(url_for("auth.two_factor"))
    return finish_login(user, bool(form.remember.data), form.next.data, "password")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(config_limit("LOGIN_REQUEST_LIMIT"), methods=["POST"])
def login():
    """E-mail and password; then the second factor when the account has one."""
    if current_user.is_authenticated:
        return redirect(url_for("index"))
    form = LoginForm()
    if request.method == "GET":
        form.next.data = safe_next_url(request.args.get("next"))
    if form.validate_on_submit():
        response = _attempt_login(form)
        if response is not None:
            return response
    return render_template("auth/login.html", form=form), 400 if form.errors else 200


def _pending_user() -> User | None:
    """The user who gave the right password and now owes a code, while that is recent."""
    pending = session.get(PENDING_KEY)
    if not isinstance(pending, dict):
        return None
    if time.time() - float(pending.get("at", 0)) > current_app.config["TWO_FACTOR_PENDING_MAX_AGE"]:
        return None
    user = db.session.get(User, pending.get("uid"))
    if user is None or user.status != USER_ACTIVE or pending.get("sv") != session_version(user):
        return None
    return user


@bp.route("/two-factor", methods=["GET", "POST"])
@limiter.limit(
    config_limit("TOTP_LIMIT"),
    methods=["POST"],
    key_func=_pending_key,
    deduct_when=lambda response: response.status_code != 302,
)
@limiter.limit(
    config_limit("TOTP_LIMIT"),
    methods=["POST"],
    deduct_when=lambda response: response.status_code != 302,
)
def two_factor():
    """The code from the authenticator app, or a recovery code."""
    user = _pending_user()
    if user is None:
        session.pop(PENDING_KEY, None)
        flash("Please log in again.", "info")
        return redirect(url_for("auth.login"))
    if accounts.is_locked(user, utc_now()):
        session.pop(PENDING_KEY, None)
        flash(LOCKED_LOGIN, "error")
        return redirect(url_for("auth.login"))
    form = TwoFactorForm()
    if form.validate_on_submit():
        method = totp.check_second_factor(user, key_ring(), form.code.data, utc_now())
        if method is not None:
            pending = session.pop(PENDING_KEY)
            return finish_login(
                user,
                pending.get("remember", False),
                pending.get("next"),
                f"password+{method}",
                RECOVERY_USED if method == "recovery" else None,
            )
        accounts.record_failure(
            db.session,
            user,
            "totp_failed",
            now=utc_now(),
            ip=client_ip(),
            settings=login_settings(),
        )
        db.session.commit()
        form.code.errors.append("That code is not right. Check your app's clock and try again.")
    return render_template("auth/two_factor.html", form=form), 200 if not form.errors else 400


@bp.post("/logout")
@login_required
def logout():
    """End this session (POST only, with its CSRF token)."""
    record_audit(current_user, "logout", ip=client_ip(), session=db.session, now=utc_now())
    db.session.commit()
    logout_user()
    session.clear()
    flash("You are logged out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(config_limit("REGISTER_LIMIT"), methods=["POST"])
def register():
    """Create an account; the answer is the same whether or not the address has one."""
    if current_user.is_authenticated:
        return redirect(url_for("index"))
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            user, created = accounts.register(
                db.session, form.email.data, form.password.data, now=utc_now(), ip=client_ip()
            )
            db.session.commit()
        except AccountError as exc:
            db.session.rollback()
            form.email.errors.append(str(exc))
            return render_template("auth/register.html", form=form), 400
        except IntegrityError:  # the same address registered a moment ago
            db.session.rollback()
            user, created = accounts.find_user(db.session, form.email.data), False
        if created:
            mails.send_verification(user)
        elif user is not None:
            mails.send_already_registered(user)
        return render_template(
            "auth/check_email.html", email=normalize_email(form.email.data), purpose="register"
        )
    return render_template("auth/register.html", form=form), 400 if form.errors else 200


@bp.route("/verify/<token>", methods=["GET", "POST"])
def verify_email(token: str):
    """Confirm an address: the link opens a page whose button (a POST) confirms it."""
    try:
        user = user_for_verification(
            db.session, current_app.secret_key, token, current_app.config["EMAIL_VERIFY_MAX_AGE"]
        )
    except TokenError as exc:
        return render_template("auth/link_invalid.html", message=str(exc)), 400
    form = ConfirmForm()
    if form.validate_on_submit():
        accounts.mark_email_verified(db.session, user, now=utc_now(), ip=client_ip())
        db.session.commit()
        flash(f"Thank you: {user.email} is confirmed.", "success")
        return redirect(url_for("index"))
    return render_template("auth/verify.html", form=form, email=user.email)


@bp.post("/resend-verification")
@login_required
@limiter.limit(config_limit("RESEND_LIMIT"), key_func=lambda: f"resend:{current_user.id}")
def resend_verification():
    """Send the confirmation link again."""
    if current_user.email_verified:
        flash("Your address is already confirmed.", "info")
    elif mails.send_verification(current_user):
        flash(f"We sent a new link to {current_user.email}.", "success")
    else:
        flash("We could not send the mail just now. Please try again later.", "error")
    return redirect(url_for("account.settings"))


@bp.route("/forgot", methods=["GET", "POST"])
@limiter.limit(config_limit("RESET_REQUEST_LIMIT"), methods=["POST"])
@limiter.limit(config_limit("RESET_REQUEST_LIMIT"), methods=["POST"], key_func=_typed_email_key)
def forgot_password():
    """Ask for a reset link; the answer never tells whether the address has an account."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        user = accounts.find_user(db.session, form.email.data)
        if user is not None and user.status == USER_ACTIVE:
            mails.send_password_reset(user)
            record_audit(
                user, "password_reset_requested", ip=client_ip(), session=db.session, now=utc_now()
            )
            db.session.commit()
        return render_template(
            "auth/check_email.html", email=normalize_email(form.email.data), purpose="reset"
        )
    return render_template("auth/forgot.html", form=form), 400 if form.errors else 200


@bp.route("/reset/<token>", methods=["GET", "POST"])
@limiter.limit(config_limit("RESET_LIMIT"), methods=["POST"])
def reset_password(token: str):
    """Choose a new password from a mailed link (once, before it expires)."""
    try:
        user = user_for_reset(
            db.session, current_app.secret_key, token, current_app.config["PASSWORD_RESET_MAX_AGE"]
        )
    except TokenError as exc:
        return render_template("auth/link_invalid.html", message=str(exc)), 400
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            accounts.reset_password(
                db.session, user, form.password.data, now=utc_now(), ip=client_ip()
            )
        except AccountError as exc:
            db.session.rollback()
            form.password.errors.append(str(exc))
        else:
            db.session.commit()
            throttle.clear_account(user.email)
            mails.send_password_changed(user)
            if current_user.is_authenticated:
                logout_user()
            session.clear()
            flash("Your new password is set. Log in with it.", "success")
            return redirect(url_for("auth.login"))
    status = 400 if form.errors else 200
    return render_template("auth/reset.html", form=form, token=token), status
