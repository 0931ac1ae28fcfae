"""`BOT_ID=n python main.py` as its own process, on SQLite and PostgreSQL, on the fake exchange.

The fake exchange lists BTCUSDT at 30000 with a touch of 30000/30000 and flat candles at 31000, so
a Long pair opens at once (price below the 1h EMA100) and its GoodTillCancel limit order at the
bid crosses and fills; the next run then waits (price below EMA200) and places nothing.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from decimal import Decimal as D
from pathlib import Path

import pytest
from sqlalchemy import select, update

from saas.db import make_engine, make_session_factory, session_scope
from saas.models import Bot, BotLog, BotRun, NotificationSetting, Order, Trade
from saas.security import KeyRing, generate_key
from tests.fake_exchange import DEFAULT_CREDENTIALS, FakeExchange
from tests.fixtures.database import gen_bot, gen_pair, gen_user, libpq_url, open_market

ROOT = Path(__file__).resolve().parents[1]
SYMBOL = "BTCUSDT"  # as scripted by open_market
ORDER_PATH = "/v5/order/create"
PARAMS = {"use_postonly": False}  # entries cross the scripted touch and fill at once
BYBIT_KEY, BYBIT_SECRET = DEFAULT_CREDENTIALS["bybit"]


@pytest.fixture
def market(fake_exchange):
    """The scripted fake exchange."""
    return open_market(fake_exchange)


@dataclass
class Deployment:
    """A database with one Bybit bot on the fake exchange, and how to run it."""

    url: str
    key: str
    fx: FakeExchange
    bot_id: int = 0

    def env(self, **extra) -> dict:
        """The environment of `BOT_ID=n python main.py` (nothing else of ours leaks in)."""
        env = {
            "PATH": os.environ["PATH"],
            "BOT_ID": str(self.bot_id),
            "DATABASE_URL": self.url,
            "ENCRYPTION_KEY": self.key,
            "BYBIT_BASE_URL": self.fx.url,
            "PHEMEX_BASE_URL": self.fx.url,
            # These tests run a bot again at once; scheduling is tested in tests/saas/cron/.
            "BOT_FORCE": "1",
        }
        env.update(extra)
        return {k: v for k, v in env.items() if v is not None}

    def start(self, **extra) -> subprocess.Popen:
        """Start a run in its own process."""
        return subprocess.Popen(
            [sys.executable, str(ROOT / "main.py")],
            env=self.env(**extra),
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def run(self, **extra) -> subprocess.CompletedProcess:
        """One run to its end."""
        return subprocess.run(
            [sys.executable, str(ROOT / "main.py")],
            env=self.env(**extra),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )

    def deliver(self, **extra) -> subprocess.CompletedProcess:
        """`python main.py deliver` once: what the run wrote to the outbox is sent."""
        env = self.env(SECRET_KEY="test", DCABOT_ENV="test", **extra)
        env.pop("BOT_ID")
        return subprocess.run(
            [sys.executable, str(ROOT / "main.py"), "deliver"],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )

    def session(self):
        """A session on the deployment's database (engine disposed on exit)."""
        return _Session(self.url)


class _Session:
    """A context manager giving a committed-on-exit session."""

    def __init__(self, url: str):
        self.engine = make_engine(url)

    def __enter__(self):
        self._scope = session_scope(make_session_factory(self.engine))
        return self._scope.__enter__()

    def __exit__(self, *exc_info):
        try:
            return self._scope.__exit__(*exc_info)
        finally:
            self.engine.dispose()


def deploy(url: str, fx: FakeExchange, key: str | None = None, **bot_fields) -> Deployment:
    """A user with a running Bybit bot on the fake exchange's account and one Long pair."""
    deployment = Deployment(url, key or generate_key(), fx)
    bot_fields.setdefault("exchange", "bybit")
    bot_fields.setdefault("api_key", BYBIT_KEY)
    bot_fields.setdefault("api_secret", BYBIT_SECRET)
    with deployment.session() as session:
        bot = gen_bot(
            session, gen_user(session), ring=KeyRing.from_string(deployment.key), **bot_fields
        )
        gen_pair(session, bot, SYMBOL, "Long", strategy_params=PARAMS)
        deployment.bot_id = bot.id
    return deployment


