"""Message texts for chat channels: each event kind rendered as Telegram-flavoured HTML.

Field conventions (see notifications/base.py for which kind carries which field):
``roe`` is a fraction of margin (-0.05 means -5 %); ``pct``, ``usage_pct`` and ``cap_pct`` are
already percentages (3.25 means 3.25 % of the balance); money fields are USDT amounts.
Every interpolated value is HTML-escaped, because symbols, reasons and error messages come from
exchanges and users and Telegram rejects a message whose markup does not parse.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from notifications import base
from notifications.base import Event

MISSING = "-"
# Telegram refuses texts over 4096 characters; one field never gets to use most of that.
MAX_TEXT = 4096
MAX_VALUE = 1000
ACTION_ENTRIES = (
    "new entries paused while margin level &gt;= 2; adds continue only for margin maintenance"
)
ACTION_ADDITIONS = (
    "additions paused while margin level &gt;= 2; adds continue only for margin maintenance"
)

_CENT = Decimal("0.01")
_FINEST = Decimal("1e-10")
_SIDES = {"long": "Long", "buy": "Long", "short": "Short", "sell": "Short"}


def _to_decimal(value: object) -> Decimal | None:
    """The value as a finite Decimal, or None when it is not a number."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, float):
        # six significant digits: floats here are indicator readings, not money
        value = format(value, ".6g")
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def _quantize(number: Decimal, step: Decimal) -> Decimal:
    """Round half up to ``step``; a number too long to round that finely stays as it is."""
    try:
        return number.quantize(step, rounding=ROUND_HALF_UP)
    except InvalidOperation:
        return number


def _plain_decimal(number: Decimal) -> str:
    """A Decimal without exponent or trailing zeros ("1E+2" -> "100", "0.0100" -> "0.01")."""
    if number.as_tuple().exponent < -10:  # type: ignore[operator]
        number = _quantize(number, _FINEST)
    shown = format(number.normalize(), "f")
    return "0" if shown == "-0" else shown


def _clip(text: str) -> str:
    """Cut an over-long value before escaping, so an entity is never split."""
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 1] + "…"


def text(value: object) -> str:
    """Any value as escaped text; numbers print plainly, missing ones as "-"."""
    if value is None or value == "":
        return MISSING
    if isinstance(value, Decimal | float | int) and not isinstance(value, bool):
        number = _to_decimal(value)
        if number is not None:
            return _plain_decimal(number)
    return html.escape(_clip(str(value)))


def number(value: object) -> str:
    """A quantity, price or reading printed plainly; non-numbers fall back to escaped text."""
    parsed = _to_decimal(value)
    return text(value) if parsed is None else _plain_decimal(parsed)


def usdt(value: object) -> str:
    """A USDT amount: cents from 1 up, small amounts keep their precision ("0.0045 USDT")."""
    parsed = _to_decimal(value)
    if parsed is None:
        return text(value)
    cents = _quantize(parsed, _CENT)
    if abs(parsed) >= 1 or cents == parsed:
        shown = format(cents, "f")
    else:
        shown = _plain_decimal(parsed)
    return f"{'0.00' if shown == '-0.00' else shown} USDT"


def percent(value: object, *, scale: int = 1) -> str:
    """A percentage with two decimals; ``scale=100`` turns a fraction into one."""
    parsed = _to_decimal(value)
    if parsed is None:
        return text(value)
    shown = format(_quantize(parsed * scale, _CENT), "f")
    return f"{'0.00' if shown == '-0.00' else shown}%"


def roe(value: object) -> str:
    """A return on margin given as a fraction, shown as a percentage (-0.05 -> "-5.00%")."""
    return percent(value, scale=100)


def side(value: object) -> str:
    """The position side as Long/Short, also when an order side (Buy/Sell) was passed."""
    if isinstance(value, str) and value.strip().lower() in _SIDES:
        return _SIDES[value.strip().lower()]
    return text(value)


def network(value: object) -> str:
    """MAINNET or TESTNET; a boolean means "is testnet"."""
    if isinstance(value, bool):
        return "TESTNET" if value else "MAINNET"
    return text(value.upper() if isinstance(value, str) else value)


