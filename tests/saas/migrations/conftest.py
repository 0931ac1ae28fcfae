"""Fixtures for migration tests: empty databases of both kinds, a schema snapshot, sample rows."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import MetaData, inspect

from saas.db import make_engine
from saas.security import KeyRing, bot_context
from tests.fixtures.database import new_pg_schema

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request, tmp_path):
    """A database with nothing in it, on SQLite and in a PostgreSQL schema of its own."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.sqlite'}"
        return
    yield from _pg_schema_url(request.getfixturevalue("pg_server_url"))


@pytest.fixture(params=["sqlite", "postgresql"])
def two_empty_urls(request, tmp_path):
    """Two empty databases of one kind, for comparing two ways of building the schema."""
    if request.param == "sqlite":
        yield tuple(f"sqlite:///{tmp_path / f'{name}.sqlite'}" for name in ("one", "two"))
        return
    yield from _two_pg(request.getfixturevalue("pg_server_url"))


@pytest.fixture
def pg_empty_urls(pg_server_url):
    """Two empty PostgreSQL schemas."""
    yield from _two_pg(pg_server_url)


def _two_pg(server_url: str):
    """Yield two new schemas' URLs, then drop both."""
    first, second = _pg_schema_url(server_url), _pg_schema_url(server_url)
    yield next(first), next(second)
    for gen in (first, second):
        next(gen, None)


def _pg_schema_url(server_url: str):
    """Yield the URL of a new schema, then drop it."""
    yield from new_pg_schema(server_url, "m")


@pytest.fixture
def engine_on(request):
    """make_engine, disposed at the end of the test."""
    made = []

    def make(url):
        made.append(make_engine(url))
        return made[-1]

    yield make
    for engine in made:
        engine.dispose()


def snapshot(engine) -> dict:
    """Tables, columns (type, nullability, default), keys, indexes and checks, comparable."""
    insp = inspect(engine)
    dialect = engine.dialect
    out = {}
    for table in sorted(insp.get_table_names()):
        pk = insp.get_pk_constraint(table)
        out[table] = {
            "columns": [
                (
                    c["name"],
                    c["type"].compile(dialect=dialect),
                    c["nullable"],
                    _tidy(c.get("default")),
                )
                for c in insp.get_columns(table)
            ],
            "pk": (pk.get("name"), tuple(pk["constrained_columns"])),
            "fks": sorted(
                (
                    fk["name"],
                    tuple(fk["constrained_columns"]),
                    fk["referred_table"],
                    tuple(fk["referred_columns"]),
                    (fk.get("options") or {}).get("ondelete"),
                )
                for fk in insp.get_foreign_keys(table)
            ),
            "indexes": sorted(
                (i["name"], tuple(i["column_names"]), bool(i["unique"]))
                for i in insp.get_indexes(table)
            ),
            "uniques": sorted(
                (u["name"], tuple(u["column_names"])) for u in insp.get_unique_constraints(table)
            ),
            "checks": sorted(
                (c["name"], _tidy(c["sqltext"])) for c in insp.get_check_constraints(table)
            ),
        }
    return out


def _tidy(text) -> str | None:
    """SQL text with its white space folded."""
    return None if text is None else " ".join(str(text).split())


# -- realistic rows at the first revision, written without the (newer) models -----------------