def recorded(url: str) -> dict:
    """What the runs left in the database, in a form comparable across databases."""
    with _Session(url) as session:
        orders = [
            (
                o.client_order_id,
                o.action,
                o.status,
                o.qty,
                o.price,
                o.filled_qty,
                o.avg_price,
                o.fee,
            )
            for o in session.scalars(select(Order).order_by(Order.id))
        ]
        trades = [
            (
                t.client_order_id,
                t.action,
                t.qty,
                t.price,
                t.fee,
                t.pnl,
                t.position_size,
                t.balance_after,
            )
            for t in session.scalars(select(Trade).order_by(Trade.id))
        ]
        runs = [
            (r.id, r.outcome, r.conclusions, r.finished_at is not None)
            for r in session.scalars(select(BotRun).order_by(BotRun.id))
        ]
        logs = [
            (log.level, log.message) for log in session.scalars(select(BotLog).order_by(BotLog.id))
        ]
        bot = session.scalars(select(Bot)).first()
        state = (bot.status, bot.last_outcome, bot.last_error, bot.next_run_at is not None)
    return {"orders": orders, "trades": trades, "runs": runs, "logs": logs, "bot": state}


def json_lines(text: str) -> list[str]:
    """The messages of the JSON log lines on stdout."""
    import json

    return [
        json.loads(line).get("message", "") for line in text.splitlines() if line.startswith("{")
    ]


def test_a_run_records_the_same_orders_trades_run_and_logs_on_sqlite_and_postgresql(
    sqlite_url, pg_url
):
    """Does one run leave identical rows in both databases, and does the next one place nothing?"""
    results = {}
    for url in (sqlite_url, pg_url):
        with FakeExchange() as fx:
            deployment = deploy(url, open_market(fx))
            for _ in range(2):
                proc = deployment.run()
                assert proc.returncode == 0, proc.stderr
                assert BYBIT_KEY not in proc.stdout + proc.stderr  # keys never reach a log
                assert BYBIT_SECRET not in proc.stdout + proc.stderr
            assert len(fx.requests_to(ORDER_PATH)) == 1
        results[url] = recorded(url)
    on_sqlite, on_postgresql = results[sqlite_url], results[pg_url]
    assert on_sqlite == on_postgresql
    (order,) = on_sqlite["orders"]
    assert order[:3] == ("b1-p1-1-1", "OPEN", "filled") and order[3] == order[5] == D("0.02")
    (trade,) = on_sqlite["trades"]
    assert trade[:4] == ("b1-p1-1-1", "OPEN", D("0.02"), D("30000")) and trade[4] > 0
    assert [r[1] for r in on_sqlite["runs"]] == ["ok", "ok"]
    assert on_sqlite["runs"][0][2] == {"1": "Opened: price 30000 below 1h EMA100 31000.00"}
    assert ("info", "Opened: price 30000 below 1h EMA100 31000.00") in on_sqlite["logs"]
    assert on_sqlite["bot"] == ("running", "ok", None, True)


def test_two_runs_started_together_one_runs_and_one_exits_at_once(db_url):
    """No duplicate order may reach the exchange when cron starts a bot twice."""
    with FakeExchange(latency_ms=150) as fx:  # each run takes seconds: the two overlap
        deployment = deploy(db_url, open_market(fx))
        procs = [deployment.start(), deployment.start()]
        finished = {}
        while len(finished) < 2:
            for n, proc in enumerate(procs):
                if n not in finished and proc.poll() is not None:
                    finished[n] = time.monotonic()
            time.sleep(0.02)
        outputs = [proc.communicate() for proc in procs]
        codes = [proc.returncode for proc in procs]
        assert sorted(codes) == [0, 3], outputs
        loser, winner = codes.index(3), codes.index(0)
        assert finished[loser] < finished[winner]
        assert "another run of this bot is in progress; exiting" in json_lines(outputs[loser][0])
        assert len(fx.requests_to(ORDER_PATH)) == 1 and len(fx.orders()) == 1
    rows = recorded(db_url)
    assert len(rows["orders"]) == 1 and len(rows["trades"]) == 1 and len(rows["runs"]) == 1


