"""The journal a run writes to: order intents and outcomes, trades, runs, logs, alert state."""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from decimal import Decimal
from pathlib import Path

# Order statuses in the journal (a superset of DESIGN.md's: "open" rests on the book and
# "cancelled" ended unfilled, both needed to tell a resting PostOnly order from a lost one).
PENDING = "pending"
OPEN = "open"
FILLED = "filled"
CANCELLED = "cancelled"
REJECTED = "rejected"
UNKNOWN = "unknown"
UNSETTLED = frozenset({PENDING, OPEN, UNKNOWN})


class LockLostError(Exception):
    """The per-bot lock is gone (its connection died): this run must not write or send again."""


@dataclass
class OrderRecord:
    """One order as we intended it and as it turned out."""

    client_order_id: str
    pair_key: str
    symbol: str
    side: str
    action: str
    order_side: str
    qty: Decimal
    price: Decimal | None
    status: str
    run_id: str
    created_at: datetime
    reduce_only: bool = False
    post_only: bool = False
    reason: str = ""
    ref_entry_price: Decimal | None = None
    ref_margin: Decimal | None = None
    exchange_order_id: str = ""
    filled_qty: Decimal = Decimal(0)
    avg_price: Decimal | None = None
    fee: Decimal = Decimal(0)
    error: str = ""
    updated_at: datetime | None = None


@dataclass
class TradeRecord:
    """One fill, written once per client order id."""

    time: datetime
    pair_key: str
    symbol: str
    side: str
    action: str
    qty: Decimal
    price: Decimal
    fee: Decimal
    realised_pnl: Decimal
    client_order_id: str
    position_size: Decimal = Decimal(0)
    position_value: Decimal = Decimal(0)
    pnl_percentage: Decimal | None = None
    margin_level: Decimal | None = None
    balance: Decimal | None = None


@dataclass
class RunRecord:
    """The outcome of one run of a bot."""

    run_id: str
    started_at: datetime
    finished_at: datetime
    outcome: str
    conclusions: dict = field(default_factory=dict)

    @property
    def duration_ms(self) -> int:
        """Wall time of the run."""
        return int((self.finished_at - self.started_at).total_seconds() * 1000)


class Journal(ABC):
    """Storage the trading workflow needs; file and database journals implement it."""

    @abstractmethod
    def acquire_lock(self) -> bool:
        """Take the per-bot lock without waiting; False when another run holds it."""

    @abstractmethod
    def release_lock(self) -> None:
        """Give the lock back."""

    @abstractmethod
    def lock_held(self) -> bool:
        """Whether this run still holds the lock, asked of the lock itself (never raises)."""

    def fence(self) -> None:
        """Raise LockLostError unless the lock is still ours; called before every order write."""
        if not self.lock_held():
            raise LockLostError(
                "the bot's run lock was lost (its database connection ended); stopped before "
                "sending anything more, the next run reconciles"
            )

    @abstractmethod
    def start_run(self, now: datetime) -> str:
        """A new, never reused run id."""

    @abstractmethod
    def record_intent(self, order: OrderRecord) -> None:
        """Durably write an order before it is sent."""

    @abstractmethod
    def update_order(self, order: OrderRecord) -> None:
        """Store an order's new status and fill."""

    @abstractmethod
    def unsettled_orders(self, pair_key: str) -> list[OrderRecord]:
        """Orders of a pair still pending, open or unknown, and filled orders with no trade."""

    @abstractmethod
    def record_trade(self, trade: TradeRecord) -> bool:
        """Write a trade unless one exists for its client order id; True when written."""

    @abstractmethod
    def book_fill(self, order: OrderRecord, trade: TradeRecord) -> bool:
        """Mark the order filled and write its trade together (at most one trade per client
        order id); True when the trade was written now, False when it already existed."""

    @abstractmethod
    def finish_run(self, run: RunRecord) -> None:
        """Write the run's outcome."""

    @abstractmethod
    def log(self, level: str, message: str, **fields) -> None:
        """Keep a log line for the owner."""

    @abstractmethod
    def active_alerts(self, pair_key: str) -> set[str]:
        """Alert keys reported in the pair's last run."""

    @abstractmethod
    def set_active_alerts(self, pair_key: str, keys: set[str]) -> None:
        """Remember the alert keys of this run."""


