"""The one access rule of the admin pages, and how views get ``now`` and the acting user."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import wraps

from flask import abort, g, request
from flask_login import current_user, login_required

from saas.services.admin.accounts import Actor
from saas.web_security import client_ip

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def staff_route(view=None, *, support_may_post: bool = False):
    """Logged in (else the login page); staff (else 404); admin for any write (else 403).

    ``support_may_post`` marks the one POST that only reads: starting a read-only view as a user.
    """

    def decorate(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if not getattr(current_user, "is_staff", False):
                abort(404)  # for a user the admin pages do not exist
            writes = request.method not in READ_METHODS and not support_may_post
            if writes and not current_user.is_admin:
                abort(403)  # support reads, never writes
            return view(*args, **kwargs)

        return wrapped

    return decorate(view) if view is not None else decorate


def now() -> datetime:
    """The time of this request (tests may set ``g.now``)."""
    return getattr(g, "now", None) or datetime.now(UTC)


def actor() -> Actor:
    """The acting staff member and their address."""
    return Actor(current_user._get_current_object(), client_ip())
