"""Backtest results: the equity curve on every candle, the deals, the trade list and the metrics."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np

from clients.market import MINUTE_MS
from strategies.types import LONG
from workflows.backtest_data import fmt_ms
from workflows.backtest_engine import PLACED, REJECTED, ReplayResult

DAY_MS = 1440 * MINUTE_MS
HOUR_MS = 60 * MINUTE_MS
ZERO = Decimal(0)
FILL_KINDS = ("OPEN", "ADD", "REDUCE", "CLOSE", "LIQUIDATION")


@dataclass(eq=False)
class EquityCurve:
    """Account values at every candle close from the first decision on (floats, for charts)."""

    ts: np.ndarray
    equity: np.ndarray
    wallet: np.ndarray
    margin: np.ndarray
    usage: np.ndarray  # position margin / wallet
    margin_level: np.ndarray  # lowest over open positions, NaN when flat
    exposed: np.ndarray  # any position open

    def drawdown(self) -> np.ndarray:
        """Fall from the running peak of equity, as a fraction (0 at a new high)."""
        if len(self.equity) == 0:
            return self.equity
        peak = np.maximum.accumulate(self.equity)
        return (self.equity - peak) / peak


def _step(keys: np.ndarray, values: np.ndarray, at: np.ndarray, before: float = 0.0):
    """The value of a step function (value from its key on) at each time."""
    index = np.searchsorted(keys, at, side="right") - 1
    out = values[np.maximum(index, 0)]
    return np.where(index >= 0, out, before)


def _close_at(result: ReplayResult, symbol: str, at: np.ndarray) -> np.ndarray:
    """A symbol's close of the candle opened at or before each time."""
    series = result.feeds[symbol].series
    index = np.maximum(np.searchsorted(series.ts, at, side="right") - 1, 0)
    return series.close[index]


def equity_curve(result: ReplayResult) -> EquityCurve:
    """Wallet, margin and unrealised PnL replayed from the recorded state changes, vectorised."""
    primary = result.feeds[result.pairs[0].symbol].series
    start = int(result.grid[0]) if len(result.grid) else int(result.end_ms)
    rows = primary.ts >= start
    opens = primary.ts[rows]
    ts = np.r_[start, opens + primary.interval_ms]
    at = np.r_[start - 1, opens]  # the state in force at each point (before the first candle)
    balance = float(result.settings.balance)
    events = sorted(result.wallet_events, key=lambda e: e[0])
    keys = np.array([e[0] for e in events], dtype=np.int64)
    wallet = balance + _step(keys, np.cumsum([e[1] for e in events]), at)
    margin = np.zeros(len(ts))
    upnl = np.zeros(len(ts))
    level = np.full(len(ts), np.inf)
    for (symbol, side), states in _position_states(result).items():
        state_keys = np.array([s[0] for s in states], dtype=np.int64)
        size, entry, pos_margin, mmr = (
            _step(state_keys, np.array([s[i] for s in states]), at) for i in range(1, 5)
        )
        close = _close_at(result, symbol, at)
        pnl = (close - entry) * size if side == LONG else (entry - close) * size
        held = size > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            ml = np.where(held, (pos_margin + pnl) / (size * close * mmr), np.inf)
        margin += np.where(held, pos_margin, 0.0)
        upnl += np.where(held, pnl, 0.0)
        level = np.minimum(level, ml)
    with np.errstate(divide="ignore", invalid="ignore"):
        usage = np.where(wallet > 0, margin / wallet, np.nan)
    return EquityCurve(
        ts=ts,
        equity=wallet + upnl,
        wallet=wallet,
        margin=margin,
        usage=usage,
        margin_level=np.where(np.isinf(level), np.nan, level),
        exposed=margin > 0,
    )


def _position_states(result: ReplayResult) -> dict[tuple[str, str], list[tuple]]:
    """Recorded position states per (symbol, side), in time order."""
    states: dict[tuple[str, str], list[tuple]] = {}
    for key_ms, symbol, side, size, entry, margin, mmr in result.position_events:
        states.setdefault((symbol, side), []).append((key_ms, size, entry, margin, mmr))
    for rows in states.values():
        rows.sort(key=lambda row: row[0])
    return states


@dataclass
class Deal:
    """One position from its opening fill to its full close or liquidation."""

    symbol: str
    side: str
    opened_ms: int
    closed_ms: int | None = None
    outcome: str = "open"  # closed, liquidated, open (still held at the end)
    fills: Counter = field(default_factory=Counter)
    realised: Decimal = ZERO
    fees: Decimal = ZERO
    funding: Decimal = ZERO

    @property
    def pnl(self) -> Decimal:
        """Realised PnL net of fees and funding."""
        return self.realised - self.fees - self.funding

    def duration_ms(self, end_ms: int) -> int:
        """How long the position was held (until the end of the data when still open)."""
        return (self.closed_ms if self.closed_ms is not None else end_ms) - self.opened_ms