def to_json(value):
    """JSON encoder for Decimals and datetimes."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot encode {type(value).__name__}")


def _from_json(cls, data: dict):
    """Rebuild a record dataclass, turning strings back into Decimals and datetimes."""
    kwargs = {}
    for f in fields(cls):
        if f.name not in data:
            continue
        value = data[f.name]
        kind = str(f.type)
        if value is not None and "Decimal" in kind:
            value = Decimal(value)
        elif value is not None and "datetime" in kind:
            value = datetime.fromisoformat(value)
        kwargs[f.name] = value
    return cls(**kwargs)


def _ends_with_newline(fh) -> bool:
    """Whether a binary file opened for appending ends with a newline."""
    fh.seek(-1, os.SEEK_END)
    last = fh.read(1)
    fh.seek(0, os.SEEK_END)
    return last == b"\n"


def _unbooked(order: dict, booked: set[str]) -> bool:
    """A filled order of the JSON state with no trade written (a run killed in between)."""
    return (
        order["status"] == FILLED
        and Decimal(order.get("filled_qty") or 0) > 0
        and order["client_order_id"] not in booked
    )


class FileJournal(Journal):
    """Standalone mode's journal: a folder of JSON files, written atomically."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._lock_fd: int | None = None
        self.state_file = self.folder / "state.json"
        self.state = self._load()

    def _load(self) -> dict:
        """Read the state file (orders, counters, alert keys) and the trades already written."""
        state = {"next_run": 1, "orders": {}, "alerts": {}, "trade_ids": []}
        if self.state_file.exists():
            state = json.loads(self.state_file.read_text())
        # A kill between appending a trade and saving the state leaves the trade in the ledger
        # only: counting it here keeps the next booking of that order from writing it again.
        written = [t.client_order_id for t in self.trades()]
        state["trade_ids"] = list(dict.fromkeys([*state["trade_ids"], *written]))
        return state

    def _save(self) -> None:
        """Replace the state file atomically."""
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".state-", suffix=".json")
        with os.fdopen(fd, "w") as fh:
            json.dump(self.state, fh, default=to_json)
        os.replace(tmp, self.state_file)

    def _append(self, name: str, record: dict) -> None:
        """Append one JSON line to a ledger file (after a torn last line, on a new line)."""
        path = self.folder / name
        with open(path, "a+b") as fh:
            torn = fh.tell() > 0 and not _ends_with_newline(fh)
            line = json.dumps(record, default=to_json) + "\n"
            fh.write((("\n" if torn else "") + line).encode())
            fh.flush()
            os.fsync(fh.fileno())

    def acquire_lock(self) -> bool:
        """An exclusive non-blocking flock on the folder's lock file."""
        fd = os.open(self.folder / "run.lock", os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._lock_fd = fd
        return True

    def release_lock(self) -> None:
        """Unlock and close."""
        if self._lock_fd is not None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = None

    def lock_held(self) -> bool:
        """Held while our descriptor is still the lock file (deleted or replaced: lost)."""
        if self._lock_fd is None:
            return False
        try:
            mine, there = os.fstat(self._lock_fd), os.stat(self.folder / "run.lock")
        except OSError:
            return False
        return (mine.st_dev, mine.st_ino) == (there.st_dev, there.st_ino)

    def start_run(self, now: datetime) -> str:
        """Run ids count up from 1 and are stored before use."""
        run_id = str(self.state["next_run"])
        self.state["next_run"] += 1
        self._save()
        return run_id

    def record_intent(self, order: OrderRecord) -> None:
        """Store the pending order before it is sent."""
        self.update_order(order)

    def update_order(self, order: OrderRecord) -> None:
        """Store the order's latest state."""
        # Kept in its JSON form so the in-memory state reads back exactly like the file.
        self.state["orders"][order.client_order_id] = json.loads(
            json.dumps(asdict(order), default=to_json)
        )
        self._save()

    def unsettled_orders(self, pair_key: str) -> list[OrderRecord]:
        """Orders of the pair that still need a look on the exchange."""
        booked = set(self.state["trade_ids"])
        return [
            _from_json(OrderRecord, o)
            for o in self.state["orders"].values()
            if o["pair_key"] == pair_key and (o["status"] in UNSETTLED or _unbooked(o, booked))
        ]

    def orders(self) -> list[OrderRecord]:
        """Every stored order (tests and the demo read them)."""
        return [_from_json(OrderRecord, o) for o in self.state["orders"].values()]

    def record_trade(self, trade: TradeRecord) -> bool:
        """Append a trade to trades.jsonl once per client order id."""
        if trade.client_order_id in self.state["trade_ids"]:
            return False
        self._append("trades.jsonl", asdict(trade))
        self.state["trade_ids"].append(trade.client_order_id)
        self._save()
        return True

    def book_fill(self, order: OrderRecord, trade: TradeRecord) -> bool:
        """Append the trade (unless written), then store the order filled, in that order.

        A kill between the two leaves the trade in trades.jsonl and the order unsettled: the
        next run looks the order up again and only marks it filled (``_load`` knows the trade).
        """
        written = trade.client_order_id not in self.state["trade_ids"]
        if written:
            self._append("trades.jsonl", asdict(trade))
            self.state["trade_ids"].append(trade.client_order_id)
        self.update_order(order)
        return written

    def trades(self) -> list[TradeRecord]:
        """Every trade written so far, once per client order id (a torn last line is skipped)."""
        path = self.folder / "trades.jsonl"
        if not path.exists():
            return []
        seen, trades = set(), []
        for line in path.read_text().splitlines():
            try:
                trade = _from_json(TradeRecord, json.loads(line))
            except (ValueError, TypeError):
                continue  # a line cut short by a killed process: that trade is booked again
            if trade.client_order_id not in seen:
                seen.add(trade.client_order_id)
                trades.append(trade)
        return trades

    def finish_run(self, run: RunRecord) -> None:
        """Append the run to runs.jsonl."""
        record = asdict(run) | {"duration_ms": run.duration_ms}
        self._append("runs.jsonl", record)

    def log(self, level: str, message: str, **fields) -> None:
        """Append to log.jsonl."""
        self._append("log.jsonl", {"level": level, "message": message, **fields})

    def active_alerts(self, pair_key: str) -> set[str]:
        """Alert keys of the pair's last run."""
        return set(self.state["alerts"].get(pair_key, []))

    def set_active_alerts(self, pair_key: str, keys: set[str]) -> None:
        """Store this run's alert keys."""
        self.state["alerts"][pair_key] = sorted(keys)
        self._save()
