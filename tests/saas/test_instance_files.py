"""Files at rest: the SQLite database and its folder are the owner's only; the development keys
live apart from the data, so a copy of instance/ never carries the key that opens it."""

from __future__ import annotations

import stat

from sqlalchemy import text

from saas.db import create_schema, make_engine
from saas.devserver import dev_environment


def mode(path) -> int:
    """The permission bits of a path."""
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_sqlite_database_and_its_wal_are_readable_by_the_owner_only(tmp_path):
    path = tmp_path / "instance" / "dcabot.sqlite"
    engine = make_engine(f"sqlite:///{path}")
    try:
        create_schema(engine)
        with engine.begin() as connection:  # a write, so the WAL exists
            connection.execute(text("CREATE TABLE probe (x INTEGER)"))
    finally:
        engine.dispose()

    assert mode(path.parent) == 0o700
    assert mode(path) == 0o600
    for journal in path.parent.glob("dcabot.sqlite-*"):
        assert mode(journal) == 0o600, journal


def test_an_existing_world_readable_database_is_made_private(tmp_path):
    path = tmp_path / "old.sqlite"
    path.touch(mode=0o644)
    path.chmod(0o644)

    engine = make_engine(f"sqlite:///{path}")
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    engine.dispose()

    assert mode(path) == 0o600


def test_development_keys_are_kept_apart_from_the_data(tmp_path):
    env = dev_environment({}, tmp_path / "instance")

    keys = tmp_path / "instance" / "keys"
    assert (keys / "encryption_key").read_text().strip() == env["ENCRYPTION_KEY"]
    assert mode(keys) == 0o700 and mode(keys / "encryption_key") == 0o600
    assert not (tmp_path / "instance" / "encryption_key").exists()


def test_a_key_an_older_version_kept_in_instance_is_moved_not_remade(tmp_path):
    from saas.devserver import instance_secret

    instance, keys = tmp_path / "instance", tmp_path / "keys"
    instance.mkdir()
    (instance / "encryption_key").write_text("the-old-key\n")

    value = instance_secret("encryption_key", lambda: "a-new-key", keys, moved_from=instance)

    assert value == "the-old-key"
    assert not (instance / "encryption_key").exists()
    assert mode(keys / "encryption_key") == 0o600
