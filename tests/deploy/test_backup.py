"""deploy/backup.sh and deploy/restore.sh on the real PostgreSQL: dump, wipe, restore, decrypt."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import time
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import select

from saas.db import create_schema, make_engine, make_session_factory
from saas.models import Base, Bot
from saas.security import KeyRing, bot_credentials, generate_key
from tests.deploy.templates import DEPLOY
from tests.fixtures.database import gen_bot, gen_pair, gen_user, libpq_url

pytestmark = pytest.mark.postgres


def database_url(server_url: str, name: str) -> str:
    """The server's URL pointing at database ``name``."""
    return libpq_url(server_url).rsplit("/", 1)[0] + f"/{name}"


def admin(server_url: str, sql: str) -> None:
    """One statement outside a transaction (CREATE/DROP DATABASE)."""
    with psycopg.connect(libpq_url(server_url), autocommit=True) as connection:
        connection.execute(sql)


@pytest.fixture
def live_database(pg_server_url):
    """A database of its own with the schema: the server being backed up; dropped after."""
    if not (shutil.which("pg_dump") and shutil.which("pg_restore")):
        pytest.skip("pg_dump / pg_restore are not installed (apt-get install postgresql-client)")
    name = f"dcabot_backup_{secrets.token_hex(4)}"
    admin(pg_server_url, f'CREATE DATABASE "{name}"')
    url = database_url(pg_server_url, name)
    engine = make_engine(url)
    try:
        create_schema(engine)
        yield name, url
    finally:
        engine.dispose()
        admin(pg_server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def table_rows(url: str) -> dict[str, list[tuple]]:
    """Every row of every table, in a stable order."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return {
                table.name: sorted(
                    (tuple(map(repr, row)) for row in connection.execute(table.select())),
                )
                for table in Base.metadata.sorted_tables
            }
    finally:
        engine.dispose()


def fill(url: str, key: str) -> None:
    """Two users, an exchange bot with encrypted keys and its pairs, a paper bot."""
    engine = make_engine(url)
    session = make_session_factory(engine)()
    try:
        ring = KeyRing.from_string(key)
        alice, bob = gen_user(session), gen_user(session)
        bot = gen_bot(
            session, alice, ring=ring, exchange="bybit", api_key="AK-123", api_secret="SEC-456"
        )
        gen_pair(session, bot)
        gen_pair(session, bot, symbol="ETHUSDT", side="Short")
        gen_bot(session, bob, ring=ring)
        session.commit()
    finally:
        session.close()
        engine.dispose()


def run(*args: str | Path) -> subprocess.CompletedProcess:
    """A deploy/ script, its output kept."""
    return subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, check=False, timeout=120
    )


def test_a_backup_restores_every_row_and_the_keys_still_decrypt(
    live_database, pg_server_url, tmp_path
):
    """Dump, lose the database, restore into a fresh one from the two backups: all comes back."""
    name, url = live_database
    key = generate_key()
    env_file = tmp_path / "etc" / "dcabot.env"
    env_file.parent.mkdir()
    env_file.write_text(f"DATABASE_URL={url}\nSECRET_KEY=s\nENCRYPTION_KEY={key}\n")
    fill(url, key)
    before = table_rows(url)
    dumps, keys = tmp_path / "dumps", tmp_path / "keys"

    backup = run(DEPLOY / "backup.sh", "--env-file", env_file, "--dir", dumps, "--keys-dir", keys)

    assert backup.returncode == 0, backup.stderr
    [dump] = dumps.glob("dcabot-*.dump")
    [env_copy] = keys.glob("dcabot-*.env")
    # The keys are never inside the dump's folder, and both are root's alone.
    assert key.encode() not in dump.read_bytes()
    assert f"ENCRYPTION_KEY={key}" in env_copy.read_text()
    assert oct(dumps.stat().st_mode & 0o777) == "0o700"
    assert oct(dump.stat().st_mode & 0o777) == "0o600"
    assert oct(env_copy.stat().st_mode & 0o777) == "0o600"

    # The server is lost: its database and its env file.
    admin(pg_server_url, f'DROP DATABASE "{name}" WITH (FORCE)')
    env_file.unlink()
    restore = run(
        DEPLOY / "restore.sh",
        dump,
        "--env-file",
        env_file,
        "--env-backup",
        env_copy,
        "--admin-url",
        libpq_url(pg_server_url),
        "--no-stop",
    )

    assert restore.returncode == 0, restore.stderr
    after = table_rows(url)
    assert after == before
    assert sum(len(rows) for rows in after.values()) >= 6  # 2 users, 2 bots, 2 pairs
    restored_key = env_file.read_text().split("ENCRYPTION_KEY=")[1].split("\n")[0]
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            bot = session.scalars(select(Bot).where(Bot.exchange == "bybit")).one()
            assert bot_credentials(bot, KeyRing.from_string(restored_key)) == ("AK-123", "SEC-456")
            # The ids go on where they left off: a new row does not collide with a restored one.
            gen_user(session)
            session.commit()
    finally:
        engine.dispose()


def test_backups_past_the_retention_go_but_the_newest_stays(live_database, tmp_path):
    """--keep-days deletes old dumps and env copies, never the newest of each."""
    _, url = live_database
    env_file = tmp_path / "dcabot.env"
    env_file.write_text(f"DATABASE_URL={url}\nENCRYPTION_KEY={generate_key()}\n")
    dumps, keys = tmp_path / "dumps", tmp_path / "keys"
    dumps.mkdir()
    keys.mkdir()
    month_ago = time.time() - 30 * 86400
    for folder, suffix in ((dumps, "dump"), (keys, "env")):
        old = folder / f"dcabot-20200101T000000Z.{suffix}"
        old.write_text("old")
        os.utime(old, (month_ago, month_ago))
    other = dumps / "notes.txt"
    other.write_text("not a backup")
    os.utime(other, (month_ago, month_ago))

    done = run(
        DEPLOY / "backup.sh",
        "--env-file",
        env_file,
        "--dir",
        dumps,
        "--keys-dir",
        keys,
        "--keep-days",
        "14",
        "--label",
        "nightly",
    )

    assert done.returncode == 0, done.stderr
    assert [p.name.startswith("dcabot-nightly-") for p in dumps.glob("*.dump")] == [True]
    assert [p.name.startswith("dcabot-nightly-") for p in keys.glob("*.env")] == [True]
    assert other.exists()

    # With only an old backup left, a failed run deletes nothing.
    lone = tmp_path / "lone"
    lone.mkdir()
    (lone / "dcabot-20200101T000000Z.dump").write_text("old")
    os.utime(lone / "dcabot-20200101T000000Z.dump", (month_ago, month_ago))
    env_file.write_text("DATABASE_URL=postgresql://nobody@127.0.0.1:1/none\n")
    failed = run(DEPLOY / "backup.sh", "--env-file", env_file, "--dir", lone, "--keys-dir", keys)
    assert failed.returncode == 1
    assert failed.stderr.startswith("error: pg_dump failed") and failed.stderr.count("\n") == 1
    assert (lone / "dcabot-20200101T000000Z.dump").exists()


def test_restore_refuses_a_file_that_is_not_a_dump(tmp_path):
    """One error line, and nothing is dropped."""
    if not shutil.which("pg_restore"):
        pytest.skip("pg_restore is not installed")
    bogus = tmp_path / "x.dump"
    bogus.write_text("not a dump")

    done = run(DEPLOY / "restore.sh", bogus, "--env-file", tmp_path / "none.env", "--no-stop")

    assert done.returncode == 1
    assert done.stderr == f"error: {bogus} is not a pg_dump custom-format file\n"