def pair(value: object) -> str:
    """One traded pair as "SYMBOL (Side)", from a string, a (symbol, side) pair or a mapping."""
    if isinstance(value, Mapping):
        return f"{text(value.get('symbol'))} ({side(value.get('side'))})"
    if isinstance(value, list | tuple) and len(value) == 2:
        return f"{text(value[0])} ({side(value[1])})"
    return text(value)


def _title(icon: str, title: str) -> str:
    """The bold first line of a message."""
    return f"{icon} <b>{title}</b>"


def _line(label: str, value: str) -> str:
    """One "Label: value" line; the value is already escaped."""
    return f"{label}: {value}"


def _order(fields: Mapping) -> str:
    """Quantity at price."""
    return f"{number(fields.get('qty'))} @ {number(fields.get('price'))}"


def _symbol_side(fields: Mapping) -> list[str]:
    """The symbol and side lines most messages start with."""
    return [_line("Symbol", text(fields.get("symbol"))), _line("Side", side(fields.get("side")))]


def _bot_started(fields: Mapping) -> list[str]:
    """Network and the pairs this run trades."""
    lines = [_title("🚀", "Bot started"), _line("Network", network(fields.get("network")))]
    pairs = fields.get("pairs")
    if isinstance(pairs, str) or not pairs:
        return [*lines, _line("Pairs", text(pairs))]
    try:
        items = list(pairs)
    except TypeError:
        return [*lines, _line("Pairs", text(pairs))]
    return [*lines, "Pairs:", *(f"• {pair(item)}" for item in items)]


def _position_snapshot(icon: str, title: str) -> Callable[[Mapping], list[str]]:
    """Opened and added share one layout: the order, then the position after it."""

    def render(fields: Mapping) -> list[str]:
        return [
            _title(icon, title),
            *_symbol_side(fields),
            _line("Order", _order(fields)),
            _line("Size", number(fields.get("size"))),
            _line(
                "Value (margin)",
                f"{usdt(fields.get('value'))} ({percent(fields.get('pct'))} of balance)",
            ),
            _line(
                "Unrealised PnL",
                f"{usdt(fields.get('upnl'))} ({roe(fields.get('roe'))})",
            ),
            _line("Balance", usdt(fields.get("balance"))),
        ]

    return render


def _position_reduced(fields: Mapping) -> list[str]:
    """What was cut, what remains, and the profit taken."""
    return [
        _title("🟡", "Position REDUCED"),
        *_symbol_side(fields),
        _line("Reduced", _order(fields)),
        _line("Remaining size", number(fields.get("size"))),
        _line(
            "Remaining value",
            f"{usdt(fields.get('value'))} ({percent(fields.get('pct'))} of balance)",
        ),
        _line("Realised PnL", f"{usdt(fields.get('pnl'))} ({roe(fields.get('roe'))} ROE)"),
        _line("Reason", text(fields.get("reason"))),
        _line("Balance", usdt(fields.get("balance"))),
    ]


def _position_closed(fields: Mapping) -> list[str]:
    """The closing order and its result; a loss gets the red icon."""
    pnl = _to_decimal(fields.get("pnl"))
    icon = "⚪" if pnl is None else ("🔴" if pnl < 0 else "✅")
    return [
        _title(icon, "Position CLOSED"),
        *_symbol_side(fields),
        _line("Closed", _order(fields)),
        _line("PnL", f"{usdt(fields.get('pnl'))} ({roe(fields.get('roe'))} ROE)"),
        _line("Reason", text(fields.get("reason"))),
        _line("Balance", usdt(fields.get("balance"))),
    ]


def _order_skipped(fields: Mapping) -> list[str]:
    """An order the margin cap refused."""
    return [
        _title("⚠️", "Order skipped"),
        *_symbol_side(fields),
        _line("Reason", text(fields.get("reason"))),
        _line(
            "Margin usage",
            f"would be {percent(fields.get('usage_pct'))} (cap {percent(fields.get('cap_pct'))})",
        ),
        _line("Order", _order(fields)),
    ]


