"""The database journal: a bot's orders, trades, runs, logs and alert state, written as they happen.

Every write is its own committed transaction, so an order's intent is durable before it is sent
and a killed run leaves exactly what it did behind for the next run to reconcile.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import Engine, and_, exists, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from saas.db import make_session_factory, session_scope
from saas.models import BotLog, BotRun, Order, Trade, TradingPair
from saas.models.runs import LOG_LEVELS
from saas.services.runs.locks import BotLock, bot_lock
from workflows.journal import (
    FILLED,
    UNSETTLED,
    Journal,
    OrderRecord,
    RunRecord,
    TradeRecord,
    to_json,
)

# OrderRecord fields stored in same-named columns of ``orders``.
ORDER_FIELDS = (
    "client_order_id",
    "symbol",
    "side",
    "action",
    "order_side",
    "qty",
    "price",
    "status",
    "created_at",
    "reduce_only",
    "post_only",
    "reason",
    "ref_entry_price",
    "ref_margin",
    "exchange_order_id",
    "filled_qty",
    "avg_price",
    "fee",
    "error",
    "updated_at",
)
# Fields that change after the intent was written.
INTERRUPTED = "was interrupted before it finished; its orders are settled by the next run"
ORDER_UPDATE_FIELDS = (
    "status",
    "exchange_order_id",
    "filled_qty",
    "avg_price",
    "fee",
    "error",
    "updated_at",
)


def _utc_now() -> datetime:
    """Fallback clock for log lines when none was injected."""
    return datetime.now(UTC)


def json_safe(value):
    """Decimals and datetimes as strings, so any log field fits a JSON column."""
    return json.loads(json.dumps(value, default=to_json))


def order_record(row: Order) -> OrderRecord:
    """The journal's view of an orders row."""
    values = {name: getattr(row, name) for name in ORDER_FIELDS}
    for name in ("reason", "exchange_order_id", "error"):
        values[name] = values[name] or ""
    return OrderRecord(pair_key=str(row.pair_id), run_id=str(row.run_id or ""), **values)


def trade_record(row: Trade) -> TradeRecord:
    """The journal's view of a trades row."""
    return TradeRecord(
        time=row.time,
        pair_key=str(row.pair_id),
        symbol=row.symbol,
        side=row.side,
        action=row.action,
        qty=row.qty,
        price=row.price,
        fee=row.fee,
        realised_pnl=row.pnl,
        client_order_id=row.client_order_id,
        position_size=row.position_size,
        position_value=row.position_value,
        pnl_percentage=row.pnl_percentage,
        margin_level=row.margin_level,
        balance=row.balance_after,
    )


def _unbooked():
    """A filled order with no trade: a run died between the two (rows written before booking
    became one transaction); reconciliation books it."""
    return and_(
        Order.status == FILLED,
        Order.filled_qty > 0,
        ~exists().where(Trade.client_order_id == Order.client_order_id),
    )


