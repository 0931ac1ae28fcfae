"""Dashboard figures: bot_daily_stats kept in step with trades, and the aggregates read from it.

Pages never load trades into Python: every figure is a SQL aggregate, over ``bot_daily_stats``
(one row per bot and UTC day, dense from the bot's first trade through today) or, for the
per-symbol breakdown, over ``trades`` grouped in the database. The rows are rebuilt from trades
by ``refresh_daily_stats`` (the runner may call it after a run) and lazily by ``ensure_fresh``
(every dashboard page), so they are right even when nothing else refreshed them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import Date, and_, case, cast, delete, func, insert, select, type_coerce
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from saas.models import Bot, BotDailyStat, Trade
from saas.models.base import Money
from saas.models.scoping import user_id_of

DAY = timedelta(days=1)
ZERO = Decimal(0)
CLOSING_ACTIONS = ("REDUCE", "CLOSE")


# -- days ----------------------------------------------------------------------------------------


def day_column(column, dialect: str):
    """The UTC calendar day of a timestamp column, as SQL (SQLite keeps naive UTC text)."""
    if dialect == "postgresql":
        return cast(func.timezone("UTC", column), Date)
    return func.date(column)


def as_day(value) -> date:
    """A day from the database (a date on PostgreSQL, 'YYYY-MM-DD' text from SQLite's date())."""
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def day_start(day: date) -> datetime:
    """Midnight UTC at the start of ``day``."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


# -- rebuilding the daily rows ---------------------------------------------------------------------


@dataclass
class _Carry:
    """What a day inherits from the one before: the balance and the open positions."""

    balance: Decimal | None = None
    positions: dict = field(default_factory=dict)
    last_trade_at: datetime | None = None


def _base(session: Session, bot_id: int, start: date) -> tuple[date, _Carry] | None:
    """Where a rebuild must begin and the state before it; None when the bot has no trades."""
    previous = session.scalars(
        select(BotDailyStat)
        .where(BotDailyStat.bot_id == bot_id, BotDailyStat.day < start)
        .order_by(BotDailyStat.day.desc())
        .limit(1)
    ).first()
    if previous is not None:
        # Days between the previous row and ``start`` may hold uncounted trades: include them.
        carry = _Carry(previous.balance, dict(previous.positions or {}), previous.last_trade_at)
        return min(start, previous.day + DAY), carry
    first = session.scalar(select(func.min(Trade.time)).where(Trade.bot_id == bot_id))
    if first is None:
        return None
    return min(start, first.astimezone(UTC).date()), _Carry()


def _day_aggregates(session: Session, bot_id: int, lo: datetime, hi: datetime) -> dict:
    """Per day: counts, sums and the lowest margin level of the fills in [lo, hi)."""
    day = day_column(Trade.time, _dialect(session)).label("day")
    closing = Trade.action.in_(CLOSING_ACTIONS)
    query = (
        select(
            day,
            func.count(),
            func.sum(case((closing, 1), else_=0)),
            func.sum(case((and_(closing, Trade.pnl > 0), 1), else_=0)),
            func.sum(case((and_(closing, Trade.pnl < 0), 1), else_=0)),
            func.sum(Trade.pnl),
            func.sum(Trade.fee),
            func.sum(type_coerce(Trade.qty * Trade.price, Money)),
            func.min(case((Trade.position_size > 0, Trade.margin_level))),
        )
        .where(Trade.bot_id == bot_id, Trade.time >= lo, Trade.time < hi)
        .group_by(day)
    )
    return {as_day(row[0]): row[1:] for row in session.execute(query)}


def _last_fills(session: Session, bot_id: int, lo: datetime, hi: datetime) -> dict:
    """Per day: the last fill of each (symbol, side), oldest first, in one window query."""
    day = day_column(Trade.time, _dialect(session))
    rank = func.row_number().over(
        partition_by=(day, Trade.symbol, Trade.side),
        order_by=(Trade.time.desc(), Trade.id.desc()),
    )
    inner = (
        select(
            day.label("day"),
            Trade.id,
            Trade.time,
            Trade.pair_id,
            Trade.symbol,
            Trade.side,
            Trade.price,
            Trade.position_size,
            Trade.position_value,
            Trade.pnl_percentage,
            Trade.margin_level,
            Trade.balance_after,
            rank.label("rank"),
        )
        .where(Trade.bot_id == bot_id, Trade.time >= lo, Trade.time < hi)
        .subquery()
    )
    found: dict[date, list] = {}
    rows = session.execute(
        select(inner).where(inner.c.rank == 1).order_by(inner.c.time, inner.c.id)
    )
    for row in rows:
        found.setdefault(as_day(row.day), []).append(row)
    return found


def _position(fill) -> dict:
    """The JSON of an open position as its last fill left it."""
    margin = fill.position_value or ZERO
    upnl = (fill.pnl_percentage or ZERO) / 100 * margin
    return {
        "pair_id": fill.pair_id,
        "symbol": fill.symbol,
        "side": fill.side,
        "size": str(fill.position_size),
        "margin": str(margin),
        "upnl": str(upnl),
        "margin_level": None if fill.margin_level is None else str(fill.margin_level),
        "price": str(fill.price),
        "time": fill.time.astimezone(UTC).isoformat(),
    }


def _day_row(bot_id: int, day: date, sums, fills: list, carry: _Carry) -> dict:
    """One bot_daily_stats row; ``carry`` becomes the state at the end of ``day``."""
    for fill in fills:
        key = f"{fill.symbol}/{fill.side}"
        if fill.position_size > 0:
            carry.positions[key] = _position(fill)
        else:
            carry.positions.pop(key, None)
        if fill.balance_after is not None:
            carry.balance = fill.balance_after
        carry.last_trade_at = fill.time
    count, closes, wins, losses, pnl, fees, volume, lowest = sums or (0, 0, 0, 0, 0, 0, 0, None)
    open_positions = carry.positions.values()
    return {
        "bot_id": bot_id,
        "day": day,
        "trades": int(count or 0),
        "closes": int(closes or 0),
        "wins": int(wins or 0),
        "losses": int(losses or 0),
        "realised_pnl": Decimal(pnl or 0),
        "fees": Decimal(fees or 0),
        "volume": Decimal(volume or 0),
        "balance": carry.balance,
        "unrealised_pnl": sum((Decimal(p["upnl"]) for p in open_positions), ZERO),
        "margin": sum((Decimal(p["margin"]) for p in open_positions), ZERO),
        "min_margin_level": lowest,
        "positions": {key: dict(value) for key, value in carry.positions.items()},
        "last_trade_at": carry.last_trade_at,
        "updated_at": datetime.now(UTC),
    }


def rebuild_days(session: Session, bot_id: int, start: date, end: date) -> int:
    """Recompute the bot's rows for ``start``..``end`` (earlier when a gap needs it); rows written.

    Two queries cover the whole range (sums per day, last fill per day and pair); the rows are
    replaced inside a savepoint, so a concurrent rebuild of the same days is harmless.
    """
    based = _base(session, bot_id, start)
    if based is None:
        return 0
    start, carry = based
    if end < start:
        return 0
    lo, hi = day_start(start), day_start(end + DAY)
    sums = _day_aggregates(session, bot_id, lo, hi)
    fills = _last_fills(session, bot_id, lo, hi)
    rows = []
    day = start
    while day <= end:
        rows.append(_day_row(bot_id, day, sums.get(day), fills.get(day, []), carry))
        day += DAY
    try:
        with session.begin_nested():
            session.execute(
                delete(BotDailyStat).where(
                    BotDailyStat.bot_id == bot_id,
                    BotDailyStat.day >= start,
                    BotDailyStat.day <= end,
                )
            )
            session.execute(insert(BotDailyStat), rows)
    except IntegrityError:
        return 0  # another request rebuilt the same days at the same moment
    return len(rows)


def refresh_daily_stats(session: Session, bot_id: int, day: date) -> int:
    """Recompute ``day`` and every later row of the bot (the runner's hook); rows written."""
    last = session.scalar(select(func.max(BotDailyStat.day)).where(BotDailyStat.bot_id == bot_id))
    end = max(day, as_day(last)) if last is not None else day
    return rebuild_days(session, bot_id, day, end)


def rebuild_bot_stats(session: Session, bot_id: int, today: date) -> int:
    """Throw the bot's rows away and rebuild them from its first trade through ``today``."""
    session.execute(delete(BotDailyStat).where(BotDailyStat.bot_id == bot_id))
    first = session.scalar(select(func.min(Trade.time)).where(Trade.bot_id == bot_id))
    if first is None:
        return 0
    last = session.scalar(select(func.max(Trade.time)).where(Trade.bot_id == bot_id))
    end = max(today, last.astimezone(UTC).date())
    return rebuild_days(session, bot_id, first.astimezone(UTC).date(), end)


def ensure_fresh(session: Session, user, today: date, bot_id: int | None = None) -> int:
    """Bring the user's rows (or one bot's) up to the newest trade and to ``today``; rows written.

    One query finds, per bot, the newest trade and what the rows have counted; only bots behind
    are rebuilt, from the first day that can have changed.
    """
    newest_trade = select(func.max(Trade.time)).where(Trade.bot_id == Bot.id).scalar_subquery()
    last_day = (
        select(func.max(BotDailyStat.day)).where(BotDailyStat.bot_id == Bot.id).scalar_subquery()
    )
    counted = (
        select(BotDailyStat.last_trade_at)
        .where(BotDailyStat.bot_id == Bot.id)
        .order_by(BotDailyStat.day.desc())
        .limit(1)
        .scalar_subquery()
    )
    query = select(Bot.id, newest_trade, last_day, counted).where(Bot.user_id == user_id_of(user))
    if bot_id is not None:
        query = query.where(Bot.id == bot_id)
    written = 0
    for bid, newest, last, seen in session.execute(query).all():
        if newest is None:
            continue
        newest_day = newest.astimezone(UTC).date()
        end = max(today, newest_day)
        if last is None:
            written += rebuild_days(session, bid, newest_day, end)  # starts at the first trade
        elif seen is None or newest > seen:
            since = seen.astimezone(UTC).date() if seen is not None else as_day(last)
            written += rebuild_days(session, bid, since, end)
        elif as_day(last) < end:
            written += rebuild_days(session, bid, as_day(last) + DAY, end)
    return written
