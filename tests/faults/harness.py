"""The fault suite's harness: one bot in each home, runs in forked processes, the money invariants.

A run is ``main.main([])`` in a forked child, exactly as `python main.py` would run it, with two
test-only changes made inside the child: the exchange client gets a short timeout and no real
back-off sleeps (as the client fixtures do), and, when asked, the child kills itself with SIGKILL
at a chosen step. Forking keeps the suite fast: the child starts with everything imported.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from tests.fake_exchange import DEFAULT_CREDENTIALS, FakeExchange
from workflows.runner import preload

# What a bot run imports, imported once here so every forked run starts with it (as run-due's
# fork mode does).
preload()

SYMBOL = "BTCUSDT"
KEY, SECRET = DEFAULT_CREDENTIALS["bybit"]
CREATE = "/v5/order/create"
CHILD_TIMEOUT_S = 0.4
RUN_DEADLINE_S = 30
# Where a run can be killed, in the order a run reaches them.
KILL_POINTS = (
    "after_intent",  # the pending order is written, nothing sent
    "in_flight",  # the create request is on the wire, no answer yet
    "after_answer",  # the exchange answered, nothing recorded
    "before_booking",  # the fill's position and balance are read, status and trade not written
    "after_booking",  # status and trade written, the owner not yet told
)
# Exchange statuses (Bybit spelling) and the journal status each must end as.
SETTLED_AS = {
    "Filled": "filled",
    "New": "open",
    "PartiallyFilled": "open",
    "Cancelled": "cancelled",
}


@dataclass
class Home:
    """One bot on the fake exchange: standalone (.env and JSON files) or a database bot."""

    mode: str
    fx: FakeExchange
    env: dict
    data_dir: Path
    url: str | None = None
    bot_id: int | None = None
    runs: list = field(default_factory=list)

    def journal(self):
        """The bot's journal, as the next run would read it."""
        if self.url is None:
            from workflows.journal import FileJournal  # noqa: PLC0415

            return FileJournal(self.data_dir), None
        from saas.db import make_engine  # noqa: PLC0415
        from saas.services.runs.journal import DatabaseJournal  # noqa: PLC0415

        engine = make_engine(self.url)
        return DatabaseJournal(engine, self.bot_id), engine

    def books(self) -> tuple[list, list]:
        """(orders, trades) of the journal."""
        journal, engine = self.journal()
        try:
            return journal.orders(), journal.trades()
        finally:
            if engine is not None:
                engine.dispose()


@dataclass
class Outcome:
    """How one run process ended."""

    code: int
    stderr: str

    @property
    def lines(self) -> list[str]:
        """The non-blank lines it wrote to stderr."""
        return [line for line in self.stderr.splitlines() if line.strip()]


def standalone_env(fx: FakeExchange, data_dir: Path, **extra) -> dict:
    """The .env of an operator's standalone Bybit bot on the fake exchange."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "EXCHANGE": "bybit",
        "API_KEY": KEY,
        "API_SECRET": SECRET,
        "SYMBOL": f"{SYMBOL}:Long:True",
        "USE_POSTONLY": "false",
        "BYBIT_BASE_URL": fx.url,
        "DATA_DIR": str(data_dir),
        **extra,
    }


def run(home: Home, kill_at: str | None = None, **extra_env) -> Outcome:
    """One run of the bot in a forked child; killed with SIGKILL at ``kill_at`` when given."""
    return finish(home, *start(home, kill_at, **extra_env))


def start(
    home: Home, kill_at: str | None = None, timeout: float = CHILD_TIMEOUT_S, **extra_env
) -> tuple[int, Path]:
    """A run in a forked child, not waited for: (pid, its stderr file)."""
    err = home.data_dir.parent / f"stderr-{len(home.runs)}-{time.monotonic_ns()}.txt"
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        _child(home, kill_at, err, extra_env, timeout)
    return pid, err


def finish(home: Home, pid: int, err: Path) -> Outcome:
    """Wait for a started run; how it ended."""
    outcome = Outcome(wait(pid), "")
    outcome.stderr = err.read_text() if err.exists() else ""
    home.runs.append(outcome)
    return outcome


def wait(pid: int, deadline_s: float = RUN_DEADLINE_S) -> int:
    """The child's exit code (negative: the signal that ended it); killed past the deadline."""
    end = time.monotonic() + deadline_s
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > end:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            raise AssertionError(f"run {pid} did not finish in {deadline_s} s")
        time.sleep(0.005)


def _child(home: Home, kill_at, err: Path, extra_env: dict, timeout: float) -> None:
    """Run main.main([]) as `python main.py` would, then leave without any clean-up."""
    code = 70
    try:
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - the JSON log is not checked here
        sys.stderr = open(err, "w")  # noqa: SIM115
        os.environ.clear()
        os.environ.update({**home.env, **extra_env})
        _patch_client(timeout)
        if kill_at:
            _arm(kill_at)
        import main  # noqa: PLC0415

        code = main.main([])
    except BaseException:  # noqa: BLE001 - a traceback must fail the test, so keep it
        traceback.print_exc()
        code = 71
    finally:
        sys.stderr.flush()
        os._exit(code)


