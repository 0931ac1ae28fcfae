"""The pieces pages are made of: a bot's status panel, the overview's cards and alerts, charts.

Request-free: each function takes the session and the user, so tests and the benchmark call
them directly, and the JSON endpoints and the pages show the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, lazyload, selectinload

from saas.dashboard import figures
from saas.dashboard.figures import DayFigures, OpenPosition, Totals
from saas.models import BOT_ERROR, Bot, BotLog, BotRun
from saas.models.scoping import user_id_of

FAILED_OUTCOMES = ("error", "auth_error")
MARGIN_WARNING = "margin_warning"
RECENT_RUNS = 20
RECENT_LOGS = 50


@dataclass(frozen=True)
class PairLine:
    """A pair and the conclusion of its last run."""

    pair: object
    conclusion: str | None


@dataclass(frozen=True)
class BotPanel:
    """Everything the bot's status panel shows."""

    bot: Bot
    pairs: list[PairLine]
    last_run: BotRun | None
    totals: Totals
    max_drawdown: Decimal
    positions: list[OpenPosition]

    @property
    def failed(self) -> bool:
        """Whether the bot is in error or its last run failed."""
        return self.bot.status == BOT_ERROR or self.bot.last_outcome in FAILED_OUTCOMES


def last_run(session: Session, user, bot_id: int) -> BotRun | None:
    """The bot's newest run."""
    return session.scalars(
        BotRun.owned_by(user)
        .where(BotRun.bot_id == bot_id)
        .order_by(BotRun.started_at.desc(), BotRun.id.desc())
        .limit(1)
    ).first()


def pair_lines(bot: Bot, run: BotRun | None) -> list[PairLine]:
    """Each pair with what its last run concluded (runs key conclusions by pair id)."""
    conclusions = (run.conclusions or {}) if run is not None else {}
    return [PairLine(pair, conclusions.get(str(pair.id))) for pair in bot.pairs]


def bot_panel(session: Session, user, bot: Bot) -> BotPanel:
    """The panel of a bot the caller already found owner-scoped (rows already fresh)."""
    days = figures.daily_figures(session, user, bot.id)
    run = last_run(session, user, bot.id)
    return BotPanel(
        bot=bot,
        pairs=pair_lines(bot, run),
        last_run=run,
        totals=figures.totals(days),
        max_drawdown=figures.max_drawdown(days),
        positions=figures.open_positions(session, user, bot.id),
    )


def status_json(bot: Bot, run: BotRun | None) -> dict:
    """What the status area polls for."""
    conclusions = (run.conclusions or {}) if run is not None else {}

    def iso(value):
        return None if value is None else value.astimezone(UTC).isoformat()

    return {
        "id": bot.id,
        "status": bot.status,
        "last_run_at": iso(bot.last_run_at),
        "next_run_at": iso(bot.next_run_at),
        "last_outcome": bot.last_outcome,
        "last_error": bot.last_error,
        "conclusions": {str(pair.id): conclusions.get(str(pair.id)) for pair in bot.pairs},
    }


def run_log(session: Session, user, bot_id: int) -> tuple[list[BotRun], list[BotLog]]:
    """The bot's newest runs and log lines."""
    runs = session.scalars(
        BotRun.owned_by(user)
        .where(BotRun.bot_id == bot_id)
        .order_by(BotRun.started_at.desc(), BotRun.id.desc())
        .limit(RECENT_RUNS)
    ).all()
    logs = session.scalars(
        BotLog.owned_by(user)
        .where(BotLog.bot_id == bot_id)
        .order_by(BotLog.created_at.desc(), BotLog.id.desc())
        .limit(RECENT_LOGS)
    ).all()
    return list(runs), list(logs)


# -- overview ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Alert:
    """Something the owner should look at, with the bot it is about."""

    level: str  # danger or warning
    bot: Bot
    text: str


