"""What every dashboard view shares: the login gate, the clock, owner-scoped lookups, filters."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from flask import current_app, jsonify, request
from flask_login import current_user
from markupsafe import Markup, escape

from saas.dashboard import bp
from saas.extensions import db
from saas.models import Bot, TradingPair
from saas.services.insights import stats

# Endpoints anyone may fetch: plotly's files hold no account data and are cached by browsers.
PUBLIC_ENDPOINTS = frozenset({"dashboard.plotly_js", "dashboard.plotly_stylesheet"})


@bp.before_request
def require_login():
    """Every dashboard page and JSON endpoint is for a logged-in user (404s are per object)."""
    if request.endpoint in PUBLIC_ENDPOINTS or current_user.is_authenticated:
        return None
    return current_app.login_manager.unauthorized()


def now() -> datetime:
    """The request's time (services and figures take it as an argument)."""
    return datetime.now(UTC)


def fresh(bot_id: int | None = None) -> None:
    """Bring the user's daily rows (or one bot's) up to date before reading them."""
    if stats.ensure_fresh(db.session, current_user, now().date(), bot_id=bot_id):
        db.session.commit()


def owned_bot(bot_id) -> Bot:
    """The user's bot, else 404."""
    return Bot.get_owned_or_404(bot_id, current_user, db.session)


def owned_pair(pair_id) -> TradingPair:
    """The user's trading pair, else 404."""
    return TradingPair.get_owned_or_404(pair_id, current_user, db.session)


def private_json(payload: dict):
    """A JSON response of account data: never cached by the browser or a proxy."""
    response = jsonify(payload)
    response.headers["Cache-Control"] = "no-store"
    return response


def number(value) -> float | None:
    """A Decimal as a float for charts (never for money that reaches an order)."""
    return None if value is None else float(value)


@bp.app_template_filter("dash_money")
def money(value, places: int = 2) -> str:
    """1234.5 -> "1,234.50"; None -> "—"."""
    if value is None:
        return "\u2014"
    return f"{Decimal(value):,.{places}f}"


@bp.app_template_filter("dash_signed")
def signed(value, places: int = 2) -> str:
    """A PnL with its sign: "+12.30", "-4.00"."""
    if value is None:
        return "\u2014"
    return f"{Decimal(value):+,.{places}f}"


@bp.app_template_filter("dash_pct")
def pct(value, places: int = 1) -> str:
    """A percentage: 12.345 -> "12.3 %"; None -> "—"."""
    if value is None:
        return "\u2014"
    return f"{Decimal(value):,.{places}f} %"


@bp.app_template_filter("dash_qty")
def qty(value) -> str:
    """A quantity or price exactly as stored, without trailing zeros."""
    if value is None:
        return "\u2014"
    text = format(Decimal(value).normalize(), "f")
    return text


@bp.app_template_filter("dash_when")
def when(value) -> str:
    """A UTC time as "2026-03-02 12:00 UTC"; None -> "—"."""
    if value is None:
        return "\u2014"
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%d %H:%M UTC")


# Per-row helpers are filters, not macros: a page of trades calls them hundreds of times and a
# Jinja macro call costs several times a Python call.
RISK_TITLES = {
    "danger": "under 1.5: close to liquidation",
    "warning": "under 2: the bot adds to defend it",
    "ok": "healthy",
    "unknown": "not reported",
}


@bp.app_template_filter("dash_time")
def time_tag(value) -> Markup:
    """A <time> element showing "2026-03-02 12:00 UTC"; "—" for None."""
    if value is None:
        return Markup("\u2014")
    # Only a date and digits go in: nothing to escape.
    return Markup(f'<time datetime="{value.isoformat()}">{when(value)}</time>')  # noqa: S704


@bp.app_template_filter("dash_pnl")
def pnl_tag(value, places: int = 2) -> Markup:
    """A signed PnL coloured by its sign."""
    if value is None:
        return Markup("\u2014")
    css = "dash-gain" if value > 0 else ("dash-loss" if value < 0 else "")
    return Markup('<span class="{}">{}</span>').format(css, signed(value, places))


@bp.app_template_filter("dash_level")
def level_tag(value, risk: str) -> Markup:
    """A margin level coloured by its risk class."""
    shown = qty(value) if value is not None else "\u2014"
    return Markup('<span class="dash-risk dash-risk-{}" title="{}">{}</span>').format(
        risk, RISK_TITLES.get(risk, ""), escape(shown)
    )
