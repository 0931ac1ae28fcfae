"""Admin pages for the staff roles: users, every bot, system, revenue, audit and "view as".

One decorator (``saas.admin.access.staff_route``) guards every view: a ``user`` gets a 404 (the
pages do not exist for them), ``support`` reads everything and changes nothing (403 on writes),
``admin`` does everything. Views are thin over saas.services.admin, the only cross-tenant
services. ``flask --app saas set-role EMAIL ROLE`` gives roles.
"""

from flask import Blueprint

# cli_group=None: `flask --app saas set-role`, beside the other top-level commands.
bp = Blueprint("admin", __name__, url_prefix="/admin", cli_group=None)

from saas.admin import (  # noqa: E402, F401 - views, hooks and commands on bp
    access,
    bot_routes,
    cli,
    impersonation,
    pages,
    plans,
    user_routes,
)