@dataclass
class Overview:
    """The overview page's figures."""

    days: list[DayFigures]
    today: date
    bots: list[Bot]
    positions: list[OpenPosition]
    alerts: list[Alert] = field(default_factory=list)

    @property
    def totals(self) -> Totals:
        """All-time sums."""
        return figures.totals(self.days)

    @property
    def today_totals(self) -> Totals:
        """Today's sums (UTC)."""
        return figures.totals(self.days, since=self.today)

    @property
    def equity(self) -> Decimal | None:
        """Today's equity across bots."""
        return self.days[-1].equity if self.days else None

    def count(self, status: str) -> int:
        """How many bots have this status."""
        return sum(1 for bot in self.bots if bot.status == status)


def user_bots(session: Session, user) -> list[Bot]:
    """The user's bots with their pairs, by name."""
    return list(
        session.scalars(
            select(Bot)
            .where(Bot.user_id == user_id_of(user))
            .options(selectinload(Bot.pairs), lazyload(Bot.user))
            .order_by(Bot.name)
        )
    )


def bot_choices(session: Session, user) -> list:
    """(id, name) of the user's bots, by name, for filter menus."""
    return session.execute(
        select(Bot.id, Bot.name).where(Bot.user_id == user_id_of(user)).order_by(Bot.name)
    ).all()


def alerts_for(bots: list[Bot], positions: list[OpenPosition]) -> list[Alert]:
    """Bots in error, failed last runs, and margin warnings (fills and last runs)."""
    found = []
    for bot in bots:
        if bot.status == BOT_ERROR:
            found.append(Alert("danger", bot, f"in error: {bot.last_error or 'see its log'}"))
        elif bot.last_outcome in FAILED_OUTCOMES:
            reason = bot.last_error or bot.last_outcome
            found.append(Alert("danger", bot, f"last run failed: {reason}"))
    warned = set()
    for position in positions:
        if position.risk == "danger":
            warned.add((position.bot_id, position.symbol, position.side))
            found.append(
                Alert(
                    "warning",
                    next(b for b in bots if b.id == position.bot_id),
                    f"margin level {position.margin_level} on {position.symbol} {position.side} "
                    "(under 1.5)",
                )
            )
    for bot in bots:
        for pair in bot.pairs:
            if MARGIN_WARNING in (pair.alert_keys or []) and (
                (bot.id, pair.symbol, pair.side) not in warned
            ):
                found.append(
                    Alert(
                        "warning",
                        bot,
                        f"margin warning on {pair.symbol} {pair.side} at its last run",
                    )
                )
    return found


def overview(session: Session, user, today: date) -> Overview:
    """The overview's figures (rows already fresh)."""
    bots = user_bots(session, user)
    positions = figures.open_positions(session, user)
    return Overview(
        days=figures.daily_figures(session, user),
        today=today,
        bots=bots,
        positions=positions,
        alerts=alerts_for(bots, positions),
    )


# -- chart data --------------------------------------------------------------------------------


def _f(value) -> float | None:
    return None if value is None else float(value)


def days_json(days: list[DayFigures]) -> dict:
    """Daily equity, balance, net PnL and drawdown as chart series."""
    with_equity = [d for d in days if d.equity is not None]
    curve = figures.drawdown(days)
    return {
        "equity": {
            "x": [d.day.isoformat() for d in with_equity],
            "equity": [_f(d.equity) for d in with_equity],
            "balance": [_f(d.balance) for d in with_equity],
        },
        "daily_pnl": {
            "x": [d.day.isoformat() for d in days if d.trades],
            "net": [_f(d.net) for d in days if d.trades],
        },
        "drawdown": {"x": [d.isoformat() for d, _ in curve], "pct": [_f(v) for _, v in curve]},
    }


def margin_json(fills: list) -> dict:
    """Per pair: position margin and margin level after each fill."""
    series: dict[str, dict] = {}
    for time, symbol, side, margin, level, size in fills:
        line = series.setdefault(f"{symbol} {side}", {"x": [], "margin": [], "level": []})
        line["x"].append(time.astimezone(UTC).isoformat())
        line["margin"].append(_f(margin) if size else 0.0)
        line["level"].append(_f(level) if size else None)
    return series


def iso_now() -> str:
    """Now in ISO 8601 UTC (when a JSON answer was made)."""
    return datetime.now(UTC).isoformat()
