"""One `BOT_ID=n python main.py` run in its own process, on SQLite and PostgreSQL: wall, memory.

The bot trades BTCUSDT Long and Short on the loopback fake exchange (tests/fake_exchange); the
first run opens a position, the others are the steady state (read, decide, record). PostgreSQL
is TEST_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/test) in a schema of its own,
dropped afterwards; it is skipped when unreachable.
"""

from __future__ import annotations

import os
import resource
import secrets
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.measure import run_main  # noqa: E402 - needs ROOT on sys.path when run directly

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"


def seed(url: str, fx, key: str) -> int:
    """A user, a running Bybit bot on the fake exchange's account, two pairs; the bot id."""
    from saas.db import create_schema, make_engine, make_session_factory, session_scope
    from saas.security import KeyRing
    from tests.fake_exchange import DEFAULT_CREDENTIALS
    from tests.fixtures.database import gen_bot, gen_pair, gen_user

    engine = make_engine(url)
    try:
        create_schema(engine)
        with session_scope(make_session_factory(engine)) as session:
            api_key, api_secret = DEFAULT_CREDENTIALS["bybit"]
            bot = gen_bot(
                session,
                gen_user(session),
                exchange="bybit",
                api_key=api_key,
                api_secret=api_secret,
                ring=KeyRing.from_string(key),
            )
            for side in ("Long", "Short"):
                gen_pair(session, bot, "BTCUSDT", side, strategy_params={"use_postonly": False})
            return bot.id
    finally:
        engine.dispose()


def one_run(env: dict) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one bot process."""
    return run_main(env)


def bench_database(url: str, runs: int) -> dict:
    """``runs`` runs of one bot on this database against a fresh fake exchange."""
    from saas.security import generate_key
    from tests.fake_exchange import FakeExchange
    from tests.fixtures.database import open_market

    key = generate_key()
    with FakeExchange() as fx:
        open_market(fx)
        bot_id = seed(url, fx, key)
        env = {
            "PATH": os.environ["PATH"],
            "BOT_ID": str(bot_id),
            "DATABASE_URL": url,
            "ENCRYPTION_KEY": key,
            "BYBIT_BASE_URL": fx.url,
        }
        first_wall, first_rss = one_run(env)
        steady = [one_run(env) for _ in range(runs)]
        orders = len(fx.orders())
    walls = [w for w, _ in steady]
    return {
        "first_run_wall_s": round(first_wall, 3),
        "runs": runs,
        "wall_median_s": round(statistics.median(walls), 3),
        "wall_max_s": round(max(walls), 3),
        "peak_rss_mb": round(max([first_rss] + [r for _, r in steady]), 1),
        "orders_on_exchange": orders,
    }


def bench_postgresql(runs: int) -> dict:
    """The PostgreSQL figures in a throw-away schema, or why they are missing."""
    import psycopg
    from sqlalchemy.engine import make_url

    base = os.environ.get("TEST_DATABASE_URL") or DEFAULT_PG
    libpq = make_url(base).set(drivername="postgresql").render_as_string(hide_password=False)
    schema = f"bench_{secrets.token_hex(4)}"
    try:
        with psycopg.connect(libpq, connect_timeout=3, autocommit=True) as connection:
            connection.execute(f'CREATE SCHEMA "{schema}"')
    except psycopg.Error as exc:
        return {"skipped": f"PostgreSQL not reachable at {base}: {str(exc).splitlines()[0]}"}
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        return bench_database(url.render_as_string(hide_password=False), runs)
    finally:
        with psycopg.connect(libpq, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


def run(runs: int = 10) -> dict:
    """Wall and peak RSS per database (each bot's own RUSAGE_CHILDREN, read by its launcher)."""
    with tempfile.TemporaryDirectory() as tmp:
        sqlite = bench_database(f"sqlite:///{Path(tmp) / 'bench.sqlite'}", runs)
    postgresql = bench_postgresql(runs)
    # Includes the launchers, which inherit this process's peak: an upper bound only.
    children_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {
        "pairs_per_run": 2,
        "exchange": "fake exchange (Bybit dialect, loopback)",
        "sqlite": sqlite,
        "postgresql": postgresql,
        "all_children_peak_rss_mb_upper_bound": round(children_peak, 1),
        "target": "under 0.5 s wall and 80 MB peak per run",
    }


if __name__ == "__main__":
    print(run())
