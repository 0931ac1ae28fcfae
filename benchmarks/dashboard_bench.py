"""Dashboard pages under load: 1,000,000 trades of 1,000 bots in PostgreSQL, served by gunicorn.

- Seeds a schema of its own (dropped afterwards) on TEST_DATABASE_URL: 50 users with 20 paper
  bots each, two pairs per bot, 1,000 fills per bot over six months (COPY), ten runs and log
  lines per bot; then builds bot_daily_stats for every bot (what the runner's refresh keeps up).
- Serves the app with gunicorn on loopback (deploy/gunicorn.conf.py: gthread, 2 x cores + 1
  workers, 4 threads) and runs 50 concurrent simulated users for a bounded time. Each user is
  logged in (a signed session cookie), arrives at a random moment of the first 1.5 s and loops:
  one request, then a think time of 0.5-1.5 s.
  The mix: the overview and its JSON, a bot page and its charts JSON, trade history pages.
- Exports all 1,000,000 trades as CSV through the same server (every bot moved to one user) and
  samples the workers' RSS before, during and after, to show the export streams.

``run() -> dict`` for benchmarks/__main__.py; ``python benchmarks/dashboard_bench.py`` prints it.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import secrets
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
USER_AGENT = "dcabot-bench/1"
TRADE_COLUMNS = (
    "bot_id",
    "pair_id",
    "client_order_id",
    "time",
    "symbol",
    "side",
    "action",
    "qty",
    "price",
    "fee",
    "pnl",
    "pnl_percentage",
    "position_size",
    "position_value",
    "margin_level",
    "balance_after",
)
MIX = (
    ("overview", 30),
    ("overview_json", 10),
    ("bot", 25),
    ("bot_charts", 10),
    ("trades", 20),
    ("trades_page", 5),
)


def wsgi_app():
    """The app from the environment with the dashboard registered (gunicorn's entry point)."""
    from saas import create_app
    from saas.dashboard import bp

    app = create_app()
    if "dashboard" not in app.blueprints:
        app.register_blueprint(bp)
    return app


# -- seeding -----------------------------------------------------------------------------------


def _schema_url(base: str, schema: str) -> str:
    from tests.fixtures.database import with_search_path

    return with_search_path(base, schema)


def _seed_accounts(engine, users: int, bots_per_user: int, now: datetime) -> dict:
    """Users, bots (two pairs each), runs and log lines; {user_id: [(bot_id, [pairs])]}."""
    from sqlalchemy import insert

    from saas.db import make_session_factory, session_scope
    from saas.models import Bot, BotLog, BotRun, TradingPair, User
    from tests.fixtures.database import default_password_hash

    layout: dict[int, list] = {}
    with session_scope(make_session_factory(engine)) as session:
        user_ids = session.scalars(
            insert(User).returning(User.id),
            [
                {
                    "email": f"bench{n}@example.com",
                    "password_hash": default_password_hash(),
                    "email_verified": True,
                }
                for n in range(users)
            ],
        ).all()
        bot_rows = [
            {
                "user_id": uid,
                "name": f"bot-{uid}-{n}",
                "exchange": "paper",
                "status": "running",
                "testnet": True,
                "last_run_at": now - timedelta(minutes=2),
                "last_outcome": "ok",
                "next_run_at": now + timedelta(minutes=3),
            }
            for uid in user_ids
            for n in range(bots_per_user)
        ]
        bot_ids = session.scalars(
            insert(Bot).returning(Bot.id, sort_by_parameter_order=True), bot_rows
        ).all()
        pairs = session.execute(
            insert(TradingPair).returning(
                TradingPair.id,
                TradingPair.bot_id,
                TradingPair.symbol,
                TradingPair.side,
                sort_by_parameter_order=True,
            ),
            [
                {"bot_id": bid, "symbol": symbol, "side": side, "leverage": Decimal(10)}
                for bid in bot_ids
                for symbol, side in (("BTCUSDT", "Long"), ("ETHUSDT", "Short"))
            ],
        ).all()
        runs = [
            {
                "bot_id": bid,
                "started_at": now - timedelta(minutes=5 * k),
                "outcome": "ok",
                "duration_ms": 300,
                "conclusions": {"1": "Nothing changed"},
            }
            for bid in bot_ids
            for k in range(10)
        ]
        session.execute(insert(BotRun), runs)
        session.execute(
            insert(BotLog),
            [
                {
                    "bot_id": bid,
                    "level": "info",
                    "message": "run finished",
                    "fields": {},
                    "created_at": now - timedelta(minutes=5 * k),
                }
                for bid in bot_ids
                for k in range(10)
            ],
        )
    by_bot: dict[int, list] = {}
    for pid, bid, symbol, side in pairs:
        by_bot.setdefault(bid, []).append((pid, symbol, side, Decimal(10)))
    for row, bid in zip(bot_rows, bot_ids, strict=True):
        layout.setdefault(row["user_id"], []).append((bid, by_bot[bid]))
    return layout


def _copy_trades(url: str, layout: dict, per_bot: int, days: int, now: datetime) -> int:
    """COPY each bot's generated fills (tests.fixtures.dashboard.make_history); rows written."""
    import psycopg

    from tests.fixtures.dashboard import make_history
    from tests.fixtures.database import libpq_url

    written = 0
    start = now - timedelta(days=days)
    with psycopg.connect(libpq_url(url)) as connection, connection.cursor() as cursor:
        with cursor.copy(f"COPY trades ({', '.join(TRADE_COLUMNS)}) FROM STDIN") as copy:
            for bots in layout.values():
                for bid, pairs in bots:
                    for row in make_history(
                        bid, pairs, start, now - timedelta(minutes=1), per_bot / days, seed=bid
                    ):
                        copy.write_row([row[c] for c in TRADE_COLUMNS])
                        written += 1
        connection.commit()
    return written


def _build_stats(engine, layout: dict, today) -> float:
    """bot_daily_stats for every bot; seconds taken."""
    from saas.db import make_session_factory
    from saas.services.insights.stats import rebuild_bot_stats

    started = time.perf_counter()
    factory = make_session_factory(engine)
    for bots in layout.values():
        with factory() as session:
            for bid, _ in bots:
                rebuild_bot_stats(session, bid, today)
            session.commit()
    return time.perf_counter() - started


# -- the server --------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start_gunicorn(env: dict, port: int, threads: int | None = None) -> subprocess.Popen:
    """gunicorn with the deploy settings on a loopback port; waits until it answers."""
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "-c",
        str(ROOT / "deploy" / "gunicorn.conf.py"),
        "--access-logfile",
        "/dev/null",
        "benchmarks.dashboard_bench:wsgi_app()",
    ]
    extra = {"GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_LOG_LEVEL": "warning"}
    if threads is not None:
        extra["GUNICORN_THREADS"] = str(threads)
    server = subprocess.Popen(command, cwd=ROOT, env={**env, **extra})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/auth/login")
            connection.getresponse().read()
            connection.close()
            return server
        except OSError:
            time.sleep(0.3)
    server.terminate()
    raise RuntimeError("gunicorn did not answer within 60 s")


