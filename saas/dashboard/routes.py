"""The dashboard pages and their JSON: overview, a bot's charts, trades, analytics, ladders.

Views are thin: owner-scoped lookups (another user's id is a 404), then the figures of
saas.dashboard.panels / figures and saas.services.insights.trade_history. Charts load their data
from the JSON endpoints; every number on a page is rendered by the server too.
"""

from __future__ import annotations

import os

from flask import Response, current_app, render_template, request
from flask_login import current_user

from saas.dashboard import bp, figures, panels
from saas.dashboard.assets import plotly_style_guards, plotly_version
from saas.dashboard.common import fresh, now, owned_bot, owned_pair, private_json
from saas.dashboard.ladder import build_ladder, ladder_json
from saas.extensions import db
from saas.services.bots.exchange_checks import client_settings
from saas.services.insights import trade_history
from saas.services.insights.trade_history import FilterError, TradeFilter

RECENT_TRADES = 20
BOT_TRADES = 25
POLL_SECONDS = 15


@bp.app_context_processor
def dashboard_helpers():
    """``dashboard_panel(bot)`` for templates/dashboard/_bot_panel.html, and plotly's version."""

    def dashboard_panel(bot):
        return panels.bot_panel(db.session, current_user, bot)

    return {
        "dashboard_panel": dashboard_panel,
        "plotly_version": plotly_version(),
        "plotly_style_guards": plotly_style_guards(),
        "dashboard_poll_seconds": current_app.config.get("DASHBOARD_POLL_SECONDS", POLL_SECONDS),
    }


@bp.route("/")
def index():
    """The overview: equity, PnL, win rate, open positions, bots, last trades, alerts."""
    fresh()
    today = now().date()
    data = panels.overview(db.session, current_user, today)
    counts = [(day.day, day.trades) for day in data.days]
    recent = trade_history.recent_trades(db.session, current_user, RECENT_TRADES, counts=counts)
    return render_template("dashboard/index.html", overview=data, recent=recent)


@bp.route("/overview.json")
def overview_data():
    """The overview's chart series (equity, daily PnL, drawdown) and totals."""
    fresh()
    days = figures.daily_figures(db.session, current_user)
    overall = figures.totals(days)
    return private_json(
        {
            **panels.days_json(days),
            "totals": {
                "trades": overall.trades,
                "closes": overall.closes,
                "wins": overall.wins,
                "realised": str(overall.realised),
                "fees": str(overall.fees),
                "net": str(overall.net),
                "win_rate": None if overall.win_rate is None else str(overall.win_rate),
            },
            "generated_at": panels.iso_now(),
        }
    )


@bp.route("/bots/<int:bot_id>")
def bot(bot_id: int):
    """A bot's dashboard: status and controls, metrics, charts, trades, runs and log."""
    found = owned_bot(bot_id)
    fresh(found.id)
    panel = panels.bot_panel(db.session, current_user, found)
    runs, logs = panels.run_log(db.session, current_user, found.id)
    trades = trade_history.recent_trades(db.session, current_user, BOT_TRADES, found.id)
    return render_template(
        "dashboard/bot.html", bot=found, panel=panel, runs=runs, logs=logs, trades=trades
    )


@bp.route("/bots/<int:bot_id>/drift")
def bot_drift(bot_id: int):
    """The bot's last week against the backtester's replay of it, divergence by divergence."""
    from clients.errors import ExchangeError  # noqa: PLC0415 - numpy and clients on use
    from saas.services.insights.drift import drift_market, drift_report  # noqa: PLC0415

    found = owned_bot(bot_id)
    env = client_settings(os.environ, current_app.config)
    try:
        report = drift_report(
            db.session, current_user, found.id, drift_market(found, env), now=now()
        )
    except ExchangeError as exc:
        return render_template("dashboard/drift.html", bot=found, report=None, error=str(exc))
    names = {str(p.id): f"{p.symbol} {p.side}" for p in found.pairs}
    return render_template(
        "dashboard/drift.html", bot=found, report=report, error=None, pair_names=names
    )


