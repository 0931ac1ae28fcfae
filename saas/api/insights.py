"""What a bot did, over the API: positions, open orders, trades in cursor pages, stats."""

from __future__ import annotations

from datetime import date

from flask import jsonify, request

from saas.api import schemas
from saas.api.auth import api_user, client_ip
from saas.api.common import integer, invalid, json_body, now, string
from saas.api.problems import ApiProblem
from saas.api.registry import api_route
from saas.api.schemas import BACKTEST_BODY, STRING, list_of, obj, ref
from saas.dashboard import figures
from saas.dashboard.backtest_routes import backtest_queue, backtest_settings
from saas.extensions import db
from saas.inputs import is_ascii_digits
from saas.models import Backtest, Order
from saas.services.bots.edit import owned_bot
from saas.services.insights import backtests as backtest_service
from saas.services.insights import stats, trade_history
from saas.services.insights.backtests import BacktestRequest

OPEN_ORDER_STATUSES = ("pending", "open", "unknown")
TRADE_QUERY = (
    ("bot_id", {"type": "integer"}, "Only this bot's trades."),
    ("symbol", {"type": "string"}, "Only this symbol, e.g. BTCUSDT."),
    ("side", {"type": "string", "enum": ["Long", "Short"]}, "Only this side."),
    ("action", {"type": "string", "enum": ["OPEN", "ADD", "REDUCE", "CLOSE"]}, "Only this."),
    ("start", {"type": "string", "format": "date"}, "From this UTC day (inclusive)."),
    ("end", {"type": "string", "format": "date"}, "To this UTC day (inclusive)."),
    ("cursor", {"type": "string"}, "The next_cursor of the previous page."),
    ("limit", {"type": "integer", "minimum": 1, "maximum": 500}, "Trades per page (100)."),
)


@api_route(
    "/bots/<int:bot_id>/positions",
    "GET",
    summary="Open positions of a bot",
    scope="read",
    tag="activity",
    response=list_of("Position"),
)
def list_positions(bot_id: int):
    """Positions open after each pair's last fill, riskiest first (as on the dashboard)."""
    bot = owned_bot(db.session, api_user(), bot_id)
    if stats.ensure_fresh(db.session, api_user(), now().date(), bot_id=bot.id):
        db.session.commit()
    positions = figures.open_positions(db.session, api_user(), bot.id)
    return jsonify(items=[schemas.position_json(p) for p in positions])


@api_route(
    "/bots/<int:bot_id>/orders",
    "GET",
    summary="Open orders of a bot",
    scope="read",
    tag="activity",
    response=list_of("Order"),
)
def list_open_orders(bot_id: int):
    """Orders not yet settled: pending, open on the exchange, or unknown after a timeout."""
    bot = owned_bot(db.session, api_user(), bot_id)
    orders = db.session.scalars(
        Order.owned_by(api_user())
        .where(Order.bot_id == bot.id, Order.status.in_(OPEN_ORDER_STATUSES))
        .order_by(Order.created_at, Order.id)
    )
    return jsonify(items=[schemas.order_json(o) for o in orders])


@api_route(
    "/trades",
    "GET",
    summary="Trades, newest first, in cursor pages",
    scope="read",
    tag="activity",
    query=TRADE_QUERY,
    response=list_of("Trade", {"next_cursor": {"type": ["string", "null"]}}),
)
def list_trades():
    """Filter as the trade history page does; follow next_cursor until it is null."""
    args = request.args.to_dict()
    if "bot_id" in args:
        args["bot"] = args.pop("bot_id")
    args.pop("page", None)
    f = trade_history.parse_filter(db.session, api_user(), args)
    limit = _whole(args.get("limit"), "limit") or 100
    page = trade_history.trade_slice(db.session, api_user(), f, args.get("cursor"), limit)
    return jsonify(
        items=[schemas.trade_json(t, name) for t, name in page.rows],
        next_cursor=page.next_cursor,
    )


MAX_LIMIT = trade_history.MAX_CURSOR_LIMIT


def _whole(raw: str | None, name: str) -> int | None:
    """A whole number from the query string, or None when absent."""
    if raw is None or raw == "":
        return None
    if not is_ascii_digits(raw) or len(raw) > 6 or not 1 <= int(raw) <= MAX_LIMIT:
        raise invalid(name, f"{name} must be 1 to {MAX_LIMIT}.")
    return int(raw)


