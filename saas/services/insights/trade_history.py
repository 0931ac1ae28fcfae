"""Trade history: owner-scoped filters, server-side pages and a CSV export streamed in batches.

A page is found without sorting all of a user's trades: the daily rows tell from which day on
there are enough trades to fill it, the query reads only those days through the (bot_id, time)
index, and falls back to the whole history when the filters leave too few. The export streams
rows through a server-side cursor (``yield_per``), so a million rows never sit in memory.
"""

from __future__ import annotations

import base64
import csv
import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Text, and_, cast, func, or_, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from werkzeug.exceptions import NotFound

from saas.inputs import InputError, page_number
from saas.models import Bot, BotDailyStat, Trade
from saas.models.scoping import user_id_of
from saas.models.trading import ACTIONS, SIDES
from saas.services.insights.stats import as_day, day_start

PER_PAGE = 50
MAX_PAGE = 10_000
STREAM_BATCH = 2000
CSV_COLUMNS = (
    "time",
    "bot",
    "symbol",
    "side",
    "action",
    "qty",
    "price",
    "fee",
    "realised_pnl",
    "pnl_percentage",
    "position_size",
    "position_value",
    "margin_level",
    "balance_after",
    "client_order_id",
)
# Spreadsheet programs run cells that start with these; user-chosen text gets a quote first.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class FilterError(ValueError):
    """A filter value that cannot be used; the message names the field."""


@dataclass(frozen=True)
class TradeFilter:
    """What the history shows: every field optional, dates inclusive (UTC days)."""

    bot_id: int | None = None
    symbol: str | None = None
    side: str | None = None
    action: str | None = None
    start: date | None = None
    end: date | None = None
    page: int = 1
    per_page: int = PER_PAGE

    def query_args(self, **changes) -> dict:
        """The filter as URL query arguments (page included unless 1)."""
        values = replace(self, **changes)
        args = {
            "bot": values.bot_id,
            "symbol": values.symbol,
            "side": values.side,
            "action": values.action,
            "start": values.start.isoformat() if values.start else None,
            "end": values.end.isoformat() if values.end else None,
            "page": values.page if values.page != 1 else None,
        }
        return {key: value for key, value in args.items() if value not in (None, "")}

    @property
    def narrows_rows(self) -> bool:
        """Whether a filter beyond bot and dates applies (the daily counts no longer fit)."""
        return bool(self.symbol or self.side or self.action)


