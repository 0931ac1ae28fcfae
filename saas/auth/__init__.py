"""Signing in and out: register, verify the address, log in (with two-factor), reset a password."""

from flask import Blueprint

bp = Blueprint("auth", __name__, url_prefix="/auth")

from saas.auth import routes  # noqa: E402, F401 - registers the views on bp