def wait_for(condition, timeout: float = 30.0) -> None:
    """Poll until ``condition()`` is true."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.02)


def run_until_unlocked(deployment: Deployment) -> subprocess.CompletedProcess:
    """Run; while the server has not yet noticed a killed run's connection, its lock may linger."""
    for _ in range(50):
        proc = deployment.run()
        if proc.returncode != 3:
            return proc
        time.sleep(0.1)
    raise AssertionError("the bot stayed locked after its run was killed")


def test_a_run_killed_after_its_order_was_accepted_is_reconciled_by_the_next(db_url, market):
    """SIGKILL while the exchange holds back its answer: one order there, one trade here."""
    market.inject("timeout", path=ORDER_PATH, delay=30)
    deployment = deploy(db_url, market)
    proc = deployment.start()
    try:
        wait_for(lambda: market.requests_to(ORDER_PATH))
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.communicate(timeout=30)
    killed = recorded(db_url)
    assert [o[2] for o in killed["orders"]] == ["pending"] and killed["trades"] == []
    assert killed["runs"][0][1] == "running"

    again = run_until_unlocked(deployment)
    assert again.returncode == 0, again.stderr
    assert len(market.orders()) == 1 and len(market.requests_to(ORDER_PATH)) == 1
    rows = recorded(db_url)
    assert [(o[0], o[2]) for o in rows["orders"]] == [("b1-p1-1-1", "filled")]
    assert [t[0] for t in rows["trades"]] == ["b1-p1-1-1"]
    assert [r[1] for r in rows["runs"]] == ["error", "ok"]  # the killed run is closed


