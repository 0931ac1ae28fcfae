"""Dashboards: overview, bot charts, trade history, analytics, position ladders, backtests."""

from flask import Blueprint

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")

from saas.dashboard import assets, backtest_routes, common, routes  # noqa: E402, F401 - views
