"""`/healthz` (ok or degraded, with counts) and `/metrics` (loopback or METRICS_TOKEN only)."""

from __future__ import annotations

import hmac
import os
import time
from datetime import UTC, datetime

from flask import Blueprint, Flask, abort, current_app, g, jsonify, request

from saas.ops.checks import OK, check_health
from saas.ops.metrics import exposition, observe_request

bp = Blueprint("ops", __name__)

LOOPBACK = frozenset({"127.0.0.1", "::1"})
# Settings read from the app's config first, then the environment.
SETTING_NAMES = ("RUNNER_STATE_FILE", "RUNNER_STALE_AFTER", "METRICS_TOKEN")


def ops_settings(app: Flask) -> dict:
    """The operations settings of this app."""
    values = {}
    for name in SETTING_NAMES:
        value = app.config.get(name) or os.environ.get(name)
        if value:
            values[name] = str(value)
    return values


def session_factory(app: Flask):
    """Sessions on the app's own engine (Flask-SQLAlchemy's), made once per app."""
    factory = app.extensions.get("dcabot_ops_sessions")
    if factory is None:
        from saas.db import make_session_factory  # noqa: PLC0415

        factory = make_session_factory(_engine(app))
        app.extensions["dcabot_ops_sessions"] = factory
    return factory


def _engine(app: Flask):
    """Flask-SQLAlchemy's engine when the app has one, else one for DATABASE_URL."""
    extension = app.extensions.get("sqlalchemy")
    if extension is not None:
        with app.app_context():
            return extension.engine
    from saas.db import database_url, make_engine  # noqa: PLC0415

    url = app.config.get("SQLALCHEMY_DATABASE_URI") or database_url(os.environ)
    return make_engine(url)


@bp.get("/healthz")
def healthz():
    """ok (200) or degraded (503) with counts; nothing about the internals."""
    app = current_app._get_current_object()
    with session_factory(app)() as session:
        health = check_health(session, ops_settings(app), datetime.now(UTC))
    status = 200 if health.status == OK else 503
    return jsonify(health.as_dict()), status, {"Cache-Control": "no-store"}


def metrics_allowed(token: str | None) -> bool:
    """A loopback client, or a matching ``Authorization: Bearer <METRICS_TOKEN>``."""
    if request.remote_addr in LOOPBACK:
        return True
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    return (
        bool(token)
        and scheme.lower() == "bearer"
        and hmac.compare_digest(given.strip().encode(), token.encode())
    )


@bp.get("/metrics")
def metrics():
    """Prometheus text exposition."""
    app = current_app._get_current_object()
    settings = ops_settings(app)
    if not metrics_allowed(settings.get("METRICS_TOKEN")):
        abort(403)
    body = exposition(settings, session_factory(app))
    return (
        body,
        200,
        {"Content-Type": "text/plain; version=0.0.4; charset=utf-8", "Cache-Control": "no-store"},
    )


def _start_timer() -> None:
    """Remember when the request started."""
    g.dcabot_started = time.perf_counter()


def _observe(response):
    """Record the request's latency under its endpoint name."""
    started = g.pop("dcabot_started", None)
    if started is not None:
        observe_request(
            request.endpoint, request.method, response.status_code, time.perf_counter() - started
        )
    return response


def init_app(app: Flask) -> None:
    """Register the blueprint and time every request."""
    app.register_blueprint(bp)
    app.before_request(_start_timer)
    app.after_request(_observe)
