"""What the dashboards show, read with SQL aggregates from bot_daily_stats and trades.

Nothing here loads trades into Python: sums are GROUP BYs in the database, and the daily rows
are first brought up to date by ``saas.services.insights.stats.ensure_fresh`` (the views call it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import and_, case, func, select, type_coerce
from sqlalchemy.orm import Session

from saas.models import Bot, BotDailyStat, Trade
from saas.models.base import Money
from saas.models.scoping import user_id_of
from saas.services.insights.stats import CLOSING_ACTIONS, ZERO, as_day


@dataclass(frozen=True)
class DayFigures:
    """One UTC day across the bots in scope: the account at its end and the fills in it."""

    day: date
    balance: Decimal | None
    unrealised: Decimal
    realised: Decimal
    fees: Decimal
    trades: int
    closes: int
    wins: int
    losses: int

    @property
    def equity(self) -> Decimal | None:
        """Balance plus unrealised PnL (None while no fill has reported a balance)."""
        return None if self.balance is None else self.balance + self.unrealised

    @property
    def net(self) -> Decimal:
        """Realised PnL after fees."""
        return self.realised - self.fees


@dataclass(frozen=True)
class Totals:
    """Sums over a set of days."""

    trades: int = 0
    closes: int = 0
    wins: int = 0
    losses: int = 0
    realised: Decimal = ZERO
    fees: Decimal = ZERO

    @property
    def net(self) -> Decimal:
        """Realised PnL after fees."""
        return self.realised - self.fees

    @property
    def win_rate(self) -> Decimal | None:
        """Winning reduces and closes over all reduces and closes, in percent (None without)."""
        return None if not self.closes else Decimal(self.wins) * 100 / self.closes


def _stats_scope(query, user, bot_id: int | None):
    """Limit a query on bot_daily_stats to the user's bots (and to one of them)."""
    query = query.join(Bot, Bot.id == BotDailyStat.bot_id).where(Bot.user_id == user_id_of(user))
    return query if bot_id is None else query.where(BotDailyStat.bot_id == bot_id)


def daily_figures(session: Session, user, bot_id: int | None = None) -> list[DayFigures]:
    """Every day of the user's bots (or one bot), oldest first: one GROUP BY over the rows."""
    s = BotDailyStat
    query = (
        _stats_scope(
            select(
                s.day,
                func.sum(s.balance),
                func.sum(s.unrealised_pnl),
                func.sum(s.realised_pnl),
                func.sum(s.fees),
                func.sum(s.trades),
                func.sum(s.closes),
                func.sum(s.wins),
                func.sum(s.losses),
            ),
            user,
            bot_id,
        )
        .group_by(s.day)
        .order_by(s.day)
    )
    return [
        DayFigures(
            as_day(day),
            balance,
            unrealised or ZERO,
            realised or ZERO,
            fees or ZERO,
            int(trades or 0),
            int(closes or 0),
            int(wins or 0),
            int(losses or 0),
        )
        for (
            day,
            balance,
            unrealised,
            realised,
            fees,
            trades,
            closes,
            wins,
            losses,
        ) in session.execute(query)
    ]


def totals(days: list[DayFigures], since: date | None = None) -> Totals:
    """Sums of already aggregated days (all of them, or from ``since`` on)."""
    chosen = [d for d in days if since is None or d.day >= since]
    return Totals(
        trades=sum(d.trades for d in chosen),
        closes=sum(d.closes for d in chosen),
        wins=sum(d.wins for d in chosen),
        losses=sum(d.losses for d in chosen),
        realised=sum((d.realised for d in chosen), ZERO),
        fees=sum((d.fees for d in chosen), ZERO),
    )


def drawdown(days: list[DayFigures]) -> list[tuple[date, Decimal]]:
    """Per day, equity's fall from its highest point so far, in percent (0 or negative)."""
    peak: Decimal | None = None
    curve = []
    for figures in days:
        equity = figures.equity
        if equity is None:
            continue
        peak = equity if peak is None or equity > peak else peak
        curve.append((figures.day, (equity / peak - 1) * 100 if peak > 0 else ZERO))
    return curve


def max_drawdown(days: list[DayFigures]) -> Decimal:
    """The deepest drawdown of the daily equity, in percent (0 when equity never fell)."""
    return min((value for _, value in drawdown(days)), default=ZERO)


@dataclass(frozen=True)
class OpenPosition:
    """A position open after its last fill, with the bot it belongs to."""

    bot_id: int
    bot_name: str
    pair_id: int | None
    symbol: str
    side: str
    size: Decimal
    margin: Decimal
    upnl: Decimal
    margin_level: Decimal | None
    price: Decimal
    time: datetime

    @property
    def risk(self) -> str:
        """danger under 1.5, warning under 2, ok otherwise, unknown without a margin level."""
        return risk_of(self.margin_level)


