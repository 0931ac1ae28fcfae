"""Bots and trading pairs: list, create (a short wizard), edit, keys, start, pause, stop, delete."""

from flask import Blueprint

bp = Blueprint("bots", __name__, url_prefix="/bots")

from saas.bots import import_routes, pair_routes, routes  # noqa: E402, F401 - registers the views
