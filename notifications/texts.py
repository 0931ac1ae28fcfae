"""Chat texts of the platform's kinds (outbox, runner, delivery worker, operators).

Registered into ``formatting.RENDERERS`` by formatting itself, so every chat channel renders them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from notifications import base
from notifications.formatting import _line, _symbol_side, _title, number, text, usdt


def _position_gone(fields: Mapping) -> list[str]:
    """A position that vanished without a fill of ours."""
    return [
        _title("🚨", "Position gone outside the bot"),
        *_symbol_side(fields),
        _line("Reason", text(fields.get("reason"))),
    ]


def _order_refused(fields: Mapping) -> list[str]:
    """An order the exchange refused."""
    return [
        _title("⛔", "Order refused"),
        *_symbol_side(fields),
        _line(
            "Order",
            f"{text(fields.get('action'))} {number(fields.get('qty'))} @ "
            f"{number(fields.get('price'))}",
        ),
        _line("Message", text(fields.get("message"))),
    ]


def _reason(icon: str, title: str) -> Callable[[Mapping], list[str]]:
    """A title and the reason."""
    return lambda fields: [_title(icon, title), _line("Reason", text(fields.get("reason")))]


def _run_overdue(fields: Mapping) -> list[str]:
    """A run that should have started by now."""
    return [
        _title("⏰", "Run overdue"),
        _line("Late by", f"{text(fields.get('minutes_late'))} min"),
        _line("Was due", text(fields.get("due"))),
    ]


def _daily_summary(fields: Mapping) -> list[str]:
    """Yesterday's trading in three lines."""
    return [
        _title("📊", f"Daily summary {text(fields.get('day'))}"),
        _line("Fills", text(fields.get("trades"))),
        _line("Realised PnL", usdt(fields.get("realised_pnl"))),
        _line("Fees", usdt(fields.get("fees"))),
    ]


def _webhook_disabled(fields: Mapping) -> list[str]:
    """An endpoint we stopped calling."""
    return [
        _title("🔌", "Webhook disabled"),
        _line("URL", text(fields.get("url"))),
        _line("Reason", text(fields.get("reason"))),
        "Fix the receiver, then enable it again on the notifications page.",
    ]


def _test_message(fields: Mapping) -> list[str]:
    """The test button's message."""
    return [_title("👋", "Test message"), text(fields.get("message") or "dcabot test")]


def _ops(title: str) -> Callable[[Mapping], list[str]]:
    """An operator alert: its title and every field."""
    return lambda fields: [
        _title("🛠", title),
        *(_line(text(k), text(v)) for k, v in fields.items()),
    ]


EXTRA_RENDERERS: dict[str, Callable[[Mapping], list[str]]] = {
    base.POSITION_GONE: _position_gone,
    base.ORDER_REFUSED: _order_refused,
    base.BOT_ERROR: _reason("🛑", "Bot stopped after failures"),
    base.RUN_OVERDUE: _run_overdue,
    base.DAILY_SUMMARY: _daily_summary,
    base.WEBHOOK_DISABLED: _webhook_disabled,
    base.CHANNEL_STOPPED: lambda f: [
        _title("🔕", f"{text(f.get('channel'))} notifications stopped"),
        _line("Reason", text(f.get("reason"))),
    ],
    base.TEST_MESSAGE: _test_message,
    base.OPS_RUNNER_OVERDUE: _ops("Runner overdue"),
    base.OPS_REPEATED_FAILURES: _ops("Repeated failures across bots"),
    base.OPS_PAYMENT_FAILED: _ops("Payment failed"),
    base.OPS_DATABASE_ERROR: _ops("Database error"),
}
