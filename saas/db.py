"""Engines, sessions and the schema without Flask: main.py, the runner and the CLI share these.

A bot process imports this and the models only; Flask stays out of it to keep start-up short.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.schema import CreateIndex, CreateTable

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SQLITE_PATH = ROOT / "instance" / "dcabot.sqlite"
DEFAULT_DATABASE_URL = f"sqlite:///{DEFAULT_SQLITE_PATH}"
SQLITE_BUSY_TIMEOUT_S = 30
SCHEMA_HEADER = (
    "-- dcabot schema for PostgreSQL, generated from saas/models by `flask --app saas schema`.\n"
    "-- Do not edit: change the models and regenerate (a test fails when this file is stale).\n"
)


class DatabaseURLError(ValueError):
    """DATABASE_URL cannot be used; the message is the one line the operator reads."""


def database_url(env: Mapping[str, str] | None = None) -> str:
    """DATABASE_URL from ``env`` (blank counts as unset), else the web app's SQLite file."""
    raw = ((env or {}).get("DATABASE_URL") or "").strip()
    return raw or DEFAULT_DATABASE_URL


def normalize_url(raw: str | URL) -> URL:
    """Parse a database URL; postgres:// and postgresql:// use psycopg 3 (the driver we ship)."""
    try:
        url = make_url(raw)
    except ArgumentError:
        raise DatabaseURLError(
            "DATABASE_URL is not a database URL (sqlite:///... or postgresql://...)"
        ) from None
    if url.drivername in ("postgres", "postgresql"):
        url = url.set(drivername="postgresql+psycopg")
    if url.get_backend_name() not in ("sqlite", "postgresql"):
        raise DatabaseURLError(
            f"DATABASE_URL must be sqlite:/// or postgresql://, got {url.get_backend_name()!r}"
        )
    return url


def safe_url(raw: str | URL) -> str:
    """The URL with its password hidden, for messages."""
    try:
        return make_url(raw).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable URL>"


def sqlite_path(url: str | URL) -> Path | None:
    """The file of a SQLite URL, None for other databases and in-memory SQLite."""
    url = make_url(url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database)


def engine_options(url: URL) -> dict:
    """create_engine keyword arguments for this kind of database."""
    if url.get_backend_name() == "sqlite":
        # Bots and the web app write the same file: wait for a writer instead of failing.
        return {"connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_S}}
    return {"pool_pre_ping": True}


def private_sqlite_file(path: Path) -> None:
    """Make an existing SQLite file (and its WAL, shared-memory and journal files) readable by
    its owner only (0600), and the default instance/ folder 0700. Nothing is created here: a
    missing file or folder stays missing, so a wrong DATABASE_URL is still reported as such."""
    folder = path.parent
    if folder.is_dir() and folder.resolve() == DEFAULT_SQLITE_PATH.parent.resolve():
        if folder.stat().st_mode & 0o077:
            os.chmod(folder, 0o700)
    for candidate in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
        if candidate.exists() and candidate.stat().st_mode & 0o077:
            os.chmod(candidate, 0o600)


def configure_engine(engine: Engine) -> Engine:
    """SQLite connections enforce foreign keys and use WAL, so bots and the web app share a file;
    each connection makes the file private (``private_sqlite_file``)."""
    if engine.dialect.name != "sqlite":
        return engine
    path = sqlite_path(engine.url)
    file_backed = path is not None

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA foreign_keys=ON")
            if file_backed:
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
        finally:
            cursor.close()
        if file_backed:
            # SQLite made the file with the process umask (often 0644): the owner's only now.
            # A read-only mount or a file we do not own: SQLite itself reports what matters.
            with suppress(OSError):
                private_sqlite_file(path)

    return engine


def make_engine(raw_url: str | URL, **options) -> Engine:
    """A configured engine for a database URL (DatabaseURLError when it is not usable)."""
    url = normalize_url(raw_url)
    try:
        engine = create_engine(url, **(engine_options(url) | options))
    except (ArgumentError, ImportError) as exc:
        raise DatabaseURLError(f"DATABASE_URL {safe_url(url)!r}: {exc}") from None
    return configure_engine(engine)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded values after commit (services read them back)."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    with factory() as session, session.begin():
        yield session


def create_schema(engine: Engine) -> list[str]:
    """An empty database gets the models' tables stamped at head; any other is migrated to head.

    Returns what was done, one line each. The migrations and the models give the same schema
    (a test compares them), so building a new database from the models is only a shortcut.
    """
    import saas.models  # noqa: F401, PLC0415 - registers every table on Base.metadata
    from saas.models.base import Base  # noqa: PLC0415
    from saas.schema_version import database_state, stamp_head  # noqa: PLC0415

    if engine.dialect.name == "sqlite" and (path := sqlite_path(engine.url)) is not None:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if database_state(engine).empty:
        with engine.begin() as connection:
            Base.metadata.create_all(connection)
            seed_plan_keys(connection)
            stamp_head(connection)
        return ["created the schema at head"]
    from saas.migrate import upgrade  # noqa: PLC0415

    return upgrade(engine)


def seed_plan_keys(connection) -> None:
    """Insert the default plan keys that are missing (users.plan refers to them)."""
    from sqlalchemy import select  # noqa: PLC0415

    from saas.models.plans import DEFAULT_PLAN_KEYS, PlanKey  # noqa: PLC0415

    present = set(connection.scalars(select(PlanKey.key)))
    missing = [{"key": k, "name": n} for k, n in DEFAULT_PLAN_KEYS if k not in present]
    if missing:
        connection.execute(PlanKey.__table__.insert(), missing)


def schema_sql() -> str:
    """The PostgreSQL DDL of the models: tables in dependency order, indexes, the revision."""
    from sqlalchemy.dialects import postgresql  # noqa: PLC0415

    import saas.models  # noqa: F401, PLC0415
    from saas.models.base import Base  # noqa: PLC0415
    from saas.schema_version import code_heads, version_table  # noqa: PLC0415

    dialect = postgresql.dialect()
    statements = []
    for table in [*Base.metadata.sorted_tables, version_table]:
        ddl = CreateTable(table, if_not_exists=True).compile(dialect=dialect)
        statements.append(_tidy(str(ddl)))
        for index in sorted(table.indexes, key=lambda i: i.name):
            ddl = CreateIndex(index, if_not_exists=True).compile(dialect=dialect)
            statements.append(_tidy(str(ddl)))
    statements.append(_plan_rows())
    # The schema is the head revision's, so `flask --app saas db upgrade` starts from there.
    statements += [
        f"INSERT INTO alembic_version (version_num) VALUES ('{head}') ON CONFLICT DO NOTHING;"  # noqa: S608 - a revision id of ours
        for head in code_heads()
    ]
    return SCHEMA_HEADER + "\n" + "\n\n".join(statements) + "\n"


def _plan_rows() -> str:
    """The default plan keys, inserted once (users.plan refers to them)."""
    from saas.models.plans import DEFAULT_PLAN_KEYS  # noqa: PLC0415

    values = ",\n".join(f"\t('{key}', '{name}')" for key, name in DEFAULT_PLAN_KEYS)
    return f"INSERT INTO plans (key, name) VALUES\n{values}\nON CONFLICT (key) DO NOTHING;"


def _tidy(ddl: str) -> str:
    """One statement without trailing blanks, ending in a semicolon."""
    lines = [line.rstrip() for line in ddl.strip().splitlines()]
    return "\n".join(lines) + ";"
