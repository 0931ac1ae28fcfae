"""Schema migrations with Alembic: upgrade, downgrade, stamp, and what autogenerate would change.

The revisions live in saas/migrations/versions/. A database made by the first `init-db` (tables,
no alembic_version) is recognised and stamped at the first revision before upgrading.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine
from sqlalchemy.types import TypeDecorator

from saas.schema_version import (
    BASE_REVISION,
    SchemaError,
    SchemaState,
    database_state,
    unknown_revisions,
)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(connection=None) -> Config:
    """An Alembic Config for our migrations folder, bound to a connection when given."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def script_directory() -> ScriptDirectory:
    """The revisions, as Alembic reads them."""
    return ScriptDirectory.from_config(alembic_config())


@contextmanager
def _bound(engine: Engine) -> Iterator[Config]:
    """A Config whose migrations run on one connection of ``engine``, committed at the end.

    On SQLite, foreign keys are off while revisions run (SQLite's own recipe for changing a
    table): batch mode recreates a table by copying it, and dropping the old copy of a parent
    table (users) would otherwise cascade and delete its children. The keys are checked before
    the commit, and back on afterwards.
    """
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as connection:
        if sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")  # outside any transaction
            connection.commit()
        try:
            with connection.begin():
                yield alembic_config(connection)
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"a migration broke foreign keys: {broken[:5]}")
        finally:
            if sqlite:
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()


def upgrade(engine: Engine, revision: str = "head") -> list[str]:
    """Bring the database to ``revision``; what was done, one line each (for the CLI)."""
    said = []
    state = database_state(engine)
    if unknown := unknown_revisions(state):
        raise SchemaError(
            f"the database is at revision {', '.join(unknown)}, which this code does not know: "
            "deploy the code that migrated it, or downgrade the database with that code"
        )
    if state.legacy:
        # Made by the first init-db: that schema is the first revision, so mark it as such.
        stamp(engine, BASE_REVISION)
        said.append(f"recognised a database made before migrations: stamped {BASE_REVISION}")
    with _bound(engine) as config:
        command.upgrade(config, revision)
    said.append(f"database at {', '.join(database_state(engine).revisions) or 'base'}")
    return said


def downgrade(engine: Engine, revision: str) -> str:
    """Take the database down to ``revision`` (``base`` drops every table)."""
    with _bound(engine) as config:
        command.downgrade(config, revision)
    return f"database at {', '.join(database_state(engine).revisions) or 'base'}"


def stamp(engine: Engine, revision: str = "head") -> None:
    """Record ``revision`` as applied without running anything."""
    with _bound(engine) as config:
        command.stamp(config, revision)


def history() -> list[str]:
    """Every revision, newest first: id, what it revises, and its message."""
    lines = []
    for script in script_directory().walk_revisions():
        down = script.down_revision or "base"
        head = " (head)" if script.is_head else ""
        lines.append(f"{down} -> {script.revision}{head}: {script.doc}")
    return lines


def state(engine: Engine) -> SchemaState:
    """Where the database stands against the code's revisions."""
    return database_state(engine)


def autogenerate_diff(engine: Engine) -> list:
    """What Alembic's autogenerate finds between the models and the database (empty at head)."""
    import saas.models  # noqa: F401, PLC0415 - registers every table
    from saas.models.base import Base  # noqa: PLC0415

    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts=context_options(connection))
        return compare_metadata(context, Base.metadata)


def render_item(type_, obj, autogen_context):
    """Render our column types as their database types, so revisions never import the models."""
    if type_ == "type" and isinstance(obj, TypeDecorator):
        autogen_context.imports.add("import sqlalchemy as sa")
        return f"sa.{obj.impl_instance!r}"
    return False


def context_options(connection) -> dict:
    """The options env.py and the autogenerate check share: batch mode on SQLite, types compared."""
    return {
        "render_as_batch": connection.dialect.name == "sqlite",
        "compare_type": True,
        "compare_server_default": False,
        "render_item": render_item,
    }
