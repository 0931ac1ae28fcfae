"""The per-bot run lock: a PostgreSQL advisory lock, or a file lock beside the SQLite file.

Both are released by the operating system or the server when the process dies, so a killed run
never leaves its bot locked. The lock is also a fence: ``check()`` asks, on the lock's own
connection (or file descriptor), whether this process still holds it, and the workflow calls it
immediately before writing each order intent and before each exchange write. A run whose lock
connection was terminated (server restart, failover, pg_terminate_backend) fails the check and
stops, so it can never send after another run took the lock.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from pathlib import Path

from sqlalchemy import Engine, text

from saas.db import sqlite_path

# The first half of the two-integer advisory lock key. Advisory locks are per database, not per
# schema: hashing the schema in keeps two installations (or two test sessions) sharing a database
# from locking each other's bot 1, and "dcabot:" keeps other applications' locks apart.
ADVISORY_NAMESPACE_SQL = "hashtext('dcabot:' || current_schema())"


# Whether this backend holds our advisory lock (two-int4 keys show as classid/objid, objsubid 2).
# Constants only; the bot id is a bound parameter.
HOLDS_LOCK_SQL = (
    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted"  # noqa: S608
    " AND pid = pg_backend_pid() AND objsubid = 2 AND objid = CAST(:bot AS oid)"
    " AND classid = CAST(" + ADVISORY_NAMESPACE_SQL + " AS oid))"
)


class BotLock:
    """Take without waiting, release once; ``held`` says whether this process holds it."""

    held = False

    def acquire(self) -> bool:
        """True when the lock was free and is now ours."""
        raise NotImplementedError

    def release(self) -> None:
        """Give the lock back (a no-op when not held)."""
        raise NotImplementedError

    def check(self) -> bool:
        """Whether this process still holds the lock right now (never raises)."""
        raise NotImplementedError


class AdvisoryLock(BotLock):
    """``pg_try_advisory_lock`` on a connection of its own, kept for the whole run."""

    def __init__(self, engine: Engine, bot_id: int):
        self.engine = engine
        self.bot_id = int(bot_id)
        self._connection = None

    def acquire(self) -> bool:
        """Try the session-level advisory lock; the connection stays open while it is held."""
        # Autocommit: the connection must not sit "idle in transaction" for the whole run.
        connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            got = connection.execute(
                text(f"SELECT pg_try_advisory_lock({ADVISORY_NAMESPACE_SQL}, :bot)"),
                {"bot": self.bot_id},
            ).scalar_one()
        except Exception:
            connection.close()
            raise
        if not got:
            connection.close()
            return False
        self._connection, self.held = connection, True
        return True

    def release(self) -> None:
        """Unlock, then close the connection (closing alone would also release it)."""
        if self._connection is None:
            return
        try:
            self._connection.execute(
                text(f"SELECT pg_advisory_unlock({ADVISORY_NAMESPACE_SQL}, :bot)"),
                {"bot": self.bot_id},
            )
        except Exception:  # noqa: BLE001, S110 - a dead connection holds no lock to give back
            pass
        finally:
            try:
                self._connection.close()
            except Exception:  # noqa: BLE001, S110 - closing a dead connection may fail too
                pass
            self._connection, self.held = None, False

    def check(self) -> bool:
        """Ask pg_locks on the lock's own connection; a dead or replaced session holds nothing.

        After a terminated backend SQLAlchemy may reconnect this Connection on next use; the new
        backend holds no advisory lock, so the answer is still (rightly) False.
        """
        if self._connection is None:
            return False
        try:
            held = self._connection.execute(text(HOLDS_LOCK_SQL), {"bot": self.bot_id}).scalar()
        except Exception:  # noqa: BLE001 - any failure means we cannot prove we hold it
            held = False
        if not held:
            self.held = False
        return bool(held)


class FileLock(BotLock):
    """An exclusive non-blocking ``flock`` on a file."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._fd: int | None = None

    def acquire(self) -> bool:
        """Lock the file, creating it if needed."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd, self.held = fd, True
        return True

    def release(self) -> None:
        """Unlock and close."""
        if self._fd is None:
            return
        try:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            os.close(self._fd)
            self._fd, self.held = None, False

    def check(self) -> bool:
        """Held while our descriptor is the file at the path (deleted or replaced: lost)."""
        return self._fd is not None and same_file(self._fd, self.path)


def same_file(fd: int, path: Path) -> bool:
    """Whether an open descriptor still is the file at ``path``."""
    try:
        mine, there = os.fstat(fd), os.stat(path)
    except OSError:
        return False
    return (mine.st_dev, mine.st_ino) == (there.st_dev, there.st_ino)


def sqlite_lock_path(engine: Engine, bot_id: int) -> Path:
    """``<database file>.bot-<id>.lock`` beside the SQLite file (temp dir for in-memory ones)."""
    path = sqlite_path(engine.url)
    if path is None:
        return Path(tempfile.gettempdir()) / f"dcabot-memory-{os.getpid()}.bot-{int(bot_id)}.lock"
    return path.with_name(f"{path.name}.bot-{int(bot_id)}.lock")


def bot_lock(engine: Engine, bot_id: int) -> BotLock:
    """The right kind of lock for this database."""
    if engine.dialect.name == "postgresql":
        return AdvisoryLock(engine, bot_id)
    return FileLock(sqlite_lock_path(engine, bot_id))


def lock_user_row(session, user_id: int):
    """The user, re-read and locked until the transaction ends; limits are checked under it.

    PostgreSQL: SELECT ... FOR UPDATE. SQLite has no row locks and pysqlite starts a transaction
    only at the first write, so a no-op UPDATE takes the database's write lock first: a second
    writer waits for this transaction to end and then reads what it wrote.
    """
    from sqlalchemy import select, text  # noqa: PLC0415

    from saas.models import User  # noqa: PLC0415 - models import this module's neighbours

    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("UPDATE users SET id = id WHERE id = :id"), {"id": user_id})
    query = (
        select(User)
        .where(User.id == user_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return session.scalars(query).one_or_none()