def test_keys_are_encrypted_at_rest_bound_to_their_bot_and_survive_rotation(
    pg_url, pg_schema, market
):
    """pg_dump shows no key; a key moved to another bot fails; rotate, drop the old key, run."""
    first = deploy(pg_url, market)
    phemex_key, phemex_secret = DEFAULT_CREDENTIALS["phemex"]
    second = deploy(
        pg_url,
        market,
        key=first.key,
        exchange="phemex",
        api_key=phemex_key,
        api_secret=phemex_secret,
    )
    dump = subprocess.run(
        ["pg_dump", "--schema", pg_schema[0], libpq_url(pg_url)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert "COPY" in dump and "gAAAAA" in dump  # the rows are there, as Fernet tokens
    for secret in (BYBIT_KEY, BYBIT_SECRET, phemex_key, phemex_secret):
        assert secret not in dump

    with first.session() as session:
        stolen = session.get(Bot, first.bot_id)
        original = session.get(Bot, second.bot_id).api_key_encrypted
        session.execute(
            update(Bot)
            .where(Bot.id == second.bot_id)
            .values(api_key_encrypted=stolen.api_key_encrypted)
        )
    moved = second.run()
    assert moved.returncode == 2
    assert moved.stderr.strip() == (
        f"error: cannot decrypt the API keys of bot {second.bot_id}: ENCRYPTION_KEY does not "
        "hold the key it was encrypted with, or the value was copied from another row; "
        f"store them again with: flask --app saas bots set-keys {second.bot_id}"
    )
    assert market.requests == []
    with first.session() as session:
        session.execute(
            update(Bot).where(Bot.id == second.bot_id).values(api_key_encrypted=original)
        )

    new_key = generate_key()
    rotate = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "saas", "rotate-keys"],
        cwd=ROOT,
        env=first.env(ENCRYPTION_KEY=f"{new_key},{first.key}"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert rotate.returncode == 0, rotate.stderr
    assert "re-encrypted the keys of 2 bot(s)" in rotate.stdout
    for deployment in (first, second):
        proc = deployment.run(ENCRYPTION_KEY=new_key)
        assert proc.returncode == 0, proc.stderr


CANNOT_RUN = [
    ("missing", "bot 99 does not exist"),
    ("no active pairs", "has no active trading pairs"),
    ("bad DATABASE_URL", "cannot use the database at postgresql+psycopg://nobody@127.0.0.1:1/x"),
    ("no ENCRYPTION_KEY", "ENCRYPTION_KEY is not set"),
]


@pytest.mark.parametrize(("case", "message"), CANNOT_RUN, ids=[c for c, _ in CANNOT_RUN])
def test_a_bot_that_cannot_run_exits_non_zero_with_one_line_and_places_nothing(
    sqlite_url, market, case, message
):
    deployment = deploy(sqlite_url, market)
    extra = {}
    with deployment.session() as session:
        bot = session.get(Bot, deployment.bot_id)
        if case == "no active pairs":
            for pair in bot.pairs:
                pair.is_active = False
    if case == "missing":
        extra["BOT_ID"] = "99"
    elif case == "bad DATABASE_URL":
        extra["DATABASE_URL"] = "postgresql://nobody@127.0.0.1:1/x"
    elif case == "no ENCRYPTION_KEY":
        extra["ENCRYPTION_KEY"] = ""
    proc = deployment.run(**extra)
    # An unreachable database is transient (exit 1, run-due retries); the rest are settings (2).
    assert proc.returncode == (1 if case == "bad DATABASE_URL" else 2)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], lines
    assert market.requests == []
    assert recorded(sqlite_url)["orders"] == []


IDLE = [
    ("stopped", "is stopped, not running; nothing to do"),
    ("paused", "is paused, not running (last error: keys revoked); nothing to do"),
]


@pytest.mark.parametrize(("status", "message"), IDLE, ids=[s for s, _ in IDLE])
def test_a_stopped_or_paused_bot_exits_0_with_one_info_line(sqlite_url, market, status, message):
    """A per-bot cron line must not mail an error every few minutes while the bot is stopped."""
    deployment = deploy(sqlite_url, market)
    with deployment.session() as session:
        bot = session.get(Bot, deployment.bot_id)
        bot.status, bot.last_error = status, "keys revoked" if status == "paused" else None
    proc = deployment.run()
    assert proc.returncode == 0 and proc.stderr == ""
    (line,) = json_lines(proc.stdout)
    assert message in line
    assert market.requests == [] and recorded(sqlite_url)["orders"] == []


def test_an_authentication_error_pauses_the_bot_and_tells_the_owner(
    db_url, market, telegram_server
):
    deployment = deploy(db_url, market, api_key="revoked-key", api_secret="revoked-secret")
    with deployment.session() as session:
        bot = session.get(Bot, deployment.bot_id)
        bot.user.plan = "pro"  # Telegram comes with Pro
        session.add(
            NotificationSetting(user_id=bot.user_id, telegram_enabled=True, telegram_chat_id="555")
        )
    proc = deployment.run(TELEGRAM_BOT_TOKEN="tg", TELEGRAM_API_BASE=telegram_server.url)
    assert proc.returncode == 1
    assert telegram_server.messages == []  # the run only wrote to the outbox
    sent = deployment.deliver(TELEGRAM_BOT_TOKEN="tg", TELEGRAM_API_BASE=telegram_server.url)
    assert sent.returncode == 0, sent.stderr
    rows = recorded(db_url)
    status, outcome, error, scheduled = rows["bot"]
    assert (status, outcome, scheduled) == ("paused", "auth_error", False)
    assert "authentication failed" in error and "revoked-key" not in error
    assert rows["orders"] == [] and rows["runs"][0][1] == "auth_error"
    assert any(m.startswith("bot paused: ") for _, m in rows["logs"])
    texts = [m["text"] for m in telegram_server.messages]
    assert any("Bot paused" in t for t in texts) and all(
        m["chat_id"] == "555" for m in telegram_server.messages
    )
    assert deployment.run().returncode == 0  # paused: the next cron run does nothing


def test_a_temporary_error_skips_the_pair_and_leaves_the_bot_running(sqlite_url, market):
    market.inject("5xx", path="/v5/position/switch-mode", process=False)
    deployment = deploy(sqlite_url, market)
    proc = deployment.run()
    assert proc.returncode == 1
    status, outcome, error, scheduled = recorded(sqlite_url)["bot"]
    assert (status, outcome, scheduled) == ("running", "error", True)  # a pair was skipped
    assert "temporary exchange error" in error
    assert deployment.run().returncode == 0  # the outage is over: the pair runs again
