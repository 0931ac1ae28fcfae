"""`flask --app saas`: schema.sql stays generated, init-db is idempotent, admins, key rotation."""

import subprocess
from pathlib import Path

import pytest
from sqlalchemy import inspect, select
from sqlalchemy.exc import IntegrityError

from saas.db import make_engine, make_session_factory, schema_sql
from saas.extensions import db
from saas.models import Bot, TradingPair, User
from saas.security import KeyRing, bot_credentials, generate_key, verify_and_upgrade
from tests.fixtures.database import gen_bot, gen_pair, gen_user, libpq_url, new_pg_schema

ROOT = Path(__file__).resolve().parents[2]


def test_schema_sql_is_the_output_of_the_schema_command(app):
    result = app.test_cli_runner().invoke(args=["schema"])
    assert result.exit_code == 0
    assert result.output == schema_sql()
    assert (ROOT / "schema.sql").read_text() == result.output, (
        "schema.sql is stale: run `flask --app saas schema > schema.sql`"
    )


def test_schema_sql_is_deterministic():
    assert schema_sql() == schema_sql()
    assert schema_sql().index("CREATE TABLE IF NOT EXISTS users") < schema_sql().index(
        "CREATE TABLE IF NOT EXISTS bots"
    )


@pytest.fixture
def empty_pg_schema(pg_server_url):
    """A schema with nothing in it; its URL. Dropped afterwards."""
    yield from new_pg_schema(pg_server_url, "t_empty")


def test_schema_sql_applied_with_psql_gives_the_models_tables(empty_pg_schema, pg_url):
    subprocess.run(
        [
            "psql",
            libpq_url(empty_pg_schema),
            "-v",
            "ON_ERROR_STOP=1",
            "-q",
            "-f",
            str(ROOT / "schema.sql"),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    applied, created = make_engine(empty_pg_schema), make_engine(pg_url)  # psql vs create_all
    try:
        for table in ("users", "bots", "trading_pairs", "orders", "trades", "paper_accounts"):
            assert describe(applied, table) == describe(created, table)
        with make_session_factory(applied)() as session:
            bot = gen_bot(session, gen_user(session))
            gen_pair(session, bot, leverage=125)
            session.commit()
            assert session.scalar(select(TradingPair.leverage)) == 125
            with pytest.raises(IntegrityError, match="ck_trading_pairs_leverage"):
                gen_pair(session, bot, symbol="ETHUSDT", leverage=126)
    finally:
        applied.dispose()
        created.dispose()


def describe(engine, table: str) -> tuple:
    """Columns, indexes and constraints of a table as the database reports them."""
    inspector = inspect(engine)
    columns = [(c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(table)]
    indexes = sorted(
        (i["name"], tuple(i["column_names"]), i["unique"]) for i in inspector.get_indexes(table)
    )
    checks = sorted((c["name"], c["sqltext"]) for c in inspector.get_check_constraints(table))
    uniques = sorted(c["name"] for c in inspector.get_unique_constraints(table))
    return columns, indexes, checks, uniques


def test_init_db_is_idempotent(db_app):
    runner = db_app.test_cli_runner()
    for _ in range(2):
        result = runner.invoke(args=["init-db"])
        assert result.exit_code == 0, result.output
        assert "database ready" in result.output
    with db_app.app_context():
        assert "trading_pairs" in inspect(db.engine).get_table_names()


def test_init_db_creates_a_new_sqlite_file(tmp_path):
    from saas import create_app
    from saas.config import TestConfig

    path = tmp_path / "instance" / "new.sqlite"
    app = create_app(TestConfig({"DATABASE_URL": f"sqlite:///{path}"}))
    try:
        assert app.test_cli_runner().invoke(args=["init-db"]).exit_code == 0
        assert path.exists()
    finally:
        with app.app_context():
            db.engine.dispose()


def test_create_admin_with_a_password(app):
    result = app.test_cli_runner().invoke(
        args=["create-admin", "Admin@Example.com", "--password", "s3cret-enough"]
    )
    assert result.exit_code == 0, result.output
    assert "administrator admin@example.com created" in result.output
    assert "s3cret-enough" not in result.output
    with app.app_context():
        user = db.session.scalar(select(User))
        assert user.role == "admin" and user.email_verified
        assert verify_and_upgrade(user, "s3cret-enough")


def test_create_admin_without_a_password_prints_a_generated_one_once(app):
    result = app.test_cli_runner().invoke(args=["create-admin", "root@example.com"])
    assert result.exit_code == 0, result.output
    (line,) = [x for x in result.output.splitlines() if x.startswith("password (shown once): ")]
    with app.app_context():
        assert verify_and_upgrade(db.session.scalar(select(User)), line.split(": ", 1)[1])


def test_create_admin_refuses_a_taken_email(app):
    runner = app.test_cli_runner()
    runner.invoke(args=["create-admin", "a@example.com", "--password", "x"])
    result = runner.invoke(args=["create-admin", "A@example.com", "--password", "y"])
    assert result.exit_code != 0 and "already exists" in result.output


def test_rotate_keys_re_encrypts_under_the_first_key(app):
    old = app.config["ENCRYPTION_KEY"]
    new = generate_key()
    with app.app_context():
        user = gen_user(db.session)
        bot = gen_bot(
            db.session,
            user,
            exchange="bybit",
            ring=KeyRing.from_string(old),
            api_key="K",
            api_secret="S",
        )
        db.session.commit()
        bot_id = bot.id
    app.config["ENCRYPTION_KEY"] = f"{new},{old}"
    result = app.test_cli_runner().invoke(args=["rotate-keys"])
    assert result.exit_code == 0, result.output
    assert "re-encrypted the keys of 1 bot(s)" in result.output
    with app.app_context():
        bot = db.session.get(Bot, bot_id)
        assert bot_credentials(bot, KeyRing.from_string(new)) == ("K", "S")


def test_rotate_keys_without_the_old_key_changes_nothing(app):
    with app.app_context():
        bot = gen_bot(
            db.session,
            gen_user(db.session),
            exchange="bybit",
            ring=KeyRing.from_string(app.config["ENCRYPTION_KEY"]),
        )
        db.session.commit()
        before = bot.api_key_encrypted
    app.config["ENCRYPTION_KEY"] = generate_key()
    result = app.test_cli_runner().invoke(args=["rotate-keys"])
    assert result.exit_code != 0 and "cannot re-encrypt the API keys of bot 1" in result.output
    with app.app_context():
        assert db.session.scalar(select(Bot.api_key_encrypted)) == before