def _die() -> None:  # pragma: no cover - the child
    os.kill(os.getpid(), signal.SIGKILL)


def _patch_client(timeout: float) -> None:  # pragma: no cover - the child
    """A short timeout and no real back-off sleeps, as the client fixtures have."""
    import clients.factory as factory  # noqa: PLC0415

    real = factory.real_client

    def quick(*args, **kwargs):
        client = real(*args, **kwargs)
        client.timeout, client._sleep = timeout, lambda _s: None
        return client

    factory.real_client = quick


def _kill_after(cls, name) -> None:  # pragma: no cover - the child
    """SIGKILL once ``cls.name`` has returned."""
    original = getattr(cls, name)

    def wrapper(self, *args, **kwargs):
        result = original(self, *args, **kwargs)
        _die()
        return result

    setattr(cls, name, wrapper)


def _kill_before(cls, name) -> None:  # pragma: no cover - the child
    """SIGKILL instead of running ``cls.name``."""

    def wrapper(self, *args, **kwargs):
        _die()

    setattr(cls, name, wrapper)


def _kill_in_flight(cls, name) -> None:  # pragma: no cover - the child
    """SIGKILL while ``cls.name`` waits for its answer (the fake exchange holds it)."""
    original = getattr(cls, name)

    def wrapper(self, *args, **kwargs):
        threading.Timer(0.1, _die).start()
        return original(self, *args, **kwargs)

    setattr(cls, name, wrapper)


def _kill_reconciling(executor_cls) -> None:  # pragma: no cover - the child
    """SIGKILL after reconciliation's first look-up of an order."""
    original = executor_cls.reconcile

    def reconcile(self, pair, now):
        _kill_after(type(self.client), "get_order")
        return original(self, pair, now)

    executor_cls.reconcile = reconcile


def _arm(kill_at: str) -> None:  # pragma: no cover - the child
    """Make the child SIGKILL itself at one step of the run."""
    from clients.http import HttpExchangeClient  # noqa: PLC0415
    from saas.services.runs.journal import DatabaseJournal  # noqa: PLC0415
    from workflows.execution import OrderExecutor  # noqa: PLC0415
    from workflows.journal import FileJournal  # noqa: PLC0415

    journals = (FileJournal, DatabaseJournal)
    steps = {
        "after_intent": lambda: [_kill_after(cls, "record_intent") for cls in journals],
        "in_flight": lambda: _kill_in_flight(HttpExchangeClient, "place_order"),
        "after_answer": lambda: _kill_after(HttpExchangeClient, "place_order"),
        "before_booking": lambda: [_kill_before(cls, "book_fill") for cls in journals],
        "after_booking": lambda: [_kill_after(cls, "book_fill") for cls in journals],
        "during_reconcile": lambda: _kill_reconciling(OrderExecutor),
    }
    steps[kill_at]()


def check_books(home: Home, *, orders_on_exchange: int | None = 1) -> None:
    """The money invariants: nothing doubled, every fill booked once, journal == exchange."""
    placed = home.fx.orders("bybit", api_key=KEY)
    ids = [o.client_id for o in placed]
    orders, trades = home.books()
    journal = {o.client_order_id: o for o in orders}
    assert len(ids) == len(set(ids)), f"an order was sent twice: {ids}"
    if orders_on_exchange is not None:
        assert len(placed) == orders_on_exchange, f"exchange has {ids}"
    assert set(ids) <= set(journal), f"orders on the exchange the journal lacks: {ids}"
    unsettled = [o.client_order_id for o in orders if o.status in ("pending", "unknown")]
    assert not unsettled, f"left unsettled after a clean run: {unsettled}"
    for order in placed:
        mine = journal[order.client_id]
        assert mine.status == SETTLED_AS.get(order.status, "rejected"), (order, mine)
        assert mine.filled_qty == order.filled_qty, (order, mine)
    for cid, mine in journal.items():
        if cid not in ids:
            assert mine.status == "rejected", f"{cid} is {mine.status} but never reached us"
    booked = Counter(t.client_order_id for t in trades)
    filled = {o.client_order_id for o in orders if o.status == "filled" and o.filled_qty > 0}
    assert all(n == 1 for n in booked.values()), f"a fill was booked twice: {booked}"
    assert set(booked) == filled, f"trades {sorted(booked)} vs filled orders {sorted(filled)}"
    position = home.fx.position("bybit", KEY, SYMBOL, "Long").size
    signed = {"OPEN": 1, "ADD": 1, "REDUCE": -1, "CLOSE": -1}
    held = sum((signed[t.action] * t.qty for t in trades), Decimal(0))
    assert held == position, f"trades add up to {held}, the exchange holds {position}"


def wait_for_request(fx: FakeExchange, path: str, deadline_s: float = 10) -> None:
    """Until the fake exchange has received a request to ``path``."""
    end = time.monotonic() + deadline_s
    while not fx.requests_to(path):
        if time.monotonic() > end:
            raise AssertionError(f"no request to {path} within {deadline_s} s")
        time.sleep(0.01)
