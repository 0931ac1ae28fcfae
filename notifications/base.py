"""The notifier interface, the event it carries, and a fan-out that never lets one channel block."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

logger = logging.getLogger(__name__)

# Event kinds, with the fields each carries (all optional except those named by the formatter).
BOT_STARTED = "bot_started"  # network, pairs: list of "SYMBOL (Side)"
POSITION_OPENED = (
    "position_opened"  # symbol, side, qty, price, size, value, pct, upnl, roe, balance
)
POSITION_ADDED = "position_added"  # as opened
POSITION_REDUCED = (
    "position_reduced"  # symbol, side, qty, price, size, value, pct, pnl, roe, reason
)
POSITION_CLOSED = "position_closed"  # symbol, side, qty, price, pnl, roe, reason, balance
ORDER_SKIPPED = "order_skipped"  # symbol, side, reason, usage_pct, cap_pct, qty, price
HIGH_VOLATILITY = "high_volatility"  # symbol, side, metric, value, threshold, margin_level
DANGEROUS_DECLINE = "dangerous_decline"  # symbol, side, decline_type, score, roc_5, smoothness
MARGIN_WARNING = "margin_warning"  # symbol, side, margin_level, value, upnl
ERROR = "error"  # symbol, error_type, message
BOT_PAUSED = "bot_paused"  # reason
DRIFT_REPORT = "drift_report"  # bot, period, divergences, causes: the weekly live-vs-backtest

EVENT_KINDS = (
    BOT_STARTED,
    POSITION_OPENED,
    POSITION_ADDED,
    POSITION_REDUCED,
    POSITION_CLOSED,
    ORDER_SKIPPED,
    HIGH_VOLATILITY,
    DANGEROUS_DECLINE,
    MARGIN_WARNING,
    ERROR,
    BOT_PAUSED,
    DRIFT_REPORT,
)


@dataclass(frozen=True, slots=True)
class Event:
    """One thing to tell the owner: a kind from EVENT_KINDS and its fields."""

    kind: str
    fields: dict = field(default_factory=dict)


class Notifier(ABC):
    """A channel that delivers events; ``send`` may raise, the fan-out catches."""

    name: str = "notifier"

    @abstractmethod
    def send(self, event: Event) -> None:
        """Deliver one event or raise."""


class FanOut(Notifier):
    """Sends each event to every channel; a failing one is logged, the rest still get it."""

    name = "fanout"

    def __init__(self, channels: list[Notifier] | None = None):
        self.channels = list(channels or [])

    def send(self, event: Event) -> None:
        """Deliver to all channels, logging failures instead of raising."""
        for channel in self.channels:
            try:
                channel.send(event)
            except Exception as exc:  # noqa: BLE001 - one channel must never stop the others
                logger.warning(
                    "notification channel failed",
                    extra={"channel": channel.name, "event": event.kind, "error": str(exc)},
                )


class MemoryNotifier(Notifier):
    """Keeps events in a list: the demo's console channel and a test double."""

    name = "memory"

    def __init__(self):
        self.events: list[Event] = []

    def send(self, event: Event) -> None:
        """Remember the event."""
        self.events.append(event)
