"""Web pages under load: 50 concurrent users on gunicorn (the deployment's config) on loopback.

Each virtual user is a thread with two ``requests`` sessions: an anonymous one that loads the
login page and a logged-in one (through the real login form and CSRF token) that loads its bot
list. All users log in first; then two scenarios run with everyone at once: each user clicking
about once a second (a busy but human pace), and every user requesting without pause (the
server's saturation, where latency is mostly queueing). One user alone gives the service time.
Figures per page: requests, errors, p50 / p95 / p99 / max in ms and requests per second.
SQLite always; PostgreSQL too when TEST_DATABASE_URL (or the default) answers.

The server runs as in production (DCABOT_ENV=production, deploy/gunicorn.conf.py, rate limits on)
except for plain-HTTP cookies and the bind address. Each user sends its own X-Forwarded-For, as
nginx would, so the per-address login limit sees 50 addresses instead of one. The client threads
share the 2 cores with gunicorn, so the figures include the load generator's own work.
"""

from __future__ import annotations

import os
import random
import re
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

USERS = 50
ROUNDS = 10
THINK_S = 1.0
START_TIMEOUT_S = 30
RUN_TIMEOUT_S = 180
REQUEST_TIMEOUT_S = 30
RUNS_PER_BOT = 20
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
CSRF = re.compile(r'name="csrf_token"[^>]*\bvalue="([^"]+)"')


@dataclass
class Timings:
    """Latencies (ms) and failures of one page."""

    ms: list[float] = field(default_factory=list)
    errors: int = 0

    def summary(self, seconds: float) -> dict:
        """Count, errors, percentiles and throughput."""
        ordered = sorted(self.ms)
        if not ordered:
            return {"requests": 0, "errors": self.errors}

        def pct(p: float) -> float:
            return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))], 1)

        return {
            "requests": len(ordered) + self.errors,
            "errors": self.errors,
            "p50_ms": round(statistics.median(ordered), 1),
            "p95_ms": pct(0.95),
            "p99_ms": pct(0.99),
            "max_ms": round(ordered[-1], 1),
            **({"per_second": round(len(ordered) / seconds, 1)} if seconds else {}),
        }


