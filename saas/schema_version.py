"""Which schema revision the code expects and the database has, without importing Alembic.

Bot processes check this at start, so it reads the revision files as text (a test checks it
agrees with Alembic) and asks the database one question.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Column, Engine, MetaData, PrimaryKeyConstraint, String, Table, inspect

VERSIONS_DIR = Path(__file__).resolve().parent / "migrations" / "versions"
BASE_REVISION = "0001_initial"
UPGRADE_COMMAND = "flask --app saas db upgrade"
_REVISION = re.compile(r"^revision\s*=\s*['\"]([^'\"]+)['\"]", re.M)
_DOWN = re.compile(r"^down_revision\s*=\s*(.+)$", re.M)

# Alembic's own bookkeeping table, as Alembic creates it.
version_table = Table(
    "alembic_version",
    MetaData(),
    Column("version_num", String(32), nullable=False),
    PrimaryKeyConstraint("version_num", name="alembic_version_pkc"),
)


class SchemaError(RuntimeError):
    """The database's schema does not match the code; the message is one line naming the fix."""


@lru_cache(maxsize=1)
def code_heads() -> tuple[str, ...]:
    """The head revision(s) of the migration files (normally exactly one)."""
    revisions, parents = set(), set()
    for path in VERSIONS_DIR.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        if match := _REVISION.search(text):
            revisions.add(match.group(1))
        if down := _DOWN.search(text):
            parents.update(re.findall(r"['\"]([^'\"]+)['\"]", down.group(1)))
    return tuple(sorted(revisions - parents))


@dataclass(frozen=True)
class SchemaState:
    """The database's revisions and whether it has our tables at all."""

    revisions: tuple[str, ...]
    has_tables: bool
    versioned: bool

    @property
    def legacy(self) -> bool:
        """Tables made by the first init-db, before migrations: no revision recorded."""
        return self.has_tables and not self.revisions

    @property
    def empty(self) -> bool:
        """Nothing of ours yet."""
        return not self.has_tables and not self.versioned


def database_state(engine: Engine) -> SchemaState:
    """Read the version table (if any) and whether the users table exists."""
    with engine.connect() as connection:
        tables = set(inspect(connection).get_table_names())
        revisions: tuple[str, ...] = ()
        if version_table.name in tables:
            rows = connection.execute(version_table.select()).scalars()
            revisions = tuple(sorted(rows))
    return SchemaState(revisions, "users" in tables, version_table.name in tables)


def problem(state: SchemaState) -> str | None:
    """One line saying why this database cannot be used by this code, or None when it can."""
    heads = code_heads()
    if state.revisions and set(state.revisions) == set(heads):
        return None
    if state.empty:
        return f"the database has no dcabot tables yet: run `{UPGRADE_COMMAND}`"
    if state.legacy:
        return f"the database was made before migrations existed: run `{UPGRADE_COMMAND}`"
    if unknown := unknown_revisions(state):
        return (
            f"the database is at revision {', '.join(unknown)}, which this code does not know "
            "(newer code migrated it?): deploy that code again, or downgrade the database with it"
        )
    return (
        f"the database is at revision {', '.join(state.revisions) or 'none'} but the code needs "
        f"{', '.join(heads)}: run `{UPGRADE_COMMAND}`"
    )


def unknown_revisions(state: SchemaState) -> list[str]:
    """The database's revisions that no migration file of this code defines."""
    known = _known_revisions()
    return [r for r in state.revisions if r not in known]


@lru_cache(maxsize=1)
def _known_revisions() -> frozenset[str]:
    """Every revision id in the migration files."""
    return frozenset(
        m.group(1)
        for path in VERSIONS_DIR.glob("*.py")
        if (m := _REVISION.search(path.read_text(encoding="utf-8")))
    )


def check_current(engine: Engine) -> None:
    """Raise SchemaError (one line) unless the database is at the code's head revision."""
    if (reason := problem(database_state(engine))) is not None:
        raise SchemaError(reason)


def stamp_head(connection) -> None:
    """Record the head revision in a database whose tables were just made from the models."""
    version_table.create(connection, checkfirst=True)
    connection.execute(version_table.delete())
    connection.execute(version_table.insert(), [{"version_num": head} for head in code_heads()])
