"""The event catalogue: every kind a bot or the platform reports, with severity, group and texts.

Events stay plain values (``notifications.base.Event``); this table says how serious each kind is,
which preference group it belongs to, and how to say it in one line (``short_text``) or in full
plain text (``long_text``, the e-mail body). Chat channels use ``formatting.format_event``.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass

from notifications import base
from notifications.base import Event
from notifications.formatting import format_event

INFO, WARNING, CRITICAL = "info", "warning", "critical"
SEVERITIES = (INFO, WARNING, CRITICAL)

# Kinds beyond the trading core's, re-exported here with the catalogue.
POSITION_GONE = base.POSITION_GONE
ORDER_REFUSED = base.ORDER_REFUSED
BOT_ERROR = base.BOT_ERROR
RUN_OVERDUE = base.RUN_OVERDUE
DAILY_SUMMARY = base.DAILY_SUMMARY
WEBHOOK_DISABLED = base.WEBHOOK_DISABLED
CHANNEL_STOPPED = base.CHANNEL_STOPPED
TEST_MESSAGE = base.TEST_MESSAGE
OPS_RUNNER_OVERDUE = base.OPS_RUNNER_OVERDUE
OPS_REPEATED_FAILURES = base.OPS_REPEATED_FAILURES
OPS_PAYMENT_FAILED = base.OPS_PAYMENT_FAILED
OPS_DATABASE_ERROR = base.OPS_DATABASE_ERROR


@dataclass(frozen=True)
class EventType:
    """How one kind is classified and titled."""

    kind: str
    title: str
    severity: str
    group: str  # trades, warnings, errors, summary, account, ops
    user_choosable: bool = True


CATALOGUE: dict[str, EventType] = {
    t.kind: t
    for t in (
        EventType(base.BOT_STARTED, "Bot started", INFO, "trades"),
        EventType(base.POSITION_OPENED, "Position opened", INFO, "trades"),
        EventType(base.POSITION_ADDED, "Position added to", INFO, "trades"),
        EventType(base.POSITION_REDUCED, "Position reduced", INFO, "trades"),
        EventType(base.POSITION_CLOSED, "Position closed", INFO, "trades"),
        EventType(POSITION_GONE, "Position gone outside the bot", CRITICAL, "warnings"),
        EventType(base.MARGIN_WARNING, "Margin warning", CRITICAL, "warnings"),
        EventType(base.HIGH_VOLATILITY, "High volatility pause", WARNING, "warnings"),
        EventType(base.DANGEROUS_DECLINE, "Dangerous decline pause", WARNING, "warnings"),
        EventType(base.ORDER_SKIPPED, "Order skipped by the margin cap", WARNING, "warnings"),
        EventType(ORDER_REFUSED, "Order refused", WARNING, "errors"),
        EventType(base.BOT_PAUSED, "Bot paused", CRITICAL, "errors"),
        EventType(BOT_ERROR, "Bot stopped after failures", CRITICAL, "errors"),
        EventType(base.ERROR, "Bot error", WARNING, "errors"),
        EventType(RUN_OVERDUE, "Run overdue", WARNING, "errors"),
        EventType(DAILY_SUMMARY, "Daily summary", INFO, "summary"),
        EventType(WEBHOOK_DISABLED, "Webhook disabled", CRITICAL, "account", False),
        EventType(CHANNEL_STOPPED, "Notification channel stopped", WARNING, "account", False),
        EventType(TEST_MESSAGE, "Test message", INFO, "account", False),
        EventType(OPS_RUNNER_OVERDUE, "Runner overdue", CRITICAL, "ops", False),
        EventType(OPS_REPEATED_FAILURES, "Repeated failures across bots", CRITICAL, "ops", False),
        EventType(OPS_PAYMENT_FAILED, "Payment failed", WARNING, "ops", False),
        EventType(OPS_DATABASE_ERROR, "Database error", CRITICAL, "ops", False),
    )
}
# What a user can choose channels for, in the order the preferences page lists them.
USER_KINDS = tuple(k for k, t in CATALOGUE.items() if t.user_choosable)
FILL_KINDS = frozenset(
    {base.POSITION_OPENED, base.POSITION_ADDED, base.POSITION_REDUCED, base.POSITION_CLOSED}
)
_TAGS = re.compile(r"<[^>]+>")


def event_type(kind: str) -> EventType:
    """The catalogue entry of a kind; an unknown kind is a plain informational event."""
    return CATALOGUE.get(kind) or EventType(kind, kind.replace("_", " ").capitalize(), INFO, "")


def severity(kind: str) -> str:
    """info, warning or critical."""
    return event_type(kind).severity


def short_text(event: Event) -> str:
    """One line: the title, the pair when there is one, and the key figure."""
    fields: Mapping = event.fields or {}
    parts = [event_type(event.kind).title]
    if fields.get("symbol"):
        parts.append(f"{fields['symbol']} {fields.get('side') or ''}".strip())
    for key in ("pnl", "margin_level", "reason", "message"):
        if fields.get(key) not in (None, ""):
            parts.append(f"{key.replace('_', ' ')} {fields[key]}")
            break
    return " · ".join(str(p) for p in parts)[:300]


def long_text(event: Event) -> str:
    """The full message as plain text (the chat rendering without its markup)."""
    return html.unescape(_TAGS.sub("", format_event(event)))