def free_port() -> int:
    """A free loopback TCP port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def seed(url: str, key: str, users: int) -> list[str]:
    """Verified users, each with a running paper bot, a pair and some runs; their e-mails."""
    from saas.db import create_schema, make_engine, make_session_factory, session_scope
    from saas.models import BotLog, BotRun
    from saas.security import KeyRing
    from tests.fixtures.database import gen_bot, gen_pair, gen_user

    engine = make_engine(url)
    emails = []
    now = datetime.now(UTC)
    try:
        create_schema(engine)
        with session_scope(make_session_factory(engine)) as session:
            ring = KeyRing.from_string(key)
            for n in range(users):
                user = gen_user(session, f"load{n}@example.com", email_verified=True)
                bot = gen_bot(session, user, name="load bot", ring=ring, next_run_at=now)
                gen_pair(session, bot)
                for r in range(RUNS_PER_BOT):
                    at = now - timedelta(minutes=5 * r)
                    session.add(
                        BotRun(
                            bot_id=bot.id,
                            started_at=at,
                            finished_at=at,
                            duration_ms=250,
                            outcome="ok",
                            conclusions={},
                        )
                    )
                    session.add(
                        BotLog(bot_id=bot.id, level="info", message="run ok", created_at=at)
                    )
                emails.append(user.email)
    finally:
        engine.dispose()
    return emails


def start_server(url: str, key: str, port: int, log) -> subprocess.Popen:
    """gunicorn with deploy/gunicorn.conf.py on 127.0.0.1:port, ready when /healthz answers."""
    import requests

    env = {
        "PATH": os.environ["PATH"],
        "DATABASE_URL": url,
        "ENCRYPTION_KEY": key,
        "SECRET_KEY": secrets.token_hex(32),
        "DCABOT_ENV": "production",
        "SESSION_COOKIE_SECURE": "false",  # plain HTTP on loopback
        "TRUSTED_PROXIES": "1",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_LOG_LEVEL": "warning",
        "PAPER_PRICES": "simulated",
    }
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "-c",
        str(ROOT / "deploy/gunicorn.conf.py"),
        "--access-logfile",
        "/dev/null",
        "--pid",
        str(Path(log.name).with_suffix(".pid")),
    ]
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.returncode}; see {log.name}")
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code < 600:
                return server
        except requests.RequestException:
            time.sleep(0.2)
    stop_server(server)
    raise RuntimeError(f"gunicorn did not answer within {START_TIMEOUT_S} s")


def stop_server(server: subprocess.Popen) -> None:
    """Stop gunicorn gracefully, then for good."""
    server.terminate()
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=5)


def timed(timings: Timings, session, url: str, expect: str, headers: dict) -> None:
    """One GET, timed; an unexpected status or page counts as an error."""
    start = time.perf_counter()
    try:
        response = session.get(
            url, headers=headers, timeout=REQUEST_TIMEOUT_S, allow_redirects=False
        )
        ok = response.status_code == 200 and expect in response.text
    except Exception:  # noqa: BLE001 - any failure is an error to count, not to raise
        ok = False
    elapsed = (time.perf_counter() - start) * 1000
    if ok:
        timings.ms.append(elapsed)
    else:
        timings.errors += 1


def log_in(base: str, session, email: str, headers: dict) -> bool:
    """The real login form: read its CSRF token, post e-mail and password."""
    import requests

    from tests.fixtures.database import DEFAULT_PASSWORD

    try:
        form = session.get(f"{base}/auth/login", headers=headers, timeout=REQUEST_TIMEOUT_S)
        token = CSRF.search(form.text).group(1)
        answer = session.post(
            f"{base}/auth/login",
            headers=headers,
            allow_redirects=False,
            timeout=REQUEST_TIMEOUT_S,
            data={"email": email, "password": DEFAULT_PASSWORD, "csrf_token": token},
        )
    except (requests.RequestException, AttributeError):
        return False
    return answer.status_code == 302 and "/auth/login" not in answer.headers.get("Location", "")


@dataclass
class Scenario:
    """How the users behave: requests per user and the pause between them."""

    name: str
    rounds: int
    think_s: float


def virtual_user(
    base: str, email: str, number: int, scenarios: list[Scenario], barriers: list, results: dict
) -> None:
    """Log in, wait for everyone, then per scenario alternate the login page and the bot list."""
    import requests

    headers = {"X-Forwarded-For": f"10.0.{number // 250}.{number % 250 + 1}"}
    with requests.Session() as anonymous, requests.Session() as member:
        start = time.perf_counter()
        logged_in = log_in(base, member, email, headers)
        logins = results["logins"]
        if logged_in:
            logins.ms.append((time.perf_counter() - start) * 1000)
        else:
            logins.errors += 1
        for scenario, barrier in zip(scenarios, barriers, strict=True):
            barrier.wait(timeout=RUN_TIMEOUT_S)  # every user starts a scenario together
            pages = results[scenario.name]
            for _ in range(scenario.rounds if logged_in else 0):
                # Spread the users' clicks over the think time instead of in lock step.
                time.sleep(scenario.think_s * (0.5 + random.random()))  # noqa: S311
                timed(pages["login page"], anonymous, f"{base}/auth/login", "Log in", headers)
                timed(pages["bot list (logged in)"], member, f"{base}/bots/", "load bot", headers)
            with results["lock"]:
                span = results["spans"][scenario.name]
                span[1] = max(span[1], time.perf_counter())


def run_users(base: str, emails: list[str], scenarios: list[Scenario]) -> dict:
    """Every user in its own thread, the scenarios one after the other; figures per scenario."""
    results: dict = {"logins": Timings(), "lock": threading.Lock(), "spans": {}}
    barriers = []
    for scenario in scenarios:
        results[scenario.name] = {"login page": Timings(), "bot list (logged in)": Timings()}
        span = results["spans"][scenario.name] = [0.0, 0.0]
        # The barrier's action runs once, when the last user arrives: the scenario's start.
        barriers.append(
            threading.Barrier(
                len(emails), action=lambda span=span: span.__setitem__(0, time.perf_counter())
            )
        )
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=len(emails)) as pool:
        futures = [
            pool.submit(virtual_user, base, email, n, scenarios, barriers, results)
            for n, email in enumerate(emails)
        ]
        for future in futures:
            future.result(timeout=RUN_TIMEOUT_S)
    login_wall = results["spans"][scenarios[0].name][0] - started
    figures = {"logins (form POST, scrypt)": results["logins"].summary(login_wall)}
    for scenario in scenarios:
        begin, end = results["spans"][scenario.name]
        figures[scenario.name] = {
            name: timings.summary(end - begin) for name, timings in results[scenario.name].items()
        } | {"wall_s": round(end - begin, 1)}
    return figures


def bench_database(url: str, users: int, rounds: int) -> dict:
    """Seed, serve with gunicorn, and load the pages with ``users`` concurrent users."""
    from saas.security import generate_key

    key = generate_key()
    emails = seed(url, key, users)
    port = free_port()
    scenarios = [
        Scenario("one click a second per user", rounds, THINK_S),
        Scenario("no pause (saturation)", rounds, 0.0),
    ]
    with tempfile.NamedTemporaryFile("w", suffix=".log", delete=False) as log:
        server = start_server(url, key, port, log)
        try:
            base = f"http://127.0.0.1:{port}"
            single = {"login page": Timings(), "bot list (logged in)": Timings()}
            with requests_session() as anonymous, requests_session() as member:
                log_in(base, member, emails[0], {})
                for _ in range(rounds * 5):
                    timed(single["login page"], anonymous, f"{base}/auth/login", "Log in", {})
                    timed(single["bot list (logged in)"], member, f"{base}/bots/", "load bot", {})
            figures = {"one user alone": {n: t.summary(0) for n, t in single.items()}}
            figures |= run_users(base, emails, scenarios)
        finally:
            stop_server(server)
    Path(log.name).unlink(missing_ok=True)
    return figures


def requests_session():
    """A requests session (imported late: the module imports without it)."""
    import requests

    return requests.Session()


def bench_postgresql(users: int, rounds: int) -> dict:
    """The PostgreSQL figures in a throw-away schema, or why they are missing."""
    import psycopg
    from sqlalchemy.engine import make_url

    base = os.environ.get("TEST_DATABASE_URL") or DEFAULT_PG
    libpq = make_url(base).set(drivername="postgresql").render_as_string(hide_password=False)
    schema = f"webbench_{secrets.token_hex(4)}"
    try:
        with psycopg.connect(libpq, connect_timeout=3, autocommit=True) as connection:
            connection.execute(f'CREATE SCHEMA "{schema}"')
    except psycopg.Error as exc:
        return {"skipped": f"PostgreSQL not reachable at {base}: {str(exc).splitlines()[0]}"}
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        return bench_database(url.render_as_string(hide_password=False), users, rounds)
    finally:
        with psycopg.connect(libpq, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


def run(users: int = USERS, rounds: int = ROUNDS) -> dict:
    """p95 and error counts of the login page and the bot list at ``users`` concurrent users."""
    import multiprocessing

    with tempfile.TemporaryDirectory() as tmp:
        sqlite = bench_database(f"sqlite:///{Path(tmp) / 'web.sqlite'}", users, rounds)
    return {
        "users": users,
        "rounds_per_user": rounds,
        "server": f"gunicorn gthread, {multiprocessing.cpu_count() * 2 + 1} workers x 4 threads",
        "sqlite": sqlite,
        "postgresql": bench_postgresql(users, rounds),
        "target": "dashboard pages p95 under 50 ms at 50 concurrent users (DESIGN.md)",
    }


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