def deals(result: ReplayResult) -> list[Deal]:
    """Group fills and funding into deals, per (symbol, side)."""
    stream = [(f.ts_ms, 1, i, f) for i, f in enumerate(result.engine.fills)]
    # Funding at T is charged before the candle opening at T, so it sorts first.
    stream += [(e[0], 0, i, e) for i, e in enumerate(result.funding_events)]
    stream.sort(key=lambda item: item[:3])
    open_deals: dict[tuple[str, str], Deal] = {}
    done: list[Deal] = []
    for _ts, is_fill, _i, item in stream:
        if not is_fill:
            _, symbol, side, amount = item
            if (symbol, side) in open_deals:
                open_deals[(symbol, side)].funding += amount
            continue
        key = (item.symbol, item.side)
        deal = open_deals.get(key)
        if deal is None:
            deal = open_deals[key] = Deal(item.symbol, item.side, item.ts_ms)
        deal.fills[item.kind] += 1
        deal.realised += item.realised_pnl
        deal.fees += item.fee
        if item.kind in ("CLOSE", "LIQUIDATION"):
            deal.closed_ms = item.ts_ms
            deal.outcome = "liquidated" if item.kind == "LIQUIDATION" else "closed"
            done.append(open_deals.pop(key))
    return sorted(done + list(open_deals.values()), key=lambda d: d.opened_ms)


def daily_ratios(curve: EquityCurve) -> tuple[float | None, float | None]:
    """Annualised Sharpe and Sortino of daily equity returns (365 trading days, no risk-free)."""
    if len(curve.ts) < 2:
        return None, None
    day = (curve.ts - 1) // DAY_MS  # a close at midnight belongs to the day it ends
    last_of_day = np.flatnonzero(np.r_[day[1:] != day[:-1], True])
    closes = curve.equity[last_of_day]
    if last_of_day[0] != 0:
        closes = np.r_[curve.equity[0], closes]  # the first day's return starts at the start
    returns = np.diff(closes) / closes[:-1]
    if len(returns) < 2:
        return None, None
    mean = float(returns.mean())
    std = float(returns.std(ddof=1))
    downside = float(np.sqrt(np.mean(np.minimum(returns, 0.0) ** 2)))
    scale = math.sqrt(365)
    sharpe = mean / std * scale if std > 0 else None
    sortino = mean / downside * scale if downside > 0 else None
    return sharpe, sortino


def _extreme(values: np.ndarray, pick, scale: float = 1.0) -> float | None:
    """``pick`` (np.max or np.min) over the finite values, scaled; None when there are none."""
    finite = values[np.isfinite(values)]
    return float(pick(finite)) * scale if len(finite) else None


def compute_metrics(result: ReplayResult, curve: EquityCurve, deal_list: list[Deal]) -> dict:
    """The summary numbers of a run; money as Decimal, ratios as float."""
    engine = result.engine
    initial = result.settings.balance
    final_equity = engine.equity()
    drawdown = curve.drawdown()
    worst = int(drawdown.argmin()) if len(drawdown) else 0
    peak = float(np.maximum.accumulate(curve.equity)[worst]) if len(drawdown) else float(initial)
    completed = [d for d in deal_list if d.outcome != "open"]
    won = [d for d in completed if d.pnl > 0]
    durations = [d.duration_ms(result.end_ms) for d in completed]
    fills = Counter(f.kind for f in engine.fills)
    placed = [o for o in result.orders if o.status == PLACED]
    filled_ids = {f.client_order_id for f in engine.fills}
    sharpe, sortino = daily_ratios(curve)
    return {
        "initial_balance": initial,
        "final_balance": engine.wallet,
        "final_equity": final_equity,
        "total_return_pct": float((final_equity / initial - 1) * 100) if initial else None,
        "max_drawdown_pct": float(-drawdown.min() * 100) if len(drawdown) else 0.0,
        "max_drawdown_usdt": float(peak - curve.equity[worst]) if len(drawdown) else 0.0,
        "max_margin_usage_pct": _extreme(curve.usage, np.max, 100.0),
        "lowest_margin_level": _extreme(curve.margin_level, np.min),
        "liquidations": engine.liquidations,
        "fees_paid": engine.fees_paid,
        "funding_paid": engine.funding_paid,
        "deals_completed": len(completed),
        "deals_won": len(won),
        "deals_lost": len(completed) - len(won),
        "win_rate_pct": len(won) / len(completed) * 100 if completed else None,
        "avg_deal_hours": sum(durations) / len(durations) / HOUR_MS if durations else None,
        "longest_deal_hours": max(durations) / HOUR_MS if durations else None,
        "open_at_end": len(deal_list) - len(completed),
        "opens": fills["OPEN"],
        "adds": fills["ADD"],
        "reduces": fills["REDUCE"],
        "closes": fills["CLOSE"],
        "orders_placed": len(placed),
        "orders_unfilled": sum(1 for o in placed if o.client_order_id not in filled_ids),
        "orders_rejected": sum(1 for o in result.orders if o.status == REJECTED),
        "exposure_pct": float(curve.exposed.mean() * 100) if len(curve.exposed) else 0.0,
        "sharpe": sharpe,
        "sortino": sortino,
        "decisions": len(result.decisions),
        "skipped_decisions": sum(result.skipped),
        "start": fmt_ms(int(result.grid[0])) if len(result.grid) else None,
        "end": fmt_ms(result.end_ms),
        "days": (result.end_ms - int(result.grid[0])) / DAY_MS if len(result.grid) else 0.0,
    }


