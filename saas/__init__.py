"""The dcabot web app: ``create_app`` binds the extensions, the blueprints, the CLI and ops.

Flask is imported inside the factory only: bot processes import saas.db and saas.models, and
must not pay Flask's start-up cost.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Areas built alongside the core; each package's ``bp`` is registered when it exists.
OPTIONAL_BLUEPRINTS = (
    "saas.bots",
    "saas.billing",
    "saas.dashboard",
    "saas.admin",
    "saas.notifications",
    "saas.api",
)
logger = logging.getLogger("dcabot.web")


def environment() -> dict:
    """The process environment over the values of the .env beside main.py (not loaded into it)."""
    from dotenv import dotenv_values  # noqa: PLC0415

    path = ROOT / ".env"
    values = dotenv_values(path) if path.is_file() else {}
    return {**{k: v for k, v in values.items() if v is not None}, **os.environ}


def _load_config(app, config) -> None:
    """Fill app.config from a Config (instance or class), or the environment plus overrides."""
    from saas.config import Config  # noqa: PLC0415

    if config is None or isinstance(config, Mapping):
        app.config.from_object(Config(environment()))
        app.config.update(config or {})
        if (config or {}).get("SECRET_KEY"):
            app.config["SECRET_KEY_GENERATED"] = False
    else:
        app.config.from_object(config() if isinstance(config, type) else config)


def _maintenance_command() -> bool:
    """Whether a `flask --app saas <command>` other than `run` is loading the app.

    Such commands sign no cookie, so they work without SECRET_KEY (the crontab's env file and
    key rotation need not carry it). The flask command marks its process with
    FLASK_RUN_FROM_CLI; `run` loads the app while its own click context is current.
    """
    import click  # noqa: PLC0415

    if os.environ.get("FLASK_RUN_FROM_CLI") != "true":
        return False
    context = click.get_current_context(silent=True)
    return context is None or context.info_name != "run"


def _check_production(app) -> None:
    """Refuse to serve in production with a made-up SECRET_KEY; warn about missing settings."""
    from saas.config import PRODUCTION, ConfigError, check_rate_limit_storage  # noqa: PLC0415

    if app.config.get("ENV") != PRODUCTION:
        return
    if not _maintenance_command():
        check_rate_limit_storage(
            app.config["ENV"],
            app.config.get("RATELIMIT_STORAGE_URI", "memory://"),
            int(app.config.get("WEB_WORKERS") or 1),
        )
    if app.config.get("SECRET_KEY_GENERATED") and not _maintenance_command():
        raise ConfigError(
            "SECRET_KEY is not set: sessions could be forged and would end at every restart. "
            "Set it (python -c 'import secrets; print(secrets.token_hex(32))'), or set "
            "DCABOT_ENV=development for a local try-out"
        )
    if not app.config.get("ENCRYPTION_KEY"):
        logger.warning("ENCRYPTION_KEY is not set: API keys and two-factor cannot be stored")


def _check_schema(app) -> None:
    """Refuse to serve a database behind (or ahead of) the code; commands may still fix it."""
    from sqlalchemy.exc import SQLAlchemyError  # noqa: PLC0415

    from saas.config import ConfigError  # noqa: PLC0415
    from saas.extensions import db  # noqa: PLC0415
    from saas.schema_version import SchemaError, check_current  # noqa: PLC0415

    if _maintenance_command() or not app.config.get("SCHEMA_CHECK", True):
        return
    with app.app_context():
        try:
            check_current(db.engine)
        except SchemaError as exc:
            db.engine.dispose()  # the app is not going to serve: leave no connection behind
            raise ConfigError(str(exc)) from None
        except SQLAlchemyError as exc:
            # Unreachable is not wrong: /healthz reports it and pages fail until it is back.
            logger.warning("could not check the schema revision: %s", str(exc).splitlines()[0])


def _register_blueprints(app) -> None:
    """auth and account always; each optional area when its package is present."""
    from saas.account import bp as account_bp  # noqa: PLC0415
    from saas.auth import bp as auth_bp  # noqa: PLC0415

    app.register_blueprint(auth_bp)
    app.register_blueprint(account_bp)
    for name in OPTIONAL_BLUEPRINTS:
        if importlib.util.find_spec(name) is not None:
            # Imported for real: an error inside the package must surface, not hide it.
            blueprint = importlib.import_module(name).bp
            if name == "saas.api":
                _exempt_api_from_csrf(blueprint)
            app.register_blueprint(blueprint)


def _exempt_api_from_csrf(blueprint) -> None:
    """The API authenticates by bearer token only and never reads the cookie session, so a
    forged cross-site request carries no credential there; CSRF tokens would only stop
    automation. Requests without a token are refused by the API before any view runs."""
    from saas.extensions import csrf  # noqa: PLC0415

    csrf.exempt(blueprint)


def _bind_extensions(app) -> None:
    """Bind login, CSRF and rate limiting; harden responses; error pages."""
    from saas import errors, inputs, web_security  # noqa: PLC0415
    from saas.auth import sessions  # noqa: PLC0415
    from saas.extensions import csrf, limiter, login_manager  # noqa: PLC0415

    sessions.install_user_protocol()
    login_manager.init_app(app)
    login_manager.session_protection = app.config.get("SESSION_PROTECTION", "strong")
    csrf.init_app(app)
    limiter.init_app(app)
    web_security.init_app(app)
    inputs.init_app(app)
    sessions.init_app(app)
    errors.register_error_handlers(app)


def create_app(config=None):
    """The app for a Config (instance or class), a mapping of overrides, or the environment."""
    from flask import Flask  # noqa: PLC0415

    from saas.cli import register_cli  # noqa: PLC0415
    from saas.db import configure_engine, engine_options, normalize_url  # noqa: PLC0415
    from saas.extensions import db  # noqa: PLC0415
    from saas.ops import register as register_ops  # noqa: PLC0415

    app = Flask(
        __name__,
        instance_path=str(ROOT / "instance"),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    _load_config(app, config)
    _check_production(app)
    # postgresql:// means psycopg 3 here, and options must suit the database actually used.
    url = normalize_url(app.config["SQLALCHEMY_DATABASE_URI"])
    app.config["SQLALCHEMY_DATABASE_URI"] = url.render_as_string(hide_password=False)
    if not (isinstance(config, Mapping) and "SQLALCHEMY_ENGINE_OPTIONS" in config):
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(url)
    db.init_app(app)
    with app.app_context():
        for engine in db.engines.values():
            configure_engine(engine)
    _check_schema(app)
    _bind_extensions(app)
    _register_blueprints(app)
    register_cli(app)
    register_ops(app)  # /healthz, /metrics and the health and crontab commands
    return app