def _day(text: str, name: str) -> date | None:
    """A YYYY-MM-DD value, or None when blank."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise FilterError(f"{name} must be a date like 2026-03-01, got {text!r}") from None


def _choice(text: str, choices: tuple[str, ...], name: str) -> str | None:
    """One of ``choices`` (any case), or None when blank."""
    text = (text or "").strip()
    if not text:
        return None
    for choice in choices:
        if choice.lower() == text.lower():
            return choice
    raise FilterError(f"{name} must be one of {', '.join(choices)}, got {text!r}")


def _whole(text: str, name: str, default: int, low: int, high: int) -> int:
    """A whole number in [low, high], or the default when blank."""
    try:
        number = page_number(text, default, high, name)
    except InputError as exc:
        raise FilterError(str(exc)) from None
    if number < low:
        raise FilterError(f"{name} must be a whole number from {low} to {high}, got {text!r}")
    return number


def parse_filter(session: Session, user, args: Mapping[str, str]) -> TradeFilter:
    """The filter of a request's query arguments; another user's bot is a 404, not a filter."""
    bot_id = None
    if (args.get("bot") or "").strip():
        bot = Bot.get_owned(args["bot"], user, session)
        if bot is None:
            raise NotFound()
        bot_id = bot.id
    symbol = (args.get("symbol") or "").strip().upper() or None
    if symbol is not None and (not symbol.isalnum() or len(symbol) > 32):
        raise FilterError(f"symbol must be letters and digits, got {symbol!r}")
    start, end = _day(args.get("start", ""), "start"), _day(args.get("end", ""), "end")
    if start and end and end < start:
        raise FilterError("end must not be before start")
    return TradeFilter(
        bot_id=bot_id,
        symbol=symbol,
        side=_choice(args.get("side", ""), SIDES, "side"),
        action=_choice(args.get("action", ""), ACTIONS, "action"),
        start=start,
        end=end,
        page=_whole(args.get("page", ""), "page", 1, 1, MAX_PAGE),
    )


def _filtered(query, user, f: TradeFilter, since: datetime | None = None):
    """Apply the owner and the filter to a query over trades joined to bots."""
    query = query.where(Bot.user_id == user_id_of(user))
    if f.bot_id is not None:
        query = query.where(Trade.bot_id == f.bot_id)
    if f.symbol:
        query = query.where(Trade.symbol == f.symbol)
    if f.side:
        query = query.where(Trade.side == f.side)
    if f.action:
        query = query.where(Trade.action == f.action)
    lower = max(filter(None, (since, day_start(f.start) if f.start else None)), default=None)
    if lower is not None:
        query = query.where(Trade.time >= lower)
    if f.end:
        query = query.where(Trade.time < day_start(f.end + timedelta(days=1)))
    return query


def _recent_cutoff(
    session: Session,
    user,
    f: TradeFilter,
    needed: int,
    counts: list[tuple[date, int]] | None = None,
) -> datetime | None:
    """The start of the newest day from which the daily counts reach ``needed`` trades.

    ``counts`` ((day, trades) of the same bots, any order) saves the query when the caller
    already has them.
    """
    if counts is not None:
        seen = 0
        for day, count in sorted(counts, reverse=True):
            if f.end is not None and day > f.end:
                continue
            seen += count
            if seen >= needed:
                return day_start(day)
        return None
    s = BotDailyStat
    query = (
        select(s.day, func.sum(s.trades))
        .join(Bot, Bot.id == s.bot_id)
        .where(Bot.user_id == user_id_of(user), s.trades > 0)
        .group_by(s.day)
        .order_by(s.day.desc())
    )
    if f.bot_id is not None:
        query = query.where(s.bot_id == f.bot_id)
    if f.end:
        query = query.where(s.day <= f.end)
    seen = 0
    for day, count in session.execute(query):
        seen += int(count)
        if seen >= needed:
            return day_start(as_day(day))
    return None


@dataclass(frozen=True)
class TradePage:
    """One page of trades (newest first) and whether older ones follow."""

    rows: list
    filter: TradeFilter
    has_next: bool

    @property
    def has_previous(self) -> bool:
        """Whether newer trades come before this page."""
        return self.filter.page > 1


def trade_page(
    session: Session, user, f: TradeFilter, counts: list[tuple[date, int]] | None = None
) -> TradePage:
    """The filter's page: rows of (Trade, bot name), newest first.

    ``counts``: the daily trade counts of the filter's bots when the caller has them.
    """
    offset = (f.page - 1) * f.per_page
    needed = offset + f.per_page + 1
    base = select(Trade, Bot.name).join(Bot, Bot.id == Trade.bot_id)
    since = None if f.narrows_rows else _recent_cutoff(session, user, f, needed, counts)
    while True:
        query = (
            _filtered(base, user, f, since)
            .order_by(Trade.time.desc(), Trade.id.desc())
            .offset(offset)
            .limit(f.per_page + 1)
        )
        rows = session.execute(query).all()
        # The daily counts can lag behind new trades: a short page re-reads the whole history.
        if since is None or len(rows) > f.per_page:
            break
        since = None
    return TradePage(rows[: f.per_page], f, len(rows) > f.per_page)


def recent_trades(
    session: Session,
    user,
    limit: int = 20,
    bot_id: int | None = None,
    counts: list[tuple[date, int]] | None = None,
) -> list:
    """The newest ``limit`` trades of the user (or of one bot), with bot names."""
    return trade_page(session, user, TradeFilter(bot_id=bot_id, per_page=limit), counts).rows


# -- cursor pages (the API) ---------------------------------------------------------------------


MAX_CURSOR_LIMIT = 500


@dataclass(frozen=True)
class TradeSlice:
    """Trades after a cursor (newest first) and the cursor of the next slice, if any."""

    rows: list
    next_cursor: str | None


def encode_cursor(trade: Trade) -> str:
    """An opaque cursor that resumes after ``trade`` in (time, id) descending order."""
    raw = f"{trade.time.astimezone(UTC).isoformat()}|{trade.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    """The (time, id) of a cursor; FilterError when it is not one of ours."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        when, _, trade_id = base64.urlsafe_b64decode(padded.encode()).decode().partition("|")
        moment = datetime.fromisoformat(when)
        if moment.tzinfo is None:
            raise ValueError(cursor)
        return moment.astimezone(UTC), int(trade_id)
    except (ValueError, UnicodeError):
        raise FilterError("cursor is not a cursor this API gave out") from None