@api_route(
    "/bots/<int:bot_id>/stats",
    "GET",
    summary="A bot's figures",
    scope="read",
    tag="activity",
    response=ref("Stats"),
)
def bot_stats(bot_id: int):
    """Trades, wins, realised PnL, fees and drawdown over the bot's whole history."""
    bot = owned_bot(db.session, api_user(), bot_id)
    if stats.ensure_fresh(db.session, api_user(), now().date(), bot_id=bot.id):
        db.session.commit()
    days = figures.daily_figures(db.session, api_user(), bot.id)
    total = figures.totals(days)
    return jsonify(
        trades=total.trades,
        closes=total.closes,
        wins=total.wins,
        losses=total.losses,
        realised_pnl=schemas.text(total.realised),
        fees=schemas.text(total.fees),
        net_pnl=schemas.text(total.net),
        win_rate=schemas.text(total.win_rate),
        max_drawdown_pct=schemas.text(figures.max_drawdown(days)),
    )


# -- backtests ---------------------------------------------------------------------------------


def _day(body: dict, name: str) -> date:
    """A YYYY-MM-DD member."""
    raw = string(body, name, "") or ""
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise invalid(name, f"{name} must be a date like 2026-03-01.") from None


@api_route(
    "/backtests",
    "GET",
    summary="Your backtests, newest first",
    scope="read",
    tag="backtests",
    response=list_of("Backtest"),
)
def list_backtests():
    """The 50 newest backtests of the user."""
    jobs = backtest_service.list_backtests(db.session, api_user())
    return jsonify(items=[schemas.backtest_json(j) for j in jobs])


@api_route(
    "/backtests",
    "POST",
    summary="Submit a backtest",
    scope="trade",
    tag="backtests",
    body=BACKTEST_BODY,
    response=ref("Backtest"),
    status=202,
)
def submit_backtest():
    """Queued like one started on the page; poll it, then read its result."""
    body = json_body()
    params = body.get("params") or {}
    if not isinstance(params, dict):
        raise invalid("params", "params must be an object.")
    req = BacktestRequest(
        symbol=string(body, "symbol", "") or "",
        side=string(body, "side", "") or "",
        start=_day(body, "start"),
        end=_day(body, "end"),
        strategy=string(body, "strategy", "martingale") or "martingale",
        params=params,
        balance=str(body.get("balance", "1000")),
        leverage=str(body.get("leverage", "10")),
        interval_minutes=integer(body, "interval_minutes", 5),
    )
    job = backtest_service.submit_backtest(
        db.session, api_user(), req, now=now(), settings=backtest_settings(), ip=client_ip()
    )
    db.session.commit()
    backtest_queue().wake()
    return jsonify(schemas.backtest_json(job)), 202


def _owned_job(backtest_id: int) -> Backtest:
    """The user's backtest, else 404."""
    return Backtest.get_owned_or_404(backtest_id, api_user(), db.session)


@api_route(
    "/backtests/<int:backtest_id>",
    "GET",
    summary="Poll a backtest",
    scope="read",
    tag="backtests",
    response=ref("Backtest"),
)
def get_backtest(backtest_id: int):
    """Its status and progress (per mille)."""
    return jsonify(schemas.backtest_json(_owned_job(backtest_id)))


@api_route(
    "/backtests/<int:backtest_id>/result",
    "GET",
    summary="A finished backtest's metrics",
    scope="read",
    tag="backtests",
    response=obj({"id": {"type": "integer"}, "metrics": {"type": "object"}, "status": STRING}),
)
def backtest_result(backtest_id: int):
    """The metrics of a done backtest; 409 while it runs, with the reason when it failed."""
    job = _owned_job(backtest_id)
    if job.status == backtest_service.BACKTEST_ERROR:
        raise ApiProblem(409, job.message or "The backtest failed.")
    if job.status != backtest_service.BACKTEST_DONE:
        raise ApiProblem(409, "The backtest has not finished; poll it until its status is done.")
    return jsonify(id=job.id, status=job.status, metrics=job.metrics)
