"""One run of a bot: for each pair reconcile, prepare, read, decide, execute, record, notify."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from clients.base import (
    FILLED,
    GOOD_TILL_CANCEL,
    NEW,
    PARTIALLY_FILLED,
    POST_ONLY,
    ExchangeClient,
    OrderRequest,
    OrderResult,
)
from clients.errors import (
    AuthenticationError,
    DuplicateOrderIdError,
    ExchangeError,
    InsufficientFundsError,
    InvalidOrderError,
    OutcomeUnknownError,
    TemporaryError,
)
from notifications.base import ERROR, Event, Notifier
from strategies.base import Strategy
from strategies.indicators import (
    EMA_CANDLES,
    HOURLY_CANDLES,
    VOLATILITY_CANDLES,
    VOLATILITY_INTERVAL,
    indicators_from_candles,
)
from strategies.types import LONG, Action, Snapshot
from workflows import journal as j
from workflows.journal import Journal, OrderRecord, RunRecord, TradeRecord

logger = logging.getLogger("dcabot.trading")

FILL_EVENTS = {
    "OPEN": "position_opened",
    "ADD": "position_added",
    "REDUCE": "position_reduced",
    "CLOSE": "position_closed",
}
# Alerts that would repeat every run while a refusal lasts are told once per condition (Q4).
ONCE_PER_CONDITION = frozenset({"order_skipped"})
# Kept with the alert keys: the pair had a position at its last run.
POSITION_OPEN = "position:open"

OK = "ok"
SKIPPED = "skipped"
FAILED = "error"
AUTH_FAILED = "auth_error"
LOCKED = "locked"


@dataclass
class PairSettings:
    """One configured (symbol, side) with its leverage, candle interval and strategy."""

    pair_key: str
    symbol: str
    side: str
    auto: bool
    leverage: Decimal
    ema_interval: int
    strategy: Strategy


@dataclass
class PairResult:
    """How one pair's run ended."""

    pair_key: str
    symbol: str
    side: str
    outcome: str
    conclusion: str = ""
    error: str = ""
    orders_placed: int = 0


@dataclass
class BotRunResult:
    """How a bot's run ended, pair by pair."""

    run_id: str
    outcome: str
    pairs: list[PairResult] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """0 when every pair ran, 1 when some failed, 3 when another run held the lock."""
        if self.outcome == LOCKED:
            return 3
        return 0 if self.outcome == OK else 1


def order_prefix(bot_key: str, pair_key: str) -> str:
    """Every client order id of a pair starts with this, so we cancel only our own orders."""
    return f"b{bot_key}-p{pair_key}-"


def read_snapshot(client: ExchangeClient, pair: PairSettings, now: datetime) -> Snapshot:
    """Gather closed candles, the touch, positions, balance and rules into a snapshot."""
    ema_candles = client.get_candles(pair.symbol, pair.ema_interval, EMA_CANDLES)
    hourly = (
        ema_candles[-HOURLY_CANDLES:]
        if pair.ema_interval == 60
        else client.get_candles(pair.symbol, 60, HOURLY_CANDLES)
    )
    five = (
        ema_candles[-VOLATILITY_CANDLES:]
        if pair.ema_interval == VOLATILITY_INTERVAL
        else client.get_candles(pair.symbol, VOLATILITY_INTERVAL, VOLATILITY_CANDLES)
    )
    ticker = client.get_ticker(pair.symbol)
    positions = tuple(client.get_positions())
    position = next(
        (p for p in positions if p.symbol == pair.symbol and p.side == pair.side and p.size > 0),
        None,
    )
    return Snapshot(
        now=now,
        symbol=pair.symbol,
        side=pair.side,
        auto=pair.auto,
        leverage=pair.leverage,
        bid=ticker.bid,
        ask=ticker.ask,
        balance=client.get_balance().wallet,
        position=position,
        indicators=indicators_from_candles(ema_candles, hourly, five),
        instrument=client.get_instrument(pair.symbol),
        account_positions=positions,
    )


