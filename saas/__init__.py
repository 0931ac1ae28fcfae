"""The dcabot web app: ``create_app`` binds the extensions, the CLI and the ops endpoints.

Flask is imported inside the factory only: bot processes import saas.db and saas.models, and
must not pay Flask's start-up cost.
"""

from __future__ import annotations

from collections.abc import Mapping


def create_app(config=None):
    """The app for a Config (instance or class), a mapping of overrides, or the environment."""
    from flask import Flask  # noqa: PLC0415

    from saas.cli import register_cli  # noqa: PLC0415
    from saas.config import Config  # noqa: PLC0415
    from saas.db import configure_engine, engine_options, normalize_url  # noqa: PLC0415
    from saas.extensions import db  # noqa: PLC0415
    from saas.ops import register as register_ops  # noqa: PLC0415

    app = Flask(__name__, instance_relative_config=True)
    if config is None or isinstance(config, Mapping):
        app.config.from_object(Config())
        app.config.update(config or {})
    else:
        app.config.from_object(config() if isinstance(config, type) else config)
    # postgresql:// means psycopg 3 here, and options must suit the database actually used.
    url = normalize_url(app.config["SQLALCHEMY_DATABASE_URI"])
    app.config["SQLALCHEMY_DATABASE_URI"] = url.render_as_string(hide_password=False)
    if not (isinstance(config, Mapping) and "SQLALCHEMY_ENGINE_OPTIONS" in config):
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(url)
    db.init_app(app)
    with app.app_context():
        for engine in db.engines.values():
            configure_engine(engine)
    register_cli(app)
    register_ops(app)  # /healthz, /metrics and the health and crontab commands
    return app
