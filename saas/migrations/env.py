"""Alembic's environment: the models' metadata, batch mode on SQLite, a connection we are given."""

from __future__ import annotations

from alembic import context

import saas.models  # noqa: F401 - registers every table on Base.metadata
from saas.db import make_engine
from saas.migrate import context_options
from saas.models.base import Base

config = context.config


def run(connection) -> None:
    """Configure the context on a connection and run the migrations in one transaction."""
    context.configure(
        connection=connection, target_metadata=Base.metadata, **context_options(connection)
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    """Use the connection saas.migrate hands over, or open one from sqlalchemy.url."""
    connection = config.attributes.get("connection")
    if connection is not None:
        run(connection)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url"))
    try:
        with engine.begin() as connection:
            run(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported: run them against a database")
run_online()
