"""Admin lists at scale: 100,000 users and 200,000 bots in PostgreSQL.

- Seeds a schema of its own on TEST_DATABASE_URL (dropped afterwards) with
  tests/fixtures/admin.fill_install: 100,000 users, 200,000 bots, 20,000 runs, subscriptions,
  invoices and audit rows; then ANALYZE.
- Logs an admin in on the app's test client and times whole requests (routing, the queries,
  the template) of the users and bots lists: the first page, searches, filters, sorts and a deep
  page, each REPEAT times after a warm-up. The target: p95 under 100 ms for every list request.

``run() -> dict`` for benchmarks/__main__.py; ``python benchmarks/admin_bench.py`` prints it.
"""

from __future__ import annotations

import json
import os
import secrets
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
USERS, BOTS, RUNS = 100_000, 200_000, 20_000
REPEAT = 40
TARGET_MS = 100
URLS = (
    "/admin/users",
    "/admin/users?q=trader0421",
    "/admin/users?plan=pro&confirmed=yes",
    "/admin/users?status=suspended",
    "/admin/users?two_factor=yes&sort=email&dir=asc",
    "/admin/users?sort=last_login&created_from=2026-01-01",
    "/admin/users?page=200",
    "/admin/bots",
    "/admin/bots?status=running&exchange=bybit",
    "/admin/bots?network=mainnet&plan=pro",
    "/admin/bots?outcome=auth_error",
    "/admin/bots?overdue=yes",
    "/admin/bots?failures=1",
    "/admin/bots?q=trader00042",
    "/admin/users?q=@example.io&plan=enterprise",
    "/admin/bots?user=4242",
    "/admin/bots?page=200",
    "/admin/bots?failures=3",
)


def percentile(values: list[float], fraction: float) -> float:
    """The value below which ``fraction`` of the sorted values fall."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def seed(url: str) -> float:
    """Schema and data; seconds it took."""
    from sqlalchemy import text

    from saas.db import create_schema, make_engine
    from tests.fixtures.admin import fill_install

    started = time.perf_counter()
    engine = make_engine(url)
    try:
        create_schema(engine)
        fill_install(engine, users=USERS, bots=BOTS, runs=RUNS, now=datetime.now(UTC))
        with engine.begin() as connection:
            connection.execute(text("UPDATE users SET role = 'admin' WHERE id = 1"))
            connection.execute(text("ANALYZE"))
    finally:
        engine.dispose()
    return time.perf_counter() - started


def measure(url: str) -> dict:
    """Time every list request REPEAT times as a logged-in admin."""
    from saas import create_app
    from saas.config import TestConfig
    from saas.security import generate_key
    from tests.fixtures.web import login

    app = create_app(TestConfig({"DATABASE_URL": url, "ENCRYPTION_KEY": generate_key()}))
    client = app.test_client()
    login(client, 1)
    results, everything = {}, []
    for path in URLS:
        for _ in range(3):  # warm caches and the plan cache
            assert client.get(path).status_code == 200, path
        times = []
        for _ in range(REPEAT):
            started = time.perf_counter()
            response = client.get(path)
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
        everything.extend(times)
        results[path] = {
            "p50_ms": round(statistics.median(times), 1),
            "p95_ms": round(percentile(times, 0.95), 1),
        }
    worst = max(r["p95_ms"] for r in results.values())
    return {
        "requests": results,
        "all_p95_ms": round(percentile(everything, 0.95), 1),
        "worst_p95_ms": worst,
        "target_met": worst < TARGET_MS,
    }


def run() -> dict:
    """Seed, measure, drop the schema."""
    import psycopg

    from tests.fixtures.database import libpq_url, with_search_path

    server = os.environ.get("TEST_DATABASE_URL") or DEFAULT_PG
    kept = os.environ.get("ADMIN_BENCH_SCHEMA")  # reuse a seeded schema while tuning
    schema = kept or f"bench_admin_{secrets.token_hex(4)}"
    url = with_search_path(server, schema)
    seconds = 0.0
    if not kept:
        with psycopg.connect(libpq_url(server), autocommit=True) as connection:
            connection.execute(f'CREATE SCHEMA "{schema}"')
    try:
        if not kept:
            seconds = seed(url)
        figures = measure(url)
    finally:
        if not kept:
            with psycopg.connect(libpq_url(server), autocommit=True) as connection:
                connection.execute(f'DROP SCHEMA "{schema}" CASCADE')
    return {"users": USERS, "bots": BOTS, "seed_s": round(seconds, 1), **figures}


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
