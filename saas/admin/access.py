"""The one access rule of the admin pages, and how views get ``now`` and the acting user."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import wraps

from flask import abort, g, request
from flask_login import current_user, login_required

from saas.services.admin.accounts import Actor
from saas.web_security import client_ip

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def staff_route(view):
    """Logged in (else the login page); staff (else 404); admin for any write (else 403)."""

    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not getattr(current_user, "is_staff", False):
            abort(404)  # for a user the admin pages do not exist
        if request.method not in READ_METHODS and not current_user.is_admin:
            abort(403)  # support reads, never writes
        return view(*args, **kwargs)

    return wrapped


def now() -> datetime:
    """The time of this request (tests may set ``g.now``)."""
    return getattr(g, "now", None) or datetime.now(UTC)


def actor() -> Actor:
    """The acting staff member and their address."""
    return Actor(current_user._get_current_object(), client_ip())