def _high_volatility(fields: Mapping) -> list[str]:
    """Which volatility reading tripped, and what the bot does about it."""
    lines = [
        _title("🌪", "High volatility"),
        *_symbol_side(fields),
        _line("Metric", text(fields.get("metric"))),
        _line("Value", number(fields.get("value"))),
        _line("Threshold", number(fields.get("threshold"))),
    ]
    if fields.get("margin_level") is not None:
        lines.append(_line("Margin level", number(fields.get("margin_level"))))
    return [*lines, _line("Action", ACTION_ENTRIES)]


def _dangerous_decline(fields: Mapping) -> list[str]:
    """A fast fall or crash, with the readings that classified it."""
    return [
        _title("📉", "Dangerous decline"),
        *_symbol_side(fields),
        _line("Type", text(fields.get("decline_type"))),
        _line("Score", number(fields.get("score"))),
        _line("ROC 5", number(fields.get("roc_5"))),
        _line("Smoothness", number(fields.get("smoothness"))),
        _line("Action", ACTION_ADDITIONS),
    ]


def _margin_warning(fields: Mapping) -> list[str]:
    """A position close to liquidation."""
    return [
        _title("🚨", "Margin warning"),
        *_symbol_side(fields),
        _line("Margin level", number(fields.get("margin_level"))),
        _line("Value (margin)", usdt(fields.get("value"))),
        _line("Unrealised PnL", usdt(fields.get("upnl"))),
    ]


def _error(fields: Mapping) -> list[str]:
    """A failure the owner should see."""
    return [
        _title("❌", "Error"),
        _line("Type", text(fields.get("error_type"))),
        _line("Symbol", text(fields.get("symbol"))),
        _line("Message", text(fields.get("message"))),
    ]


def _bot_paused(fields: Mapping) -> list[str]:
    """The bot stopped trading until its owner acts."""
    return [_title("⏸", "Bot paused"), _line("Reason", text(fields.get("reason")))]


def _drift_report(fields: Mapping) -> list[str]:
    """The week's live-versus-backtest comparison."""
    return [
        _title("🔍", "Weekly drift report"),
        _line("Bot", text(fields.get("bot"))),
        _line("Period", text(fields.get("period"))),
        _line("Divergences", text(fields.get("divergences"))),
        _line("Causes", text(fields.get("causes"))),
    ]


def _generic(kind: str, fields: Mapping) -> list[str]:
    """A kind this module does not know: its name and every field, so nothing is lost."""
    lines = [_title("ℹ️", text(kind))]
    return [*lines, *(_line(text(key), text(value)) for key, value in fields.items())]


RENDERERS: dict[str, Callable[[Mapping], list[str]]] = {
    base.BOT_STARTED: _bot_started,
    base.POSITION_OPENED: _position_snapshot("🟢", "Position OPENED"),
    base.POSITION_ADDED: _position_snapshot("➕", "Position ADDED"),
    base.POSITION_REDUCED: _position_reduced,
    base.POSITION_CLOSED: _position_closed,
    base.ORDER_SKIPPED: _order_skipped,
    base.HIGH_VOLATILITY: _high_volatility,
    base.DANGEROUS_DECLINE: _dangerous_decline,
    base.MARGIN_WARNING: _margin_warning,
    base.ERROR: _error,
    base.BOT_PAUSED: _bot_paused,
    base.DRIFT_REPORT: _drift_report,
}


def _fit(lines: list[str]) -> str:
    """Join lines, dropping whole trailing lines past Telegram's limit so no tag is cut."""
    kept: list[str] = []
    size = 0
    for line in lines:
        if size + len(line) + 2 > MAX_TEXT:
            kept.append("…")
            break
        kept.append(line)
        size += len(line) + 1
    return "\n".join(kept)


def format_event(event: Event) -> str:
    """The HTML text of one event; never raises on missing or odd fields."""
    fields = event.fields if isinstance(event.fields, Mapping) else {}
    renderer = RENDERERS.get(event.kind)
    lines = renderer(fields) if renderer else _generic(event.kind, fields)
    return _fit(lines)
