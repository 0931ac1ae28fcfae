"""flask-login wiring: sessions that really end, an inactivity timeout, 401s for JSON callers.

The session (and the remember-me cookie) stores "<user id>:<version>" (flask-login's
alternative id), where the version is a keyed digest of the password hash and the user's
session generation. Logging out, changing the password and "log out other devices" raise the
generation (saas.services.accounts.credentials.end_sessions), so every copy of every cookie made
before stops loading a user: the check is in ``load_user``, on every request.

Sessions that did not ask to be remembered also end after SESSION_IDLE_MINUTES without a
request (``check_idle_session``). Both checks concern cookie sessions only: a request
authenticated otherwise (an API token) carries no session user and is not touched, so a token
route needs nothing from this module.
"""

from __future__ import annotations

import hmac
import time
from urllib.parse import urlsplit

from flask import current_app, flash, jsonify, redirect, request, session, url_for
from flask_login import login_user, logout_user, user_loaded_from_cookie

from saas.errors import wants_json
from saas.extensions import db, login_manager
from saas.models import USER_ACTIVE, User
from saas.services.accounts.tokens import fingerprint

SEEN_KEY = "_seen"  # when this session last made a request (epoch seconds)
REMEMBERED_KEY = "_remembered"  # the user ticked "keep me logged in": no idle timeout
SEEN_RESOLUTION_S = 60  # rewrite the cookie at most once a minute for the idle clock
IDLE_MESSAGE = "You were logged out after {minutes} minutes without activity. Please log in again."


def session_version(user: User) -> str:
    """The part of a session id that changes with the password and the session generation."""
    material = f"{user.password_hash or ''}|{user.session_generation or 0}"
    return fingerprint(current_app.secret_key, material)


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
    """The session's user while active and while the session's version is the current one."""
    user_id, _, version = (session_id or "").partition(":")
    if not user_id.isascii() or not user_id.isdigit() or len(user_id) > 10 or not version:
        return None
    user = db.session.get(User, int(user_id))
    if user is None or user.status != USER_ACTIVE:
        return None
    if not hmac.compare_digest(version, session_version(user)):
        return None
    return user


@user_loaded_from_cookie.connect
def _restored_from_remember_cookie(_app, user=None, **_extra) -> None:
    """A session rebuilt from the remember-me cookie was asked to be remembered."""
    session[REMEMBERED_KEY] = True


def idle_limit_seconds() -> int:
    """SESSION_IDLE_MINUTES in seconds (0 turns the timeout off)."""
    return int(current_app.config.get("SESSION_IDLE_MINUTES", 30)) * 60


def check_idle_session() -> None:
    """Before each request: end a cookie session idle for too long; else note this request.

    Only sessions holding a user id are concerned; token-authenticated requests have none.
    """
    if "_user_id" not in session or session.get(REMEMBERED_KEY):
        return
    now, limit = int(time.time()), idle_limit_seconds()
    seen = session.get(SEEN_KEY)
    if limit and isinstance(seen, int) and now - seen > limit:
        logout_user()
        session.clear()
        flash(IDLE_MESSAGE.format(minutes=limit // 60), "info")
        return
    if not isinstance(seen, int) or now - seen >= SEEN_RESOLUTION_S:
        session[SEEN_KEY] = now


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
    session[SEEN_KEY] = int(time.time())
    if remember:
        session[REMEMBERED_KEY] = True


def refresh_login(user: User) -> None:
    """Keep this device logged in after the password or session generation changed."""
    remember = bool(session.get(REMEMBERED_KEY)) or bool(
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


def init_app(app) -> None:
    """Check idle sessions before every request."""
    app.before_request(check_idle_session)