def trade_slice(
    session: Session, user, f: TradeFilter, cursor: str | None, limit: int
) -> TradeSlice:
    """Up to ``limit`` trades of the filter older than ``cursor`` (keyset: no OFFSET scans)."""
    limit = max(1, min(int(limit), MAX_CURSOR_LIMIT))
    query = _filtered(select(Trade, Bot.name).join(Bot, Bot.id == Trade.bot_id), user, f)
    if cursor:
        moment, trade_id = decode_cursor(cursor)
        query = query.where(
            or_(Trade.time < moment, and_(Trade.time == moment, Trade.id < trade_id))
        )
    rows = session.execute(
        query.order_by(Trade.time.desc(), Trade.id.desc()).limit(limit + 1)
    ).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return TradeSlice(rows, encode_cursor(rows[-1][0]) if more else None)


# -- CSV ---------------------------------------------------------------------------------------


def _text_columns(dialect: str) -> list:
    """The export's columns as text made by the database (money without trailing zeros)."""

    def money(column):
        if dialect == "postgresql":
            return cast(func.trim_scale(column), Text)
        return cast(column, Text)

    if dialect == "postgresql":
        when = func.to_char(func.timezone("UTC", Trade.time), 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
    else:
        when = Trade.time
    return [
        when,
        Bot.name,
        Trade.symbol,
        Trade.side,
        Trade.action,
        money(Trade.qty),
        money(Trade.price),
        money(Trade.fee),
        money(Trade.pnl),
        money(Trade.pnl_percentage),
        money(Trade.position_size),
        money(Trade.position_value),
        money(Trade.margin_level),
        money(Trade.balance_after),
        Trade.client_order_id,
    ]


def _safe_cell(value) -> str:
    """A text cell a spreadsheet shows as text (a leading formula character is quoted)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _when(value) -> str:
    """ISO 8601 UTC with microseconds, as PostgreSQL's to_char writes it."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return str(value)


def csv_rows(engine: Engine, user_id: int, f: TradeFilter) -> Iterator[str]:
    """The filtered trades as CSV text, oldest first, streamed from a server-side cursor.

    Opens its own connection (the response outlives the request's session) and keeps one
    batch of rows in memory at a time.
    """
    columns = _text_columns(engine.dialect.name)
    query = _filtered(select(*columns).join(Bot, Bot.id == Trade.bot_id), user_id, f).order_by(
        Trade.time, Trade.id
    )
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    yield buffer.getvalue()
    with engine.connect() as connection:
        result = connection.execution_options(stream_results=True, yield_per=STREAM_BATCH).execute(
            query
        )
        for batch in result.partitions():
            buffer.seek(0)
            buffer.truncate()
            for row in batch:
                cells = list(row)
                cells[0] = _when(cells[0])
                cells[1] = _safe_cell(cells[1])
                cells[-1] = _safe_cell(cells[-1])
                writer.writerow(cells)
            yield buffer.getvalue()


def csv_filename(f: TradeFilter, today: date) -> str:
    """trades-<bot>-<symbol>-<date>.csv, naming what the export holds."""
    parts = ["trades"]
    if f.bot_id is not None:
        parts.append(f"bot{f.bot_id}")
    if f.symbol:
        parts.append(f.symbol)
    parts.append(today.isoformat())
    return "-".join(parts) + ".csv"