def trade_rows(result: ReplayResult, deal_list: list[Deal]) -> list[dict]:
    """Every fill in time order with the decision's reason and its deal number."""
    reasons = {o.client_order_id: o.action.reason for o in result.orders}
    numbers: dict[tuple[str, str, int], int] = {
        (d.symbol, d.side, d.opened_ms): n for n, d in enumerate(deal_list, start=1)
    }
    current: dict[tuple[str, str], int] = {}
    rows = []
    for fill in sorted(result.engine.fills, key=lambda f: f.ts_ms):
        key = (fill.symbol, fill.side)
        if fill.kind == "OPEN" or key not in current:
            current[key] = numbers.get((fill.symbol, fill.side, fill.ts_ms), 0)
        rows.append(
            {
                "time": fmt_ms(fill.ts_ms),
                "ts_ms": fill.ts_ms,
                "symbol": fill.symbol,
                "side": fill.side,
                "action": fill.kind,
                "order_side": fill.order_side,
                "qty": fill.qty,
                "price": fill.price,
                "fee": fill.fee,
                "realised_pnl": fill.realised_pnl,
                "maker": fill.maker,
                "client_order_id": fill.client_order_id,
                "reason": reasons.get(fill.client_order_id, "liquidation"),
                "deal": current[key],
            }
        )
    return rows


LABELS = (
    ("initial_balance", "Initial balance", "usdt"),
    ("final_balance", "Final balance (wallet)", "usdt"),
    ("final_equity", "Final equity", "usdt"),
    ("total_return_pct", "Total return", "pct"),
    ("max_drawdown_pct", "Max drawdown (equity)", "pct"),
    ("max_drawdown_usdt", "Max drawdown", "usdt"),
    ("max_margin_usage_pct", "Max margin usage", "pct"),
    ("lowest_margin_level", "Lowest margin level (at closes)", "num"),
    ("liquidations", "Liquidations", "int"),
    ("fees_paid", "Fees paid", "usdt"),
    ("funding_paid", "Funding paid", "usdt"),
    ("deals_completed", "Completed deals", "int"),
    ("win_rate_pct", "Win rate", "pct"),
    ("avg_deal_hours", "Average deal", "hours"),
    ("longest_deal_hours", "Longest deal", "hours"),
    ("open_at_end", "Deals open at the end", "int"),
    ("opens", "Opens / adds / reduces / closes", "fills"),
    ("orders_placed", "Orders placed / unfilled / rejected", "orders"),
    ("exposure_pct", "Exposure time", "pct"),
    ("sharpe", "Sharpe (daily, annualised)", "num"),
    ("sortino", "Sortino (daily, annualised)", "num"),
    ("decisions", "Decisions / skipped", "decisions"),
    ("start", "Period", "period"),
)


def _format(metrics: dict, key: str, kind: str) -> str:
    """One metric as text."""
    value = metrics.get(key)
    if kind == "fills":
        return " / ".join(str(metrics[k]) for k in ("opens", "adds", "reduces", "closes"))
    if kind == "orders":
        return " / ".join(
            str(metrics[k]) for k in ("orders_placed", "orders_unfilled", "orders_rejected")
        )
    if kind == "decisions":
        return f"{metrics['decisions']} / {metrics['skipped_decisions']}"
    if kind == "period":
        return f"{metrics['start']} .. {metrics['end']} UTC ({metrics['days']:.1f} days)"
    if value is None:
        return "-"
    if kind == "usdt":
        return f"{float(value):,.2f} USDT"
    if kind == "pct":
        return f"{float(value):.2f} %"
    if kind == "hours":
        return f"{float(value):.1f} h"
    if kind == "int":
        return str(value)
    return f"{float(value):.3f}"


def metric_lines(metrics: dict) -> list[tuple[str, str]]:
    """(label, text) for every metric, in display order."""
    return [(label, _format(metrics, key, kind)) for key, label, kind in LABELS]