@bp.route("/bots/<int:bot_id>/status.json")
def bot_status(bot_id: int):
    """The bot's status, last and next run and each pair's last conclusion (polled)."""
    found = owned_bot(bot_id)
    run = panels.last_run(db.session, current_user, found.id)
    return private_json({**panels.status_json(found, run), "checked_at": panels.iso_now()})


@bp.route("/bots/<int:bot_id>/charts.json")
def bot_charts(bot_id: int):
    """The bot's daily equity, PnL and drawdown, and per-fill position margin and level."""
    found = owned_bot(bot_id)
    fresh(found.id)
    days = figures.daily_figures(db.session, current_user, found.id)
    fills = figures.fill_series(db.session, current_user, found.id)
    return private_json({**panels.days_json(days), "margin": panels.margin_json(fills)})


def _trade_filter():
    """The request's trade filter and an error message (a bad value shows all trades)."""
    try:
        return trade_history.parse_filter(db.session, current_user, request.args), None
    except FilterError as exc:
        return TradeFilter(), str(exc)


@bp.route("/trades")
def trades():
    """Trade history: filters, server-side pages, a CSV export of the filtered set."""
    chosen, error = _trade_filter()
    fresh(chosen.bot_id)
    page = trade_history.trade_page(db.session, current_user, chosen)
    bots = panels.bot_choices(db.session, current_user)
    return render_template(
        "dashboard/trades.html", page=page, bots=bots, error=error, chosen=chosen
    ), (400 if error else 200)


@bp.route("/trades.csv")
def trades_csv():
    """The filtered trades as CSV, streamed (oldest first)."""
    chosen, error = _trade_filter()
    if error:
        return Response(error + "\n", status=400, mimetype="text/plain")
    rows = trade_history.csv_rows(db.engine, current_user.id, chosen)
    name = trade_history.csv_filename(chosen, now().date())
    return Response(
        rows,
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )


def _analytics_bot():
    """The bot the analytics are limited to (?bot=<id>, owner-scoped), or None."""
    raw = (request.args.get("bot") or "").strip()
    return owned_bot(raw) if raw else None


@bp.route("/analytics")
def analytics():
    """Per-bot and per-symbol breakdowns, drawdown, daily PnL and open-position ladders."""
    only = _analytics_bot()
    fresh(only.id if only else None)
    bot_id = only.id if only else None
    return render_template(
        "dashboard/analytics.html",
        only=only,
        bots=panels.bot_choices(db.session, current_user),
        by_bot=figures.bot_breakdown(db.session, current_user),
        by_symbol=figures.symbol_breakdown(db.session, current_user, bot_id),
        positions=figures.open_positions(db.session, current_user, bot_id),
        totals=figures.totals(figures.daily_figures(db.session, current_user, bot_id)),
    )


@bp.route("/analytics.json")
def analytics_data():
    """Drawdown, daily PnL and equity of all bots or of ?bot=<id>, and per-symbol figures."""
    only = _analytics_bot()
    bot_id = only.id if only else None
    fresh(bot_id)
    days = figures.daily_figures(db.session, current_user, bot_id)
    symbols = figures.symbol_breakdown(db.session, current_user, bot_id)
    return private_json(
        {
            **panels.days_json(days),
            "symbols": [
                {"label": b.label, "net": float(b.totals.net), "trades": b.totals.trades}
                for b in symbols
            ],
        }
    )


@bp.route("/pairs/<int:pair_id>/ladder")
def ladder(pair_id: int):
    """An open position's fills, average entry, next add and estimated liquidation."""
    pair = owned_pair(pair_id)
    return render_template(
        "dashboard/ladder.html", pair=pair, ladder=build_ladder(db.session, current_user, pair)
    )


@bp.route("/pairs/<int:pair_id>/ladder.json")
def ladder_data(pair_id: int):
    """The ladder as chart data."""
    pair = owned_pair(pair_id)
    return private_json(ladder_json(build_ladder(db.session, current_user, pair)))
