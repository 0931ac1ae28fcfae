"""The sysadmin's quick start exactly as docs/DEPLOYMENT.md writes it, on a fresh PostgreSQL.

psql applies schema.sql (twice), `python saas/security.py` makes the key, the document's own
INSERTs add a user, a bot with plain-Fernet keys and a pair, and `BOT_ID=1 python main.py`
runs against the fake exchange and places its order.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import psycopg
import pytest
from cryptography.fernet import Fernet
from sqlalchemy.engine import make_url

from saas.db import make_engine
from saas.security import KeyRing, bot_credentials
from tests.fake_exchange import DEFAULT_CREDENTIALS
from tests.fixtures.database import libpq_url, open_market

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "DEPLOYMENT.md"
KEY, SECRET = DEFAULT_CREDENTIALS["bybit"]
INSERT_USER = "INSERT INTO users (email, password_hash, plan) VALUES"


def documented_sql() -> str:
    """The SQL block after the quick-start marker of docs/DEPLOYMENT.md."""
    text = DOC.read_text()
    found = re.search(r"<!-- quick-start-sql -->\s*```sql\n(.*?)```", text, re.S)
    assert found, "docs/DEPLOYMENT.md lost its quick-start SQL"
    return "\n".join(line.strip() for line in found.group(1).splitlines())


@pytest.fixture
def fresh_database(pg_server_url):
    """A new, empty database on the test server, dropped afterwards."""
    name = f"qs_{secrets.token_hex(5)}"
    admin = libpq_url(pg_server_url)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    url = make_url(admin).set(database=name, query={}).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def psql(url: str, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    """psql with errors stopping it, as the document runs it."""
    return subprocess.run(
        ["psql", url, "-v", "ON_ERROR_STOP=1", "-q", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_quick_start_as_written_places_an_order(fresh_database, fake_exchange):
    open_market(fake_exchange)
    for _ in range(2):  # the schema applies cleanly, and again
        applied = psql(fresh_database, "-f", str(ROOT / "schema.sql"))
        assert applied.returncode == 0, applied.stderr

    made = subprocess.run(
        [sys.executable, "saas/security.py"], cwd=ROOT, capture_output=True, text=True
    )
    line = made.stdout.strip()
    assert made.returncode == 0 and re.fullmatch(r"ENCRYPTION_KEY=[A-Za-z0-9_=-]{44}", line)
    key = line.split("=", 1)[1]
    fernet = Fernet(key)
    api_key, api_secret = (fernet.encrypt(v.encode()).decode() for v in (KEY, SECRET))

    inserted = psql(
        fresh_database,
        "-v",
        f"api_key={api_key}",
        "-v",
        f"api_secret={api_secret}",
        stdin=documented_sql(),
    )
    assert inserted.returncode == 0, inserted.stderr

    env = {
        "PATH": os.environ["PATH"],
        "BOT_ID": "1",
        "DATABASE_URL": fresh_database,
        "ENCRYPTION_KEY": key,
        "BYBIT_BASE_URL": fake_exchange.url,
    }
    run = subprocess.run(
        [sys.executable, "main.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=90
    )
    assert run.returncode == 0, run.stderr
    assert len(fake_exchange.requests_to("/v5/order/create")) == 1

    engine = make_engine(fresh_database)
    try:
        with engine.connect() as connection:
            stored = connection.exec_driver_sql(
                "SELECT id, exchange, api_key_encrypted, api_secret_encrypted FROM bots"
            ).one()
    finally:
        engine.dispose()
    assert stored.api_key_encrypted != api_key  # re-bound to its row on first use

    row = SimpleNamespace(
        id=stored.id,
        exchange=stored.exchange,
        api_key_encrypted=stored.api_key_encrypted,
        api_secret_encrypted=stored.api_secret_encrypted,
    )
    assert bot_credentials(row, KeyRing.from_string(key)) == (KEY, SECRET)

    again = subprocess.run(
        [sys.executable, "main.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=90
    )
    assert again.returncode == 0 and "not due" in again.stdout  # this slot already ran
    assert len(fake_exchange.requests_to("/v5/order/create")) == 1


def test_a_plan_name_that_does_not_exist_is_refused_by_the_database(fresh_database):
    assert psql(fresh_database, "-f", str(ROOT / "schema.sql")).returncode == 0
    refused = psql(
        fresh_database,
        stdin=f"{INSERT_USER} ('a@example.com', '!', 'basic');",
    )
    assert refused.returncode != 0 and "fk_users_plan_plans" in refused.stderr
    accepted = psql(
        fresh_database,
        stdin=f"{INSERT_USER} ('b@example.com', '!', 'pro');",
    )
    assert accepted.returncode == 0, accepted.stderr


def test_keys_that_are_neither_bound_nor_plain_fernet_are_refused_in_one_line(
    fresh_database, fake_exchange
):
    assert psql(fresh_database, "-f", str(ROOT / "schema.sql")).returncode == 0
    key = Fernet.generate_key().decode()
    other = Fernet(Fernet.generate_key())
    tokens = [other.encrypt(v.encode()).decode() for v in (KEY, SECRET)]
    inserted = psql(
        fresh_database,
        "-v",
        f"api_key={tokens[0]}",
        "-v",
        f"api_secret={tokens[1]}",
        stdin=documented_sql(),
    )
    assert inserted.returncode == 0, inserted.stderr
    env = {
        "PATH": os.environ["PATH"],
        "BOT_ID": "1",
        "DATABASE_URL": fresh_database,
        "ENCRYPTION_KEY": key,
        "BYBIT_BASE_URL": fake_exchange.url,
    }
    run = subprocess.run(
        [sys.executable, "main.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=90
    )
    assert run.returncode == 2
    (line,) = run.stderr.strip().splitlines()
    assert "cannot decrypt the API keys of bot 1" in line
    assert "flask --app saas bots set-keys 1" in line
    assert fake_exchange.requests_to("/v5/order/create") == []