class TradingWorkflow:
    """Runs a bot's pairs against one exchange client, journal and notifier."""

    def __init__(
        self, client: ExchangeClient, journal: Journal, notifier: Notifier, bot_key: str = "0"
    ):
        self.client = client
        self.journal = journal
        self.notifier = notifier
        self.bot_key = bot_key
        self._exited: set[str] = set()  # pairs whose position our own fill closed this run

    def run(self, pairs: list[PairSettings], now: datetime, finished=None) -> BotRunResult:
        """One run over every pair under the per-bot lock; ``finished`` gives the end time."""
        if not self.journal.acquire_lock():
            logger.info(
                "another run of this bot is in progress; exiting", extra={"bot": self.bot_key}
            )
            return BotRunResult(run_id="", outcome=LOCKED)
        self._exited = set()
        try:
            run_id = self.journal.start_run(now)
            result = BotRunResult(run_id=run_id, outcome=OK)
            for pair in pairs:
                pair_result = self._guarded_pair(pair, run_id, now)
                result.pairs.append(pair_result)
                if pair_result.outcome == AUTH_FAILED:
                    result.outcome = AUTH_FAILED
                    break
                if pair_result.outcome != OK:
                    result.outcome = FAILED
            self.journal.finish_run(
                RunRecord(
                    run_id=run_id,
                    started_at=now,
                    finished_at=finished() if finished else now,
                    outcome=result.outcome,
                    conclusions={p.pair_key: p.conclusion or p.error for p in result.pairs},
                )
            )
            return result
        finally:
            self.journal.release_lock()

    def _guarded_pair(self, pair: PairSettings, run_id: str, now: datetime) -> PairResult:
        """Run a pair; its errors are recorded and told to the owner, other pairs still run (Q1)."""
        base = PairResult(pair.pair_key, pair.symbol, pair.side, OK)
        try:
            return self.run_pair(pair, run_id, now)
        except AuthenticationError as exc:
            base.outcome, base.error = AUTH_FAILED, f"authentication failed: {exc}"
        except TemporaryError as exc:
            base.outcome, base.error = SKIPPED, f"temporary exchange error, skipped: {exc}"
        except ExchangeError as exc:
            base.outcome, base.error = FAILED, f"{type(exc).__name__}: {exc}"
        except Exception as exc:  # noqa: BLE001 - one pair's bug must not stop the others
            logger.exception("pair run crashed", extra={"symbol": pair.symbol})
            base.outcome, base.error = FAILED, f"{type(exc).__name__}: {exc}"
        logger.warning(base.error, extra={"symbol": pair.symbol, "side": pair.side})
        self.journal.log("error", base.error, symbol=pair.symbol, side=pair.side)
        self.notifier.send(
            Event(
                ERROR,
                {
                    "symbol": pair.symbol,
                    "side": pair.side,
                    "error_type": base.outcome,
                    "message": base.error,
                },
            )
        )
        return base

    def run_pair(self, pair: PairSettings, run_id: str, now: datetime) -> PairResult:
        """Reconcile, prepare, read, decide, execute and alert for one pair."""
        self.reconcile(pair, now)
        self.client.ensure_hedge_mode(pair.symbol)
        self.client.set_leverage(pair.symbol, pair.leverage)
        snapshot = read_snapshot(self.client, pair, now)
        decision = pair.strategy.decide(snapshot)
        placed = 0
        for n, action in enumerate(decision.actions, start=1):
            placed += self.execute(pair, action, snapshot, run_id, n, now)
        still_open = snapshot.position is not None and pair.pair_key not in self._exited
        self.send_alerts(pair, decision.alerts, position_open=still_open)
        logger.info(
            decision.conclusion,
            extra={
                "symbol": pair.symbol,
                "side": pair.side,
                "action": "decide",
                "json": {"actions": [a.kind.value for a in decision.actions], "run": run_id},
            },
        )
        self.journal.log("info", decision.conclusion, symbol=pair.symbol, side=pair.side)
        return PairResult(
            pair.pair_key, pair.symbol, pair.side, OK, decision.conclusion, orders_placed=placed
        )

    def reconcile(self, pair: PairSettings, now: datetime) -> None:
        """Cancel our stale orders, then settle every order the journal has not closed."""
        self.client.cancel_orders(pair.symbol, order_prefix(self.bot_key, pair.pair_key))
        for record in self.journal.unsettled_orders(pair.pair_key):
            result = self.client.get_order(pair.symbol, record.client_order_id)
            if result is None:
                # The exchange never saw it: a send that failed before arriving.
                record.status, record.updated_at = j.REJECTED, now
                record.error = record.error or "not found on the exchange"
                self.journal.update_order(record)
                continue
            self.settle(record, result, pair, now)

    def execute(
        self,
        pair: PairSettings,
        action: Action,
        snapshot: Snapshot,
        run_id: str,
        n: int,
        now: datetime,
    ) -> int:
        """Write the intent, send the order, record what came back; 1 when it reached the book."""
        cid = f"{order_prefix(self.bot_key, pair.pair_key)}{run_id}-{n}"
        position = snapshot.position
        record = OrderRecord(
            client_order_id=cid,
            pair_key=pair.pair_key,
            symbol=pair.symbol,
            side=pair.side,
            action=action.kind.value,
            order_side=action.order_side,
            qty=action.qty,
            price=action.price,
            status=j.PENDING,
            run_id=run_id,
            created_at=now,
            reduce_only=action.reduce_only,
            post_only=action.post_only,
            reason=action.reason,
            ref_entry_price=position.entry_price if position else None,
            ref_margin=position.margin if position else None,
        )
        self.journal.record_intent(record)
        request = OrderRequest(
            symbol=pair.symbol,
            side=action.order_side,
            position_side=pair.side,
            qty=action.qty,
            price=action.price,
            client_order_id=cid,
            reduce_only=action.reduce_only,
            time_in_force=POST_ONLY if action.post_only else GOOD_TILL_CANCEL,
        )
        try:
            result = self.client.place_order(request)
        except DuplicateOrderIdError:
            result = self.client.get_order(pair.symbol, cid)
        except OutcomeUnknownError as exc:
            # Never re-sent: the next run's reconciliation looks it up by its client id.
            record.status, record.error, record.updated_at = j.UNKNOWN, str(exc), now
            self.journal.update_order(record)
            logger.warning(
                "order outcome unknown", extra={"symbol": pair.symbol, "json": {"id": cid}}
            )
            return 0
        except (InvalidOrderError, InsufficientFundsError) as exc:
            record.status, record.error, record.updated_at = j.REJECTED, str(exc), now
            self.journal.update_order(record)
            logger.warning(
                "order rejected", extra={"symbol": pair.symbol, "json": {"error": str(exc)}}
            )
            self.journal.log("warning", f"order rejected: {exc}", symbol=pair.symbol)
            return 0
        except TemporaryError as exc:
            record.status, record.error, record.updated_at = j.REJECTED, str(exc), now
            self.journal.update_order(record)
            raise
        if result is None:
            record.status, record.updated_at = j.UNKNOWN, now
            self.journal.update_order(record)
            return 0
        self.settle(record, result, pair, now)
        return 1

    def settle(self, record: OrderRecord, result: OrderResult, pair: PairSettings, now) -> None:
        """Bring a journal order in line with the exchange and book its fill once."""
        record.exchange_order_id = result.exchange_order_id or record.exchange_order_id
        record.filled_qty, record.avg_price, record.fee = (
            result.filled_qty,
            result.avg_price,
            result.fee,
        )
        record.updated_at = now
        if result.status in (NEW, PARTIALLY_FILLED):
            record.status = j.OPEN
        elif result.status == FILLED:
            record.status = j.FILLED
        elif result.filled_qty > 0:
            record.status = j.FILLED  # cancelled after a partial fill: what filled is ours
        else:
            record.status = j.CANCELLED if result.status == "cancelled" else j.REJECTED
        self.journal.update_order(record)
        if record.status == j.FILLED and result.filled_qty > 0:
            self.book_fill(record, result, pair, now)

    def book_fill(self, record: OrderRecord, result: OrderResult, pair: PairSettings, now) -> None:
        """Write the trade (once per order) and tell the owner with the real price and size."""
        qty, price = result.filled_qty, result.avg_price or record.price
        realised = Decimal(0)
        if record.action in ("REDUCE", "CLOSE") and record.ref_entry_price is not None:
            diff = price - record.ref_entry_price
            realised = diff * qty if record.side == LONG else -diff * qty
        position = self.client.get_position(pair.symbol, pair.side)
        balance = self.client.get_balance().wallet
        if position is not None and position.margin > 0:
            roe = position.unrealised_pnl / position.margin
        elif record.ref_margin:
            roe = realised / record.ref_margin
        else:
            roe = None
        trade = TradeRecord(
            time=now,
            pair_key=pair.pair_key,
            symbol=pair.symbol,
            side=pair.side,
            action=record.action,
            qty=qty,
            price=price,
            fee=result.fee,
            realised_pnl=realised,
            client_order_id=record.client_order_id,
            position_size=position.size if position else Decimal(0),
            position_value=position.margin if position else Decimal(0),
            pnl_percentage=None if roe is None else roe * 100,
            margin_level=position.margin_level if position else None,
            balance=balance,
        )
        if not self.journal.record_trade(trade):
            return
        if trade.position_size == 0:
            self._exited.add(pair.pair_key)
        logger.info(
            "fill",
            extra={
                "symbol": pair.symbol,
                "action": record.action,
                "json": {"qty": str(qty), "price": str(price)},
            },
        )
        self.notifier.send(
            Event(
                FILL_EVENTS[record.action],
                {
                    "symbol": pair.symbol,
                    "side": pair.side,
                    "qty": qty,
                    "price": price,
                    "size": trade.position_size,
                    "value": trade.position_value,
                    "pct": trade.position_value / balance * 100 if balance else None,
                    "upnl": position.unrealised_pnl if position else None,
                    "roe": roe,
                    "pnl": realised,
                    "reason": record.reason,
                    "balance": balance,
                    "fee": result.fee,
                },
            )
        )

    def send_alerts(self, pair: PairSettings, alerts, position_open: bool = False) -> None:
        """Send this run's alerts (refusals only when new) and notice positions closed elsewhere."""
        previous = self.journal.active_alerts(pair.pair_key)
        current = {alert.key for alert in alerts}
        if position_open:
            current.add(POSITION_OPEN)
        elif POSITION_OPEN in previous and pair.pair_key not in self._exited:
            # Gone without a fill of ours: liquidated, stopped out or closed by hand.
            self.notifier.send(
                Event(
                    "position_closed",
                    {
                        "symbol": pair.symbol,
                        "side": pair.side,
                        "reason": "closed outside the bot (liquidation or manual close)",
                    },
                )
            )
            self.journal.log(
                "warning", "position closed outside the bot", symbol=pair.symbol, side=pair.side
            )
        for alert in alerts:
            if alert.kind in ONCE_PER_CONDITION and alert.key in previous:
                continue
            self.notifier.send(
                Event(alert.kind, {"symbol": pair.symbol, "side": pair.side, **alert.fields})
            )
        if current != previous:
            self.journal.set_active_alerts(pair.pair_key, current)
