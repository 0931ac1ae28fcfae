"""The replay loop: the live decide() at every decision time, the paper engine on every candle.

At each decision time t, for every symbol, the candles closed by t go through the same
``PaperEngine`` the paper exchange uses (fills, liquidations), with funding charged at its
timestamps; then each pair does what one live run does: cancel its stale orders, read a snapshot
(indicators from closed candles, bid/ask from the last closed candle, the engine's positions and
wallet), call ``decide()`` and place the orders with the live client-order-id scheme. Candles that
cannot make anything happen (no order or liquidation price inside their range) are skipped
without touching the engine, which is what makes a year of minutes take about a second.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

import numpy as np

from clients.errors import InsufficientFundsError, InvalidOrderError
from clients.paper_engine import CROSS, PaperEngine
from strategies.base import Strategy
from strategies.types import LONG, SHORT, Action, Decision, Indicators, Snapshot, Volatility
from workflows.backtest_cursor import SymbolCursor, exact
from workflows.backtest_data import FundingSeries
from workflows.backtest_feed import SymbolFeed, paused_gc
from workflows.execution import order_prefix, order_request

PROGRESS_EVERY = 4096
PLACED = "placed"
REJECTED = "rejected"


@dataclass
class BacktestPair:
    """One (symbol, side) the backtest trades, with the strategy instance that decides for it."""

    symbol: str
    side: str
    strategy: Strategy
    leverage: Decimal = Decimal(10)
    auto: bool = True
    pair_key: str = ""


@dataclass(frozen=True)
class EngineSettings:
    """Account and exchange settings of a replay (the paper exchange's defaults)."""

    balance: Decimal = Decimal(1000)
    interval_minutes: int = 5
    maker_fee: Decimal = Decimal("0.0002")
    taker_fee: Decimal = Decimal("0.00055")
    slippage: Decimal = Decimal("0.0005")
    bot_key: str = "bt"
    margin_mode: str = CROSS
    liquidation_fee: Decimal = Decimal("0.00055")


@dataclass(frozen=True, slots=True)
class OrderLog:
    """An order the replay sent: when, for which pair, what, and whether the engine took it."""

    t_ms: int
    pair: int
    action: Action
    client_order_id: str
    status: str
    error: str = ""


@dataclass(eq=False)
class ReplayResult:
    """Everything a replay produced; metrics and the report are computed from it."""

    engine: PaperEngine
    grid: np.ndarray
    feeds: dict[str, SymbolFeed]
    pairs: list[BacktestPair]
    settings: EngineSettings
    decisions: list[tuple[int, int, Decision]] = field(default_factory=list)
    orders: list[OrderLog] = field(default_factory=list)
    # (key ms, symbol, side, size, entry, margin, maintenance rate): the state from candle key on
    position_events: list[tuple] = field(default_factory=list)
    wallet_events: list[tuple[int, float]] = field(default_factory=list)
    funding_events: list[tuple[int, str, str, Decimal]] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    end_ms: int = 0


class Replay:
    """One backtest run over prepared feeds; ``run()`` returns the ReplayResult."""

    def __init__(
        self,
        feeds: dict[str, SymbolFeed],
        pairs: list[BacktestPair],
        grid: np.ndarray,
        settings: EngineSettings,
        funding: dict[str, FundingSeries] | None = None,
    ):
        self.settings = settings
        self.engine = PaperEngine(
            settings.balance,
            settings.maker_fee,
            settings.taker_fee,
            settings.slippage,
            margin_mode=settings.margin_mode,
            liquidation_fee=settings.liquidation_fee,
        )
        for pair in pairs:
            self.engine.leverage[pair.symbol] = Decimal(pair.leverage)
            self.engine.maint_rates[pair.symbol] = feeds[pair.symbol].rules.maint_margin_rate
            self.engine.maint_tiers[pair.symbol] = feeds[pair.symbol].rules.maint_tiers
        funding = funding or {}
        self.cursors = {sym: SymbolCursor(feed, funding.get(sym)) for sym, feed in feeds.items()}
        self.result = ReplayResult(
            self.engine, grid, feeds, pairs, settings, skipped=[0] * len(pairs)
        )
        self.prefixes = [
            order_prefix(settings.bot_key, pair.pair_key or str(i + 1))
            for i, pair in enumerate(pairs)
        ]

    # -- market events between decisions ---------------------------------------------------

    def _record(self, cur: SymbolCursor, key_ms: int, wallet_before: Decimal) -> None:
        """Note a wallet or position change that holds from candle ``key_ms`` on."""
        engine, result = self.engine, self.result
        if engine.wallet != wallet_before:
            result.wallet_events.append((key_ms, float(engine.wallet - wallet_before)))
        for side in (LONG, SHORT):
            pos = engine.positions.get((cur.symbol, side))
            state = None if pos is None else (pos.size, pos.entry, pos.margin)
            if state != cur.last[side]:
                cur.last[side] = state
                result.position_events.append(
                    (key_ms, cur.symbol, side, 0.0, 0.0, 0.0, 0.0)
                    if pos is None
                    else (
                        key_ms,
                        cur.symbol,
                        side,
                        float(pos.size),
                        float(pos.entry),
                        float(pos.margin),
                        float(pos.maint_rate),
                    )
                )

    def _candles(self, cur: SymbolCursor, stop: int) -> None:
        """Put candles [cur.next, stop) through the engine; only those that can act are sent."""
        engine, symbol = self.engine, cur.symbol
        start = cur.next
        positions = engine.positions
        if (
            cur.keys[0] not in positions
            and cur.keys[1] not in positions
            and not (engine.open_ids.get(symbol))
        ):
            start = stop  # nothing rests and nothing can be liquidated
        while start < stop:
            levels = cur.levels
            if levels is None or cur.epoch != engine.epoch:
                cur.epoch = engine.epoch
                low_level, high_level = engine.triggers(symbol)
                levels = cur.levels = (
                    float("-inf") if low_level is None else float(low_level),
                    float("inf") if high_level is None else float(high_level),
                )
            hit = cur.find_trigger(start, stop, levels[0], levels[1])
            if hit < 0:
                break
            fills, wallet = len(engine.fills), engine.wallet
            ts = cur.ts.item(hit)
            engine.on_candle(
                symbol,
                ts,
                exact(cur.high.item(hit)),
                exact(cur.low.item(hit)),
                exact(cur.close.item(hit)),
            )
            if len(engine.fills) != fills:
                cur.levels = None
                self._record(cur, ts, wallet)
            start = hit + 1
        cur.next = max(cur.next, stop)

    def _funding(self, cur: SymbolCursor, ts: int, rate: Decimal) -> None:
        """Charge one funding event on the symbol's open positions at the last closed close."""
        engine = self.engine
        held = [s for s in (LONG, SHORT) if (cur.symbol, s) in engine.positions]
        if not held or cur.next == 0:
            return
        mark = exact(cur.close.item(cur.next - 1))
        for side in held:
            amount = engine.positions[(cur.symbol, side)].size * mark * rate
            self.result.funding_events.append(
                (ts, cur.symbol, side, amount if side == LONG else -amount)
            )
        wallet = engine.wallet
        engine.apply_funding(cur.symbol, rate, mark, ts)
        self._record(cur, ts, wallet)

    def advance(self, cur: SymbolCursor, t_ms: int, closed: int) -> None:
        """Process the ``closed`` candles closed by ``t_ms`` and the funding due by then."""
        while cur.funding_due <= t_ms:
            event = cur.funding_next
            self._candles(cur, cur.funding_closed[event])
            self._funding(cur, cur.funding_ts[event], cur.funding_rates[event])
            cur.funding_next += 1
            cur.funding_due = cur._next_funding()
        if closed > cur.next:
            self._candles(cur, closed)

    # -- decisions -------------------------------------------------------------------------

    def _mark_positions(self) -> None:
        """Marks at the touch mid, as the paper exchange sets them when positions are read."""
        marks = self.engine.marks
        for symbol, _side in self.engine.positions:
            marks[symbol] = self.cursors[symbol].mid()
        if len(self.engine.positions) > 1:
            self.engine.epoch += 1  # in cross mode other symbols' marks move a symbol's level

    def decide(self, g: int, t_ms: int, p: int, pair: BacktestPair, cur: SymbolCursor) -> None:
        """One live run of one pair at grid index ``g``: cancel, read, decide, place."""
        engine = self.engine
        if engine.open_ids.get(pair.symbol):
            engine.cancel(pair.symbol, self.prefixes[p])
            cur.levels = None
        feed = cur.feed
        j = feed.slot[g]
        if j < 0:
            self.result.skipped[p] += 1
            return
        bid, ask = cur.quote()
        position = None
        positions: tuple = ()
        if engine.positions:
            self._mark_positions()
            positions = tuple(engine.all_positions())
            for pos in positions:
                if pos.symbol == pair.symbol and pos.side == pair.side:
                    position = pos
        indicators = Indicators(
            feed.ema50[j], feed.ema200[j], feed.ema100_1h[j], Volatility(*feed.volatility[j])
        )
        snapshot = Snapshot(
            datetime.fromtimestamp(t_ms / 1000, tz=UTC),
            pair.symbol,
            pair.side,
            pair.auto,
            pair.leverage,
            bid,
            ask,
            engine.wallet,
            position,
            indicators,
            feed.rules,
            positions,
        )
        decision = pair.strategy.decide(snapshot)
        self.result.decisions.append((t_ms, p, decision))
        for n, action in enumerate(decision.actions, start=1):
            self._place(cur, t_ms, g, p, n, pair, action, bid, ask)

    def _place(self, cur, t_ms, g, p, n, pair, action: Action, bid, ask) -> None:
        """Send one action as the live workflow does and note a fill that happened at once."""
        engine = self.engine
        cid = f"{self.prefixes[p]}{g + 1}-{n}"
        request = order_request(pair.symbol, pair.side, action, cid)
        fills, wallet = len(engine.fills), engine.wallet
        cur.levels = None
        try:
            engine.place(request, cur.feed.rules, bid, ask, t_ms)
        except (InvalidOrderError, InsufficientFundsError) as exc:
            self.result.orders.append(OrderLog(t_ms, p, action, cid, REJECTED, str(exc)))
            return
        self.result.orders.append(OrderLog(t_ms, p, action, cid, PLACED))
        if len(engine.fills) != fills:
            self._record(cur, t_ms, wallet)

    def run(self, progress: Callable[[int, int], None] | None = None) -> ReplayResult:
        """Replay the grid, then the candles after the last decision; the result."""
        grid = self.result.grid
        cursors = list(self.cursors.values())
        for cur in cursors:
            cur.grid_closed = cur.closed_by(grid)
        pairs = [(p, pair, self.cursors[pair.symbol]) for p, pair in enumerate(self.result.pairs)]
        advance, decide = self.advance, self.decide
        with paused_gc():
            for g, t_ms in enumerate(grid.tolist()):
                for cur in cursors:
                    closed = cur.grid_closed[g]
                    if closed > cur.next or cur.funding_due <= t_ms:
                        advance(cur, t_ms, closed)
                for p, pair, cur in pairs:
                    decide(g, t_ms, p, pair, cur)
                if progress is not None and g % PROGRESS_EVERY == PROGRESS_EVERY - 1:
                    progress(PROGRESS_EVERY, len(grid))
            end_ms = max(c.ts.item(-1) + c.feed.series.interval_ms for c in cursors)
            for cur in cursors:
                self.advance(cur, end_ms, len(cur.ts))
                self.engine.marks[cur.symbol] = exact(cur.close.item(-1))
        if progress is not None:
            progress(len(grid) % PROGRESS_EVERY, len(grid))
        self.result.end_ms = end_ms
        return self.result