def fill_first_revision(engine, ring: KeyRing) -> dict:
    """Users, bots with bound encrypted keys, pairs, orders, trades, runs and logs; the counts."""
    meta = MetaData()
    meta.reflect(engine)
    t = meta.tables
    stamp = {"created_at": NOW, "updated_at": NOW}
    users = [
        {
            "id": n,
            "email": f"trader{n}@example.com",
            "password_hash": f"scrypt$hash{n}",
            "email_verified": n % 2 == 0,
            "role": "admin" if n == 1 else "user",
            "status": "active",
            "failed_logins": 0,
            "plan": "pro" if n % 3 == 0 else "free",
            "plan_cancel_at_period_end": False,
            "checkout_nonce": n,
            **stamp,
        }
        for n in range(1, 7)
    ]
    bots, pairs = [], []
    for n in range(1, 13):
        bot = {
            "id": n,
            "user_id": (n - 1) % 6 + 1,
            "name": f"bot {n}",
            "exchange": "bybit" if n % 2 else "paper",
            "testnet": True,
            "status": "running" if n % 3 else "stopped",
            "run_interval_minutes": 5,
            "last_outcome": "ok",
            "api_key_encrypted": None,
            "api_secret_encrypted": None,
            **stamp,
        }
        if bot["exchange"] == "bybit":
            bot["api_key_encrypted"] = ring.encrypt(bot_context(n), f"key-{n}")
            bot["api_secret_encrypted"] = ring.encrypt(bot_context(n), f"secret-{n}")
        bots.append(bot)
        for side in ("Long", "Short"):
            pairs.append(
                {
                    "bot_id": n,
                    "symbol": "BTCUSDT" if side == "Long" else "ETHUSDT",
                    "side": side,
                    "leverage": Decimal("10"),
                    "ema_interval": 5,
                    "automatic_mode": True,
                    "strategy": "martingale",
                    "strategy_params": {"profit_pnl": "0.015"},
                    "is_active": True,
                    "alert_keys": [],
                    **stamp,
                }
            )
    runs = [
        {
            "id": n,
            "bot_id": (n - 1) % 12 + 1,
            "started_at": NOW,
            "finished_at": NOW,
            "duration_ms": 120 + n,
            "outcome": "ok",
            "conclusions": {"BTCUSDT": "Opened"},
        }
        for n in range(1, 41)
    ]
    orders, trades = [], []
    for n in range(1, 201):
        bot_id = (n - 1) % 12 + 1
        cid = f"b{bot_id}-p{bot_id * 2 - 1}-{n}-1"
        order = {
            "id": n,
            "bot_id": bot_id,
            "pair_id": bot_id * 2 - 1,
            "run_id": (n - 1) % 40 + 1,
            "client_order_id": cid,
            "symbol": "BTCUSDT",
            "side": "Long",
            "action": "OPEN" if n % 4 else "CLOSE",
            "order_side": "Buy" if n % 4 else "Sell",
            "qty": Decimal("0.001") * n,
            "price": Decimal("30000.5") + n,
            "reduce_only": n % 4 == 0,
            "post_only": True,
            "reason": "dip under the EMA100",
            "status": "filled",
            "exchange_order_id": f"x{n}",
            "filled_qty": Decimal("0.001") * n,
            "avg_price": Decimal("30000.5") + n,
            "fee": Decimal("0.0123456789"),
            "error": "",
            "created_at": NOW,
            "updated_at": NOW,
        }
        orders.append(order)
        trades.append(
            {
                "bot_id": bot_id,
                "pair_id": order["pair_id"],
                "order_id": n,
                "client_order_id": cid,
                "time": NOW,
                "symbol": "BTCUSDT",
                "side": "Long",
                "action": order["action"],
                "qty": order["qty"],
                "price": order["avg_price"],
                "fee": order["fee"],
                "pnl": Decimal("12.3456789012") if n % 4 == 0 else Decimal(0),
                "position_size": order["qty"],
                "position_value": order["qty"] * order["avg_price"],
            }
        )
    logs = [
        {"bot_id": (n - 1) % 12 + 1, "level": "info", "message": f"line {n}", "fields": {}}
        | {"created_at": NOW}
        for n in range(1, 61)
    ]
    rows = {
        "users": users,
        "bots": bots,
        "trading_pairs": pairs,
        "bot_runs": runs,
        "orders": orders,
        "trades": trades,
        "bot_logs": logs,
    }
    with engine.begin() as connection:
        for name, values in rows.items():
            connection.execute(t[name].insert(), values)
    return {name: len(values) for name, values in rows.items()}