def _workers(master: int) -> list[int]:
    """The gunicorn master's child processes."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == master:
                found.append(int(entry.name))
    return found


def _rss_mb(pid: int) -> float:
    """Resident memory of a process in MB (0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _cookies(env: dict, layout: dict) -> dict[int, str]:
    """A signed session cookie per user, as the login view would write it."""
    from flask_login.utils import _create_identifier

    from saas.auth.sessions import session_version
    from saas.extensions import db
    from saas.models import User

    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        app = wsgi_app()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    serializer = app.session_interface.get_signing_serializer(app)
    cookies = {}
    environ = {"REMOTE_ADDR": "127.0.0.1", "HTTP_USER_AGENT": USER_AGENT}
    with app.test_request_context(environ_base=environ):
        identifier = _create_identifier()
        for uid in layout:
            user = db.session.get(User, uid)
            # With a CSRF token, as a browser's session has after its first page.
            session = {
                "_user_id": f"{uid}:{session_version(user)}",
                "_fresh": True,
                "_id": identifier,
                "csrf_token": secrets.token_hex(20),
            }
            cookies[uid] = f"{app.config['SESSION_COOKIE_NAME']}={serializer.dumps(session)}"
        for engine in db.engines.values():
            engine.dispose()
    return cookies


# -- load ----------------------------------------------------------------------------------------


def _path(kind: str, bots: list, rng: random.Random) -> str:
    bot = rng.choice(bots)[0]
    return {
        "overview": "/dashboard/",
        "overview_json": "/dashboard/overview.json",
        "bot": f"/dashboard/bots/{bot}",
        "bot_charts": f"/dashboard/bots/{bot}/charts.json",
        "trades": "/dashboard/trades",
        "trades_page": f"/dashboard/trades?page={rng.randint(2, 5)}",
    }[kind]


def _user_loop(port, cookie, bots, deadline, think, seed, results, lock) -> None:
    """One simulated user: request, read, think; until the deadline."""
    rng = random.Random(seed)
    kinds = [k for k, _ in MIX]
    weights = [w for _, w in MIX]
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Cookie": cookie, "User-Agent": USER_AGENT}
    mine = []
    # Users arrive over the first think time, as people do, not as one burst of 50 requests.
    time.sleep(rng.uniform(0, think[1]))
    while time.monotonic() < deadline:
        kind = rng.choices(kinds, weights)[0]
        started = time.perf_counter()
        try:
            connection.request("GET", _path(kind, bots, rng), headers=headers)
            response = connection.getresponse()
            response.read()
            ok = response.status == 200
        except (OSError, http.client.HTTPException):
            ok = False
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine.append((kind, (time.perf_counter() - started) * 1000, ok))
        time.sleep(rng.uniform(*think))
    connection.close()
    with lock:
        results.extend(mine)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _load(port: int, cookies: dict, layout: dict, duration: float, think) -> dict:
    """Concurrent simulated users for ``duration`` seconds; latency figures per page."""
    results: list = []
    lock = threading.Lock()
    deadline = time.monotonic() + duration
    threads = [
        threading.Thread(
            target=_user_loop,
            args=(port, cookies[uid], layout[uid], deadline, think, uid, results, lock),
        )
        for uid in layout
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(duration + 60)
    figures = {}
    for kind, _ in MIX:
        times = [ms for k, ms, _ in results if k == kind]
        figures[kind] = (
            {
                "requests": len(times),
                "p50_ms": round(_percentile(times, 0.5), 1),
                "p95_ms": round(_percentile(times, 0.95), 1),
                "max_ms": round(max(times), 1),
            }
            if times
            else {}
        )
    every = [ms for _, ms, _ in results]
    return {
        "users": len(layout),
        "seconds": duration,
        "requests": len(results),
        "requests_per_second": round(len(results) / duration, 1),
        "errors": sum(1 for *_, ok in results if not ok),
        "p50_ms": round(_percentile(every, 0.5), 1),
        "p95_ms": round(_percentile(every, 0.95), 1),
        "p99_ms": round(_percentile(every, 0.99), 1),
        "pages": figures,
    }


def _export(engine, server: subprocess.Popen, port: int, cookie: str, owner: int) -> dict:
    """Every trade as CSV through the server; rows, time, and the workers' memory around it."""
    from sqlalchemy import text

    with engine.begin() as connection:  # one user owns every bot for this step
        connection.execute(text("UPDATE bots SET user_id = :owner"), {"owner": owner})
    workers = _workers(server.pid)
    before = {pid: _rss_mb(pid) for pid in workers}
    peak = dict(before)
    done = threading.Event()

    def sample():
        while not done.is_set():
            for pid in workers:
                peak[pid] = max(peak[pid], _rss_mb(pid))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample)
    sampler.start()
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    connection.request(
        "GET", "/dashboard/trades.csv", headers={"Cookie": cookie, "User-Agent": USER_AGENT}
    )
    response = connection.getresponse()
    lines = size = 0
    while chunk := response.read(1 << 16):
        lines += chunk.count(b"\n")
        size += len(chunk)
    connection.close()
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    after = {pid: _rss_mb(pid) for pid in workers}
    grew = max(peak[pid] - before[pid] for pid in workers)
    return {
        "status": response.status,
        "rows": lines - 1,
        "megabytes": round(size / 1e6, 1),
        "seconds": round(seconds, 1),
        "rows_per_second": round((lines - 1) / seconds),
        "worker_rss_before_mb": round(max(before.values()), 1),
        "worker_rss_peak_growth_mb": round(grew, 1),
        "worker_rss_after_mb": round(max(after.values()), 1),
    }


def _serve_and_load(
    env: dict, layout: dict, duration: float, think, threads: int | None
) -> tuple[dict, int]:
    """One gunicorn (deploy settings, or ``threads`` per worker) under the load; figures, port."""
    port = _free_port()
    server = _start_gunicorn(env, port, threads)
    try:
        cookies = _cookies(
            {k: env[k] for k in ("DATABASE_URL", "SECRET_KEY", "ENCRYPTION_KEY", "DCABOT_ENV")},
            layout,
        )
        _load(port, cookies, layout, min(5.0, duration), (0.05, 0.1))  # warm every worker
        load = _load(port, cookies, layout, duration, think)
        load["gunicorn_workers"] = len(_workers(server.pid))
        load["threads_per_worker"] = threads or "deploy default (4)"
    finally:
        server.terminate()
        server.wait(30)
    return load, port


def run(
    users: int = 50,
    bots_per_user: int = 20,
    trades_per_bot: int = 1000,
    days: int = 180,
    duration: float = 30.0,
    think: tuple[float, float] = (0.5, 1.5),
) -> dict:
    """Seed, serve, load (deploy settings, then one thread per worker), export; the figures."""
    import psycopg

    from saas.db import create_schema, make_engine
    from saas.security import generate_key
    from tests.fixtures.database import libpq_url

    base = os.environ.get("TEST_DATABASE_URL") or DEFAULT_PG
    schema = f"bench_dash_{secrets.token_hex(4)}"
    with psycopg.connect(libpq_url(base), autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    url = _schema_url(base, schema)
    engine = make_engine(url)
    server = None
    try:
        create_schema(engine)
        now = datetime.now(UTC)
        started = time.perf_counter()
        layout = _seed_accounts(engine, users, bots_per_user, now)
        trades = _copy_trades(url, layout, trades_per_bot, days, now)
        seeded = time.perf_counter() - started
        stats_seconds = _build_stats(engine, layout, now.date())
        with psycopg.connect(libpq_url(url), autocommit=True) as connection:
            # A vacuum now, not autovacuum during the load (and visibility maps set).
            connection.execute("VACUUM ANALYZE")
            connection.execute("CHECKPOINT")
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "SECRET_KEY": secrets.token_hex(32),
            "ENCRYPTION_KEY": generate_key(),
            "DCABOT_ENV": "development",
            "PYTHONPATH": str(ROOT),
        }
        load, _ = _serve_and_load(env, layout, duration, think, None)
        single, _ = _serve_and_load(env, layout, duration, think, 1)
        port = _free_port()
        server = _start_gunicorn(env, port)
        owner = next(iter(layout))
        cookie = _cookies(
            {k: env[k] for k in ("DATABASE_URL", "SECRET_KEY", "ENCRYPTION_KEY", "DCABOT_ENV")},
            {owner: None},
        )[owner]
        export = _export(engine, server, port, cookie, owner)
        return {
            "trades": trades,
            "bots": sum(len(b) for b in layout.values()),
            "users": users,
            "seed_seconds": round(seeded, 1),
            "daily_stats_build_seconds": round(stats_seconds, 1),
            "load": load,
            "load_one_thread_per_worker": single,
            "p95_target_met": load["p95_ms"] < 50 and load["errors"] == 0,
            "csv_export": export,
        }
    finally:
        if server is not None:
            server.terminate()
            server.wait(30)
        engine.dispose()
        with psycopg.connect(libpq_url(base), autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
