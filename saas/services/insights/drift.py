"""Live versus backtest drift of one bot: its orders of a period against the replay's.

The replay runs the backtester over the 1-minute candles of the bot's price source (the
simulated or public market a paper bot trades on, the exchange's public candles otherwise) with
the bot's pairs as they are configured now, from a flat account with the bot's starting balance.
A bot that held a position when the period began therefore shows divergences until its first
flat moment; the page says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from clients.candle_market import CandleSeries
from saas.models import BotLog, Order, PaperAccount
from saas.services.bots.edit import owned_bot
from strategies import get_strategy
from workflows.backtest_drift import (
    FOLLOWS,
    Divergence,
    DriftOrder,
    action_number,
    compare,
    replay_orders,
)
from workflows.backtest_engine import BacktestPair, EngineSettings, Replay
from workflows.backtest_feed import TooFewCandlesError, prepare_series

PERIOD = timedelta(days=7)
WARMUP = timedelta(hours=101)  # the 1h EMA100 needs 100 closed hours
CADENCE_MS = 5 * 60_000
MANUAL_MESSAGE = "position closed outside the bot"


@dataclass
class DriftReport:
    """What the page and the weekly message show."""

    start: datetime
    end: datetime
    divergences: list[Divergence] = field(default_factory=list)
    live_orders: int = 0
    replay_orders: int = 0
    notes: list[str] = field(default_factory=list)

    def shown(self, limit: int = 50) -> list[Divergence]:
        """Every divergence with a cause of its own, and the first ``limit`` that follow one."""
        kept, follows = [], 0
        for item in self.divergences:
            if item.cause == FOLLOWS:
                follows += 1
                if follows > limit:
                    continue
            kept.append(item)
        return kept

    def causes(self) -> dict[str, int]:
        """How many divergences each cause explains."""
        counts: dict[str, int] = {}
        for item in self.divergences:
            counts[item.cause] = counts.get(item.cause, 0) + 1
        return counts


def _series(candles) -> CandleSeries:
    """Candles as arrays for the backtester."""
    table = np.array(
        [(c.ts_ms, c.open, c.high, c.low, c.close, c.volume) for c in candles], dtype=float
    )
    return CandleSeries(
        table[:, 0].astype(np.int64), *(np.ascontiguousarray(table[:, i]) for i in range(1, 6)), 1
    )


def _gaps(series: CandleSeries) -> list[tuple[int, int]]:
    """Spans with missing 1-minute candles."""
    steps = np.diff(series.ts)
    rows = np.flatnonzero(steps > 60_000)
    return [(int(series.ts[r]), int(series.ts[r + 1])) for r in rows]


def drift_report(session: Session, user, bot_id, market, *, now: datetime) -> DriftReport:
    """Compare the bot's last week with the replay of it (another user's bot is a BotError)."""
    bot = owned_bot(session, user, bot_id)
    start = now - PERIOD
    report = DriftReport(start, now)
    pairs = [p for p in bot.pairs if p.is_active]
    if not pairs:
        report.notes.append("The bot has no active pair.")
        return report
    account = session.scalar(select(PaperAccount).where(PaperAccount.bot_id == bot.id))
    balance = account.initial_balance if account is not None else Decimal(10000)
    count = int((PERIOD + WARMUP) / timedelta(minutes=1))
    feeds = {}
    for pair in pairs:
        if pair.symbol not in feeds:
            feeds[pair.symbol] = _series(market.candles(pair.symbol, 1, count, now))
    try:
        ready = prepare_series(feeds, 5)
    except TooFewCandlesError as exc:
        report.notes.append(f"Not enough candles to replay: {exc}")
        return report
    grid = ready.grid[ready.grid >= int(start.timestamp() * 1000)]
    backtest_pairs = [
        BacktestPair(
            p.symbol,
            p.side,
            get_strategy(p.strategy, p.strategy_params),
            p.leverage,
            p.automatic_mode,
            str(p.id),
        )
        for p in pairs
    ]
    modes = {p.margin_mode for p in pairs}
    settings = EngineSettings(
        balance=balance,
        bot_key=str(bot.id),
        margin_mode=modes.pop() if len(modes) == 1 else "cross",
    )
    result = Replay(ready.feeds, backtest_pairs, grid, settings).run()
    rows = session.scalars(
        select(Order).where(Order.bot_id == bot.id, Order.created_at >= start)
    ).all()
    live = [
        DriftOrder(
            int(o.created_at.timestamp() * 1000) // CADENCE_MS * CADENCE_MS,
            str(o.pair_id),
            action_number(o.client_order_id),
            o.action,
            o.qty,
            o.price,
            o.status != "rejected",
            o.status == "filled" or (o.filled_qty or 0) > 0,
            o.error or "",
        )
        for o in rows
    ]
    manual = [
        (int(log.created_at.timestamp() * 1000), str(pair.id))
        for log in session.scalars(
            select(BotLog).where(
                BotLog.bot_id == bot.id,
                BotLog.created_at >= start,
                BotLog.message == MANUAL_MESSAGE,
            )
        )
        for pair in pairs
        if ((log.fields or {}).get("symbol"), (log.fields or {}).get("side"))
        == (pair.symbol, pair.side)
    ]
    replayed = replay_orders(result)
    report.live_orders, report.replay_orders = len(live), len(replayed)
    report.divergences = compare(live, replayed, manual, _gaps(next(iter(feeds.values()))))
    report.notes.append(
        f"The replay starts flat with {balance} USDT on {start:%Y-%m-%d %H:%M} UTC; a position "
        "the bot already held then shows as divergences until it was closed."
    )
    return report


def drift_market(bot, env):
    """The prices the bot trades on: its paper price source, or the exchange's public ones."""
    from clients.factory import paper_price_source, real_client  # noqa: PLC0415
    from clients.live_prices import ExchangePriceSource  # noqa: PLC0415

    if bot.exchange == "paper":
        return paper_price_source(env, bot.testnet)
    return ExchangePriceSource(real_client(bot.exchange, "", "", bot.testnet, env))


def drift_event_fields(bot_name: str, report: DriftReport) -> dict:
    """The fields of the weekly DRIFT_REPORT notification."""
    causes = ", ".join(f"{cause}: {n}" for cause, n in sorted(report.causes().items())) or "none"
    return {
        "bot": bot_name,
        "period": f"{report.start:%Y-%m-%d} to {report.end:%Y-%m-%d}",
        "divergences": len(report.divergences),
        "causes": causes,
    }
