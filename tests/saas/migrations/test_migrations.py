"""Alembic migrations: head equals the models and schema.sql, legacy databases, round trips."""

from __future__ import annotations

from decimal import Decimal

import psycopg
import pytest
from sqlalchemy import func, select, text

from saas import migrate
from saas.db import create_schema, make_session_factory, schema_sql
from saas.models import Bot, Order, Trade
from saas.schema_version import (
    BASE_REVISION,
    code_heads,
    database_state,
    problem,
    version_table,
)
from saas.security import bot_credentials
from tests.fixtures.database import libpq_url

from .conftest import fill_first_revision, snapshot

pytestmark = pytest.mark.postgres


def test_the_light_head_reader_agrees_with_alembic():
    """Bot processes read the head without Alembic; both must name the same single head."""
    heads = migrate.script_directory().get_heads()
    assert len(heads) == 1, f"the revisions have several heads: {heads}"
    assert code_heads() == tuple(heads)
    assert migrate.script_directory().get_base() == BASE_REVISION


def test_upgrade_from_empty_gives_the_models_schema(two_empty_urls, engine_on):
    """`db upgrade` on an empty database and the models' create_all give the same schema."""
    migrated, built = (engine_on(url) for url in two_empty_urls)
    migrate.upgrade(migrated)
    assert create_schema(built) == ["created the schema at head"]
    assert snapshot(migrated) == snapshot(built)
    assert database_state(migrated).revisions == code_heads()


def test_upgrade_from_empty_equals_schema_sql(pg_empty_urls, engine_on):
    """On PostgreSQL, the migrations and the shipped schema.sql build the very same schema."""
    migrated_url, applied_url = pg_empty_urls
    migrated = engine_on(migrated_url)
    migrate.upgrade(migrated)
    with psycopg.connect(libpq_url(applied_url), autocommit=True) as connection:
        connection.execute(schema_sql())
        connection.execute(schema_sql())  # the quick start may apply it twice
    applied = engine_on(applied_url)
    assert snapshot(migrated) == snapshot(applied)
    assert database_state(applied).revisions == code_heads()


def test_autogenerate_finds_nothing_to_do_at_head(empty_url, engine_on):
    """A model changed without a revision fails here (this is CI's check)."""
    engine = engine_on(empty_url)
    migrate.upgrade(engine)
    assert migrate.autogenerate_diff(engine) == []


def test_autogenerate_sees_a_schema_that_differs(empty_url, engine_on):
    """The check above can fail: a missing index is reported."""
    engine = engine_on(empty_url)
    migrate.upgrade(engine)
    with engine.begin() as connection:
        connection.execute(text("DROP INDEX ix_trades_pair_id_time"))
    diff = migrate.autogenerate_diff(engine)
    assert [change[0] for change in diff] == ["add_index"]
    assert diff[0][1].name == "ix_trades_pair_id_time"


def test_a_database_from_the_first_init_db_is_recognised_and_upgraded(empty_url, engine_on):
    """Tables but no version table: stamped at the first revision, then brought to head."""
    engine = engine_on(empty_url)
    migrate.upgrade(engine, BASE_REVISION)
    with engine.begin() as connection:
        version_table.drop(connection)  # what the first init-db left: tables, no version
    assert database_state(engine).legacy
    assert "made before migrations" in problem(database_state(engine))

    said = migrate.upgrade(engine)

    assert said[0].startswith("recognised a database made before migrations")
    assert database_state(engine).revisions == code_heads()
    assert migrate.autogenerate_diff(engine) == []


def test_upgrade_and_downgrade_keep_every_row(empty_url, engine_on, keyring):
    """Data written at the first revision survives head and the way back, keys still decrypt."""
    engine = engine_on(empty_url)
    migrate.upgrade(engine, BASE_REVISION)
    counts = fill_first_revision(engine, keyring)
    before = _key_values(engine)

    migrate.upgrade(engine)
    assert _counts(engine, counts) == counts
    assert _key_values(engine) == before
    with make_session_factory(engine)() as session:
        bot = session.get(Bot, 3)
        assert bot_credentials(bot, keyring) == ("key-3", "secret-3")
        order = session.scalar(select(Order).where(Order.id == 7))
        assert order.qty == Decimal("0.007") and order.fee == Decimal("0.0123456789")
        assert session.scalar(select(func.sum(Trade.pnl))) == Decimal("12.3456789012") * 50

    migrate.downgrade(engine, BASE_REVISION)
    assert _counts(engine, counts) == counts
    assert _key_values(engine) == before
    migrate.upgrade(engine)
    assert _counts(engine, counts) == counts


def _counts(engine, expected: dict) -> dict:
    """Row counts of the tables in ``expected``."""
    with engine.connect() as connection:
        return {
            name: connection.execute(text(f"SELECT count(*) FROM {name}")).scalar_one()  # noqa: S608
            for name in expected
        }


def _key_values(engine) -> list:
    """The values a user would notice if a migration lost them."""
    with engine.connect() as connection:
        return [
            connection.execute(text("SELECT id, email, plan FROM users ORDER BY id")).all(),
            connection.execute(
                text("SELECT id, user_id, status, api_key_encrypted FROM bots ORDER BY id")
            ).all(),
            connection.execute(
                text("SELECT client_order_id, qty, price, status FROM orders ORDER BY id")
            ).all(),
            connection.execute(text("SELECT sum(pnl), sum(fee) FROM trades")).all(),
        ]


def test_downgrade_to_base_drops_everything_and_upgrade_rebuilds(empty_url, engine_on):
    """The first revision's downgrade removes every table it made."""
    engine = engine_on(empty_url)
    migrate.upgrade(engine)
    migrate.downgrade(engine, "base")
    state = database_state(engine)
    assert state.revisions == () and not state.has_tables
    migrate.upgrade(engine)
    assert database_state(engine).revisions == code_heads()
