"""View as a user: the staff member's session shows the pages as that user sees them, read-only.

The session keeps the staff member logged in and notes whom they view; before each request the
user of the request becomes the viewed user (``g._login_user``, flask-login's per-request user)
and ``g.impersonator`` the staff member. Every write is refused (403), and so is every page that
could show key material (keys, two-factor setup, recovery codes, the data export). Start and end
are audited; logging out ends the view too.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import abort, flash, g, redirect, request, session, url_for
from flask_login import current_user, login_required

from saas.admin import bp
from saas.admin.access import READ_METHODS, actor, now, staff_route
from saas.admin.forms import ActionForm
from saas.extensions import db
from saas.models import User
from saas.services.admin.accounts import Actor, AdminActionError
from saas.services.admin.impersonation import end_impersonation, start_impersonation
from saas.services.admin.users import any_user
from saas.web_security import client_ip

SESSION_KEY = "impersonating"
# What a viewer may open: the pages a user reads about their bots, trades and plan.
VIEWABLE_BLUEPRINTS = frozenset({"bots", "dashboard", "billing"})
VIEWABLE_ENDPOINTS = frozenset({"index", "static", "account.settings", "account.activity"})
# Pages of those blueprints that show or make secrets.
HIDDEN_ENDPOINTS = frozenset({"bots.keys", "bots.check_keys", "bots.test_connection"})
LEAVE_ENDPOINT = "admin.impersonate_stop"


def viewing() -> bool:
    """Whether this request is a staff member viewing as a user."""
    return getattr(g, "impersonator", None) is not None


def _allowed(endpoint: str | None) -> bool:
    """Whether a viewer may open this endpoint (reads only)."""
    if endpoint is None or endpoint in HIDDEN_ENDPOINTS:
        return False
    blueprint = endpoint.partition(".")[0] if "." in endpoint else None
    return endpoint in VIEWABLE_ENDPOINTS or blueprint in VIEWABLE_BLUEPRINTS


def _finish(staff: User, data: dict) -> None:
    """Audit the end of the view and forget it."""
    session.pop(SESSION_KEY, None)
    started = datetime.fromtimestamp(float(data.get("at", 0)), UTC)
    end_impersonation(
        db.session, int(data["uid"]), started, now=now(), actor=Actor(staff, client_ip())
    )
    db.session.commit()


@bp.before_app_request
def apply_impersonation():
    """Make the viewed user this request's user, and refuse what a viewer may not do."""
    data = session.get(SESSION_KEY)
    if not isinstance(data, dict):
        return None
    staff = current_user._get_current_object()
    target = db.session.get(User, data.get("uid")) if str(data.get("uid", "")).isdigit() else None
    if not getattr(staff, "is_staff", False) or target is None:
        session.pop(SESSION_KEY, None)  # logged out, demoted, or the user is gone
        return None
    if request.endpoint in ("auth.logout", LEAVE_ENDPOINT):
        if request.endpoint == "auth.logout" and request.method == "POST":
            _finish(staff, data)  # logout then goes on as the staff member
        g.impersonator, g.viewed = staff, target
        return None
    g.impersonator, g._login_user = staff, target
    if request.method not in READ_METHODS or not _allowed(request.endpoint):
        abort(403)  # read-only, and never a page with key material
    return None


@bp.app_context_processor
def impersonation_context() -> dict:
    """The banner's facts for base.html."""
    return {"impersonator": getattr(g, "impersonator", None)}


@bp.post("/users/<int:user_id>/view-as")
@staff_route(support_may_post=True)
def impersonate_start(user_id: int):
    """Start viewing the site as this user (read-only)."""
    target = any_user(db.session, user_id)
    if target is None:
        abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        start_impersonation(db.session, target, now=now(), actor=actor())
    except AdminActionError as exc:
        flash(str(exc), "error")
        return redirect(url_for("admin.user_detail", user_id=user_id))
    db.session.commit()
    session[SESSION_KEY] = {"uid": target.id, "at": now().timestamp()}
    return redirect(url_for("index"))


@bp.post("/view-as/leave")
@login_required
def impersonate_stop():
    """Stop viewing as a user and go back to their admin page."""
    data = session.get(SESSION_KEY)
    staff = getattr(g, "impersonator", None)
    if not isinstance(data, dict) or staff is None:
        abort(404)  # nobody is being viewed: like every admin route, nothing here
    if not ActionForm().validate_on_submit():
        abort(400)
    _finish(staff, data)
    flash("You are yourself again.", "info")
    return redirect(url_for("admin.user_detail", user_id=int(data["uid"])))
