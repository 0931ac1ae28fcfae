"""flask-login wiring: the user loader checks a session version, so a password change ends
every other session; JSON callers get a 401 instead of the login page.

The session stores "<user id>:<fingerprint of the password hash>" (flask-login's alternative
id). A new password gives a new fingerprint, so sessions and remember-me cookies made before it
no longer load a user; the device that changed it logs in again at once (``refresh_login``).
"""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit

from flask import current_app, flash, jsonify, redirect, request, session, url_for
from flask_login import login_user

from saas.errors import wants_json
from saas.extensions import db, login_manager
from saas.models import USER_ACTIVE, User
from saas.services.accounts.tokens import fingerprint


def session_version(user: User) -> str:
    """The part of a session id that changes with the password."""
    return fingerprint(current_app.secret_key, user.password_hash or "")


def _get_id(self: User) -> str:
    """flask-login's id of a user: the id and the session version."""
    return f"{self.id}:{session_version(self)}"


def install_user_protocol() -> None:
    """Give User the attributes flask-login reads (the data layer's model stays Flask-free).

    Always (re)installed, so the session format is ours even if the model gains UserMixin.
    """
    User.is_authenticated = property(lambda self: True)
    User.is_anonymous = property(lambda self: False)
    User.is_active = property(lambda self: self.status == USER_ACTIVE)
    User.get_id = _get_id


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    """The session's user while active and while the password is the one it logged in with."""
    user_id, _, version = (session_id or "").partition(":")
    if not user_id.isdigit() or not version:
        return None
    user = db.session.get(User, int(user_id))
    if user is None or user.status != USER_ACTIVE:
        return None
    if not hmac.compare_digest(version, session_version(user)):
        return None
    return user


@login_manager.unauthorized_handler
def unauthorized():
    """Browsers go to the login page (back here afterwards); JSON callers get a 401."""
    if wants_json():
        return jsonify(
            {"error": "Please log in", "message": "You need to log in to do that.", "status": 401}
        ), 401
    flash(login_manager.login_message, login_manager.login_message_category)
    target = request.full_path.rstrip("?") if request.method == "GET" else None
    return redirect(url_for("auth.login", next=target) if target else url_for("auth.login"))


def start_session(user: User, remember: bool = False) -> None:
    """Log ``user`` in on a fresh session: nothing of the anonymous session is carried over."""
    user = getattr(user, "_get_current_object", lambda: user)()  # current_user is a proxy
    session.clear()
    login_user(user, remember=remember, fresh=True)


def refresh_login(user: User) -> None:
    """Keep this device logged in after the password changed (other sessions end)."""
    remember = bool(
        request.cookies.get(current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token"))
    )
    start_session(user, remember=remember)


def safe_next_url(target: str | None) -> str | None:
    """``target`` when it is a path on this site, else None (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target
