"""Your account's trail: what you did and what staff did to your account, newest first."""

from __future__ import annotations

from flask import render_template, request
from flask_login import current_user, login_required

from saas.account import bp
from saas.extensions import db
from saas.services.accounts.trail import account_trail
from saas.services.admin.common import page_number


@bp.get("/activity")
@login_required
def activity():
    """The account's audit trail (never another user's rows)."""
    page = account_trail(db.session, current_user, page_number(request.args.get("page")))
    return render_template("account/activity.html", page=page)
