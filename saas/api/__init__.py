"""The REST API under /api/v1/: bearer tokens, JSON, problem+json errors, an OpenAPI document."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from saas.api import (  # noqa: E402, F401 - the modules add their routes to bp
    bots,
    docs,
    errors,
    insights,
    settings,
)