class DatabaseJournal(Journal):
    """workflows.journal.Journal over the models, for one bot."""

    def __init__(
        self,
        engine: Engine,
        bot_id: int,
        clock: Callable[[], datetime] = _utc_now,
        session_factory: sessionmaker[Session] | None = None,
        lock: BotLock | None = None,
    ):
        self.engine = engine
        self.bot_id = int(bot_id)
        self.clock = clock
        self.sessions = session_factory or make_session_factory(engine)
        self.lock = lock or bot_lock(engine, self.bot_id)
        self.run_id: int | None = None

    # The per-bot lock.
    def acquire_lock(self) -> bool:
        """The advisory lock (PostgreSQL) or the file lock (SQLite), without waiting."""
        return self.lock.acquire()

    def release_lock(self) -> None:
        """Give the lock back."""
        self.lock.release()

    def lock_held(self) -> bool:
        """Asked on the lock's own connection (PostgreSQL) or file descriptor (SQLite)."""
        return self.lock.check()

    # Runs.
    def start_run(self, now: datetime) -> str:
        """Insert the bot_runs row ("running"); its id is the run id in client order ids.

        We hold the bot's lock, so an older row still "running" belongs to a run that was killed:
        it is closed as an error here (its orders are reconciled by this run).
        """
        with session_scope(self.sessions) as session:
            stale = session.scalars(
                select(BotRun).where(BotRun.bot_id == self.bot_id, BotRun.outcome == "running")
            ).all()
            for run in stale:
                run.outcome = "error"
                run.conclusions = {**(run.conclusions or {}), "run": INTERRUPTED}
                session.add(
                    BotLog(
                        bot_id=self.bot_id,
                        run_id=run.id,
                        level="warning",
                        message=f"run {run.id} {INTERRUPTED}",
                        fields={},
                        created_at=now,
                    )
                )
            run = BotRun(bot_id=self.bot_id, started_at=now, outcome="running", conclusions={})
            session.add(run)
            session.flush()
            self.run_id = run.id
        return str(self.run_id)

    def finish_run(self, run: RunRecord) -> None:
        """Complete the run's row with its end, duration, outcome and per-pair conclusions."""
        with session_scope(self.sessions) as session:
            row = session.get(BotRun, int(run.run_id))
            row.finished_at = run.finished_at
            row.duration_ms = max(run.duration_ms, 0)
            row.outcome = run.outcome
            row.conclusions = json_safe(run.conclusions)

    # Orders and trades.
    def record_intent(self, order: OrderRecord) -> None:
        """Insert the pending order and commit before anything is sent."""
        with session_scope(self.sessions) as session:
            session.add(
                Order(
                    bot_id=self.bot_id,
                    pair_id=int(order.pair_key),
                    run_id=int(order.run_id) if order.run_id else None,
                    **{name: getattr(order, name) for name in ORDER_FIELDS},
                )
            )

    def update_order(self, order: OrderRecord) -> None:
        """Store the order's new status and fill (inserting it if the intent is somehow missing)."""
        with session_scope(self.sessions) as session:
            self._write_order(session, order)

    def _write_order(self, session: Session, order: OrderRecord) -> Order:
        """Update (or insert) the order's row in this session."""
        row = session.scalars(
            select(Order).where(Order.client_order_id == order.client_order_id)
        ).one_or_none()
        if row is None:
            row = Order(
                bot_id=self.bot_id,
                pair_id=int(order.pair_key),
                run_id=int(order.run_id) if order.run_id else None,
                **{name: getattr(order, name) for name in ORDER_FIELDS},
            )
            session.add(row)
            session.flush()
            return row
        for name in ORDER_UPDATE_FIELDS:
            setattr(row, name, getattr(order, name))
        return row

    def unsettled_orders(self, pair_key: str) -> list[OrderRecord]:
        """The pair's orders still pending, open or unknown, oldest first."""
        with self.sessions() as session:
            rows = session.scalars(
                select(Order)
                .where(
                    Order.bot_id == self.bot_id,
                    Order.pair_id == int(pair_key),
                    or_(Order.status.in_(sorted(UNSETTLED)), _unbooked()),
                )
                .order_by(Order.id)
            ).all()
            return [order_record(row) for row in rows]

    def orders(self) -> list[OrderRecord]:
        """Every order of the bot, oldest first (tests and dashboards read them)."""
        with self.sessions() as session:
            rows = session.scalars(
                select(Order).where(Order.bot_id == self.bot_id).order_by(Order.id)
            ).all()
            return [order_record(row) for row in rows]

    def record_trade(self, trade: TradeRecord) -> bool:
        """Insert the trade unless its client order id already has one; True when written."""
        try:
            with session_scope(self.sessions) as session:
                order_id = session.scalar(
                    select(Order.id).where(Order.client_order_id == trade.client_order_id)
                )
                return self._add_trade(session, trade, order_id)
        except IntegrityError:
            return False  # written meanwhile under the unique client order id

    def book_fill(self, order: OrderRecord, trade: TradeRecord) -> bool:
        """The order's filled status and its trade in ONE transaction: both or neither."""
        try:
            with session_scope(self.sessions) as session:
                row = self._write_order(session, order)
                return self._add_trade(session, trade, row.id)
        except IntegrityError:
            # The trade was written meanwhile under the unique client order id: only the status.
            self.update_order(order)
            return False

    def _add_trade(self, session: Session, trade: TradeRecord, order_id: int | None) -> bool:
        """Add the trades row in this session unless the client order id has one."""
        if session.scalar(select(Trade.id).where(Trade.client_order_id == trade.client_order_id)):
            return False
        session.add(
            Trade(
                bot_id=self.bot_id,
                pair_id=int(trade.pair_key),
                order_id=order_id,
                client_order_id=trade.client_order_id,
                time=trade.time,
                symbol=trade.symbol,
                side=trade.side,
                action=trade.action,
                qty=trade.qty,
                price=trade.price,
                fee=trade.fee,
                pnl=trade.realised_pnl,
                pnl_percentage=trade.pnl_percentage,
                position_size=trade.position_size,
                position_value=trade.position_value,
                margin_level=trade.margin_level,
                balance_after=trade.balance,
            )
        )
        return True

    def trades(self) -> list[TradeRecord]:
        """Every trade of the bot in the order written."""
        with self.sessions() as session:
            rows = session.scalars(
                select(Trade).where(Trade.bot_id == self.bot_id).order_by(Trade.id)
            ).all()
            return [trade_record(row) for row in rows]

    # Logs and alerts.
    def log(self, level: str, message: str, **fields) -> None:
        """A bot_logs row for the owner, tied to the current run."""
        level = level.lower() if level.lower() in LOG_LEVELS else "info"
        with session_scope(self.sessions) as session:
            session.add(
                BotLog(
                    bot_id=self.bot_id,
                    run_id=self.run_id,
                    level=level,
                    message=message,
                    fields=json_safe(fields),
                    created_at=self.clock(),
                )
            )

    def active_alerts(self, pair_key: str) -> set[str]:
        """Alert keys the pair's last run reported."""
        with self.sessions() as session:
            keys = session.scalar(
                select(TradingPair.alert_keys).where(TradingPair.id == int(pair_key))
            )
            return set(keys or [])

    def set_active_alerts(self, pair_key: str, keys: set[str]) -> None:
        """Remember this run's alert keys on the pair."""
        with session_scope(self.sessions) as session:
            pair = session.get(TradingPair, int(pair_key))
            if pair is not None:
                pair.alert_keys = sorted(keys)