def risk_of(margin_level: Decimal | None) -> str:
    """The colour class of a margin level: under 1.5 red, under 2 amber."""
    if margin_level is None:
        return "unknown"
    if margin_level < Decimal("1.5"):
        return "danger"
    return "warning" if margin_level < 2 else "ok"


def open_positions(session: Session, user, bot_id: int | None = None) -> list[OpenPosition]:
    """Open positions from each bot's newest row, riskiest (lowest margin level) first."""
    s = BotDailyStat
    # One index probe per bot ((bot_id, day) backwards), not a scan of every daily row.
    newest = (
        select(s.positions)
        .where(s.bot_id == Bot.id)
        .order_by(s.day.desc())
        .limit(1)
        .correlate(Bot)
        .scalar_subquery()
    )
    query = select(Bot.id, Bot.name, newest).where(Bot.user_id == user_id_of(user))
    if bot_id is not None:
        query = query.where(Bot.id == bot_id)
    found = []
    for bid, name, positions in session.execute(query):
        for item in (positions or {}).values():
            level = item.get("margin_level")
            found.append(
                OpenPosition(
                    bid,
                    name,
                    item.get("pair_id"),
                    item["symbol"],
                    item["side"],
                    Decimal(item["size"]),
                    Decimal(item["margin"]),
                    Decimal(item["upnl"]),
                    None if level is None else Decimal(level),
                    Decimal(item["price"]),
                    datetime.fromisoformat(item["time"]),
                )
            )
    return sorted(
        found, key=lambda p: (p.margin_level is None, p.margin_level or ZERO, p.bot_name, p.symbol)
    )


@dataclass(frozen=True)
class Breakdown:
    """Figures of one bot or one (symbol, side)."""

    key: tuple
    label: str
    totals: Totals
    volume: Decimal = ZERO


def bot_breakdown(session: Session, user) -> list[Breakdown]:
    """Per bot, from the daily rows: trades, wins, realised PnL and fees."""
    s = BotDailyStat
    query = (
        _stats_scope(
            select(
                s.bot_id,
                Bot.name,
                func.sum(s.trades),
                func.sum(s.closes),
                func.sum(s.wins),
                func.sum(s.losses),
                func.sum(s.realised_pnl),
                func.sum(s.fees),
                func.sum(s.volume),
            ),
            user,
            None,
        )
        .group_by(s.bot_id, Bot.name)
        .order_by(Bot.name)
    )
    return [
        Breakdown(
            (bid,), name, Totals(int(n), int(c), int(w), int(lo), r or ZERO, f or ZERO), v or ZERO
        )
        for bid, name, n, c, w, lo, r, f, v in session.execute(query)
    ]


def symbol_breakdown(session: Session, user, bot_id: int | None = None) -> list[Breakdown]:
    """Per (symbol, side), grouped over trades in the database."""
    closing = Trade.action.in_(CLOSING_ACTIONS)
    query = (
        select(
            Trade.symbol,
            Trade.side,
            func.count(),
            func.sum(case((closing, 1), else_=0)),
            func.sum(case((and_(closing, Trade.pnl > 0), 1), else_=0)),
            func.sum(case((and_(closing, Trade.pnl < 0), 1), else_=0)),
            func.sum(Trade.pnl),
            func.sum(Trade.fee),
            func.sum(type_coerce(Trade.qty * Trade.price, Money)),
        )
        .join(Bot, Bot.id == Trade.bot_id)
        .where(Bot.user_id == user_id_of(user))
        .group_by(Trade.symbol, Trade.side)
        .order_by(Trade.symbol, Trade.side)
    )
    if bot_id is not None:
        query = query.where(Trade.bot_id == bot_id)
    return [
        Breakdown(
            (symbol, side),
            f"{symbol} {side}",
            Totals(int(n), int(c), int(w), int(lo), r or ZERO, f or ZERO),
            v or ZERO,
        )
        for symbol, side, n, c, w, lo, r, f, v in session.execute(query)
    ]


def fill_series(session: Session, user, bot_id: int, limit: int = 5000) -> list:
    """The bot's newest fills (oldest first): time, pair, position margin and margin level."""
    query = (
        select(
            Trade.time,
            Trade.symbol,
            Trade.side,
            Trade.position_value,
            Trade.margin_level,
            Trade.position_size,
        )
        .join(Bot, Bot.id == Trade.bot_id)
        .where(Bot.user_id == user_id_of(user), Trade.bot_id == bot_id)
        .order_by(Trade.time.desc(), Trade.id.desc())
        .limit(limit)
    )
    return list(reversed(session.execute(query).all()))
