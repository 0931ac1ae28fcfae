"""Your account: password, e-mail, two-factor sign-in, other devices, export and deletion."""

from flask import Blueprint

bp = Blueprint("account", __name__, url_prefix="/account")

from saas.account import activity, api_tokens, routes  # noqa: E402, F401 - registers views
