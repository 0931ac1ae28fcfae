"""One run of a bot: for each pair reconcile, prepare, read, decide, execute, record, notify."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from clients.base import (
    ExchangeClient,
)
from clients.errors import (
    AuthenticationError,
    ExchangeError,
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
from strategies.types import Snapshot
from workflows.execution import OrderExecutor, order_prefix  # noqa: F401 - order_prefix re-exported
from workflows.journal import Journal, LockLostError, RunRecord

logger = logging.getLogger("dcabot.trading")

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
    margin_mode: str | None = None  # the exchange's mode of the pair's position, when it has one


@dataclass
class BotRunResult:
    """How a bot's run ended, pair by pair."""

    run_id: str
    outcome: str
    pairs: list[PairResult] = field(default_factory=list)
    error: str = ""  # why the whole run stopped (the lock was lost), beside the pairs' errors

    @property
    def exit_code(self) -> int:
        """0 every pair ran and every order's outcome is known; 1 a pair failed, an outcome is
        unknown or the lock was lost (the next run reconciles); 3 another run held the lock."""
        if self.outcome == LOCKED:
            return 3
        return 0 if self.outcome == OK else 1


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
        self.orders = OrderExecutor(client, journal, notifier, bot_key)

    def run(self, pairs: list[PairSettings], now: datetime, finished=None) -> BotRunResult:
        """One run over every pair under the per-bot lock; ``finished`` gives the end time."""
        if not self.journal.acquire_lock():
            logger.info(
                "another run of this bot is in progress; exiting", extra={"bot": self.bot_key}
            )
            return BotRunResult(run_id="", outcome=LOCKED)
        self.orders.exited = set()
        try:
            run_id = self.journal.start_run(now)
            result = BotRunResult(run_id=run_id, outcome=OK)
            try:
                self._run_pairs(pairs, run_id, now, result)
            except LockLostError as exc:
                # Nothing more is sent or written as an order; only this run's own record.
                logger.error(str(exc), extra={"bot": self.bot_key})
                result.outcome, result.error = FAILED, str(exc)
            conclusions = {p.pair_key: p.conclusion or p.error for p in result.pairs}
            if result.error:
                conclusions["run"] = result.error
            self.journal.finish_run(
                RunRecord(
                    run_id=run_id,
                    started_at=now,
                    finished_at=finished() if finished else now,
                    outcome=result.outcome,
                    conclusions=conclusions,
                )
            )
            return result
        finally:
            self.journal.release_lock()

    def _run_pairs(self, pairs, run_id: str, now: datetime, result: BotRunResult) -> None:
        """Each pair in turn; an authentication error ends the run (the key is the bot's)."""
        for pair in pairs:
            pair_result = self._guarded_pair(pair, run_id, now)
            result.pairs.append(pair_result)
            if pair_result.outcome == AUTH_FAILED:
                result.outcome = AUTH_FAILED
                return
            if pair_result.outcome != OK:
                result.outcome = FAILED
        self.journal.fence()  # a run that lost its lock is never recorded as having run cleanly

    def _guarded_pair(self, pair: PairSettings, run_id: str, now: datetime) -> PairResult:
        """Run a pair; its errors are recorded and told to the owner, other pairs still run (Q1)."""
        base = PairResult(pair.pair_key, pair.symbol, pair.side, OK)
        try:
            return self.run_pair(pair, run_id, now)
        except LockLostError:
            raise
        except OutcomeUnknownError as exc:
            base.outcome = FAILED
            base.error = f"order outcome unknown, the next run looks it up: {exc}"
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
        self.orders.reconcile(pair, now)
        self.client.ensure_hedge_mode(pair.symbol)
        self.client.set_leverage(pair.symbol, pair.leverage)
        snapshot = read_snapshot(self.client, pair, now)
        decision = pair.strategy.decide(snapshot)
        placed = 0
        for n, action in enumerate(decision.actions, start=1):
            placed += self.orders.execute(pair, action, snapshot, run_id, n, now)
        still_open = snapshot.position is not None and pair.pair_key not in self.orders.exited
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
        mode = snapshot.position.margin_mode if snapshot.position is not None else None
        return PairResult(
            pair.pair_key,
            pair.symbol,
            pair.side,
            OK,
            decision.conclusion,
            orders_placed=placed,
            margin_mode=mode,
        )

    def send_alerts(self, pair: PairSettings, alerts, position_open: bool = False) -> None:
        """Send this run's alerts (refusals only when new) and notice positions closed elsewhere."""
        previous = self.journal.active_alerts(pair.pair_key)
        current = {alert.key for alert in alerts}
        if position_open:
            current.add(POSITION_OPEN)
        elif POSITION_OPEN in previous and pair.pair_key not in self.orders.exited:
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
