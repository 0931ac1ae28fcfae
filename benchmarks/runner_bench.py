"""run-due throughput: bots per 5-minute window on this machine, CPU per bot run, peak memory.

N Bybit bots, all due, one run-due pass against the fake exchange (its own process, 50 ms added
to every answer) and PostgreSQL (SQLite when PostgreSQL is not reachable). The pass's wall time
gives the rate at the given concurrency; its CPU time (runner and every bot process, from
wait4) gives the ceiling of the machine's cores. A window sustains the lower of the two:
  by_rate = N / wall * 300,  by_cpu = cores * 300 / (CPU seconds per bot).
"""

from __future__ import annotations

import json
import os
import resource
import secrets
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

WINDOW_S = 300
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
# The fake exchange in a process of its own, so its CPU is not counted as the runner's.
SERVER = """
import sys
from decimal import Decimal
from tests.fake_exchange import FakeExchange
n, latency = int(sys.argv[1]), float(sys.argv[2])
fx = FakeExchange(latency_ms=latency).start()
fx.seed_market("BTCUSDT", price=Decimal("30000"))
for i in range(n):
    fx.add_account("bybit", f"bench-key-{i}", f"bench-secret-{i}", Decimal("10000"))
print(fx.url, flush=True)
sys.stdin.read()
fx.stop()
"""


def database() -> tuple[str, callable]:
    """A PostgreSQL schema of our own (or a SQLite file) with the tables, and its clean-up."""
    from saas.db import create_schema, make_engine  # noqa: PLC0415

    url = os.environ.get("TEST_DATABASE_URL") or DEFAULT_PG
    try:
        import psycopg  # noqa: PLC0415

        plain = url.replace("postgresql+psycopg://", "postgresql://")
        schema = f"bench_{secrets.token_hex(4)}"
        with psycopg.connect(plain, connect_timeout=3, autocommit=True) as connection:
            connection.execute(f'CREATE SCHEMA "{schema}"')
        url = f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"

        def drop() -> None:
            with psycopg.connect(plain, autocommit=True) as connection:
                connection.execute(f'DROP SCHEMA "{schema}" CASCADE')
    except Exception:  # noqa: BLE001 - no PostgreSQL here: measure on SQLite
        folder = Path(os.environ.get("TMPDIR", "/tmp")) / f"dcabot-bench-{secrets.token_hex(4)}"
        folder.mkdir()
        url = f"sqlite:///{folder / 'bench.sqlite'}"

        def drop() -> None:
            for path in folder.iterdir():
                path.unlink()
            folder.rmdir()

    engine = make_engine(url)
    create_schema(engine)
    engine.dispose()
    return url, drop


def add_bots(url: str, n: int, key: str) -> None:
    """n running Bybit bots with one BTCUSDT Long pair each, all due now."""
    from saas.db import make_engine, make_session_factory  # noqa: PLC0415
    from saas.models import Bot, TradingPair, User  # noqa: PLC0415
    from saas.security import KeyRing, set_bot_keys  # noqa: PLC0415

    ring = KeyRing.from_string(key)
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        for i in range(n):
            # One Pro owner per bot: plans cap bots per owner and the runner enforces them.
            user = User(
                email=f"bench{i}@example.com",
                password_hash="-",  # noqa: S106
                plan="pro",
                plan_status="active",
            )
            session.add(user)
            session.flush()
            # Placeholders satisfy the keys CHECK until the bound tokens are written below.
            bot = Bot(
                user_id=user.id,
                name=f"bench {i}",
                exchange="bybit",
                testnet=False,
                status="running",
                api_key_encrypted="-",
                api_secret_encrypted="-",  # noqa: S106 - a placeholder, not a secret
            )
            session.add(bot)
            session.flush()
            set_bot_keys(bot, ring, f"bench-key-{i}", f"bench-secret-{i}")
            session.add(
                TradingPair(
                    bot_id=bot.id,
                    symbol="BTCUSDT",
                    side="Long",
                    leverage=Decimal(10),
                    ema_interval=1,
                )
            )
        session.commit()
    engine.dispose()


def one_pass(url: str, key: str, exchange_url: str, spawn: str, concurrency: int) -> dict:
    """One run-due pass over every bot; wall, CPU of the whole process tree, peak memory."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DATABASE_URL": url,
        "ENCRYPTION_KEY": key,
        "BYBIT_BASE_URL": exchange_url,
        "RUNNER_CHILD_ENV": "BYBIT_BASE_URL",
        "RUNNER_STATE_FILE": str(Path(os.environ.get("TMPDIR", "/tmp")) / "bench-state.json"),
    }
    began = time.perf_counter()
    proc = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "main.py"),
            "run-due",
            "--horizon",
            "0",
            "--spawn",
            spawn,
            "--concurrency",
            str(concurrency),
            "--time-limit",
            "60",
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out, err = proc.stdout.read(), proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    proc.stdout.close()
    proc.stderr.close()
    wall = time.perf_counter() - began
    if proc.returncode != 0:
        raise RuntimeError(f"run-due exited {proc.returncode}: {err[-2000:]}")
    summary = next(json.loads(line) for line in out.splitlines() if "run-due pass done" in line)
    return {
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "summary": summary,
        "peak_rss_kb": usage.ru_maxrss,
    }


def import_cost() -> dict:
    """CPU seconds of a bare interpreter and of one bot run's imports (where exec time goes)."""
    from workflows.runner import PRELOAD  # noqa: PLC0415

    def cpu(code: str) -> float:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)

    bare = min(cpu("pass") for _ in range(3))
    imports = min(cpu("import " + ", ".join(PRELOAD)) for _ in range(3))
    return {"interpreter_cpu_s": round(bare, 3), "imports_cpu_s": round(imports - bare, 3)}


def measure(spawn: str, bots: int, concurrency: int, latency_ms: float) -> dict:
    """One mode on fresh bots and a fresh fake exchange."""
    from saas.security import generate_key  # noqa: PLC0415

    key = generate_key()
    url, drop = database()
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(bots), str(latency_ms)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        exchange_url = server.stdout.readline().strip()
        add_bots(url, bots, key)
        result = one_pass(url, key, exchange_url, spawn, concurrency)
    finally:
        server.stdin.close()
        server.wait(timeout=30)
        server.stdout.close()
        drop()
    summary = result["summary"]
    ran = sum(summary["outcomes"].values())
    cpu_per_bot = result["cpu_s"] / ran
    cores = os.cpu_count() or 1
    by_rate = ran / result["wall_s"] * WINDOW_S
    by_cpu = cores * WINDOW_S / cpu_per_bot
    return {
        "spawn": spawn,
        "database": url.split(":", 1)[0],
        "bots": bots,
        "concurrency": concurrency,
        "latency_ms": latency_ms,
        "outcomes": summary["outcomes"],
        "wall_s": round(result["wall_s"], 2),
        "cpu_per_bot_s": round(cpu_per_bot, 3),
        "bot_process_peak_rss_mb": round(summary["max_rss_kb"] / 1024, 1),
        "tree_peak_rss_mb": round(result["peak_rss_kb"] / 1024, 1),
        "bots_per_window_by_rate": int(by_rate),
        "bots_per_window_by_cpu": int(by_cpu),
        "bots_per_window": int(min(by_rate, by_cpu)),
    }


def run(bots: int = 200, latency_ms: float = 50.0) -> dict:
    """Both spawn modes at the default concurrency, fork also at 4x; the import costs."""
    cores = os.cpu_count() or 1
    return {
        "cores": cores,
        "where_exec_time_goes": import_cost(),
        "fork": measure("fork", bots, 2 * cores, latency_ms),
        "fork_wide": measure("fork", bots, 8 * cores, latency_ms),
        "exec": measure("exec", max(bots // 2, 20), 2 * cores, latency_ms),
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
