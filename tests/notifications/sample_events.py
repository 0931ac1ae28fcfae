"""One realistic event of every kind, with the lines its message must contain."""

from __future__ import annotations

from decimal import Decimal

from notifications import base
from notifications.base import Event

# kind -> (fields, lines the rendered text must contain)
SAMPLES: dict[str, tuple[dict, list[str]]] = {
    base.BOT_STARTED: (
        {"network": "MAINNET", "pairs": ["BTCUSDT (Long)", "ETHUSDT (Short)"]},
        ["Bot started", "Network: MAINNET", "• BTCUSDT (Long)", "• ETHUSDT (Short)"],
    ),
    base.POSITION_OPENED: (
        {
            "symbol": "BTCUSDT",
            "side": "Long",
            "qty": Decimal("0.010"),
            "price": Decimal("65000.50"),
            "size": Decimal("0.05"),
            "value": Decimal("325.0025"),
            "pct": Decimal("3.25"),
            "upnl": Decimal("-16.25"),
            "roe": Decimal("-0.05"),
            "balance": Decimal("10000"),
        },
        [
            "Position OPENED",
            "Symbol: BTCUSDT",
            "Side: Long",
            "Order: 0.01 @ 65000.5",
            "Size: 0.05",
            "Value (margin): 325.00 USDT (3.25% of balance)",
            "Unrealised PnL: -16.25 USDT (-5.00%)",
            "Balance: 10000.00 USDT",
        ],
    ),
    base.POSITION_ADDED: (
        {
            "symbol": "SOLUSDT",
            "side": "Short",
            "qty": Decimal("1.5"),
            "price": Decimal("142.37"),
            "size": Decimal("4.5"),
            "value": Decimal("64.0665"),
            "pct": Decimal("6.41"),
            "upnl": Decimal("-8.1"),
            "roe": Decimal("-0.1264"),
            "balance": Decimal("999.5"),
        },
        [
            "Position ADDED",
            "Symbol: SOLUSDT",
            "Side: Short",
            "Order: 1.5 @ 142.37",
            "Size: 4.5",
            "Value (margin): 64.07 USDT (6.41% of balance)",
            "Unrealised PnL: -8.10 USDT (-12.64%)",
            "Balance: 999.50 USDT",
        ],
    ),
    base.POSITION_REDUCED: (
        {
            "symbol": "ETHUSDT",
            "side": "Long",
            "qty": Decimal("0.33"),
            "price": Decimal("3500"),
            "size": Decimal("0.67"),
            "value": Decimal("234.5"),
            "pct": Decimal("7.9"),
            "pnl": Decimal("12.345"),
            "roe": Decimal("0.153"),
            "reason": "margin above 7.5% of balance",
            "balance": Decimal("2968.12"),
        },
        [
            "Position REDUCED",
            "Side: Long",
            "Reduced: 0.33 @ 3500",
            "Remaining size: 0.67",
            "Remaining value: 234.50 USDT (7.90% of balance)",
            "Realised PnL: 12.35 USDT (15.30% ROE)",
            "Reason: margin above 7.5% of balance",
            "Balance: 2968.12 USDT",
        ],
    ),
    base.POSITION_CLOSED: (
        {
            "symbol": "XRPUSDT",
            "side": "Short",
            "qty": Decimal("250"),
            "price": Decimal("0.5123"),
            "pnl": Decimal("14.2"),
            "roe": Decimal("0.112"),
            "reason": "target profit",
            "balance": Decimal("1014.2"),
        },
        [
            "✅ <b>Position CLOSED</b>",
            "Symbol: XRPUSDT",
            "Side: Short",
            "Closed: 250 @ 0.5123",
            "PnL: 14.20 USDT (11.20% ROE)",
            "Reason: target profit",
            "Balance: 1014.20 USDT",
        ],
    ),
    base.ORDER_SKIPPED: (
        {
            "symbol": "DOGEUSDT",
            "side": "Long",
            "reason": "max margin",
            "usage_pct": Decimal("52.4"),
            "cap_pct": Decimal("50"),
            "qty": Decimal("1200"),
            "price": Decimal("0.08123"),
        },
        [
            "Order skipped",
            "Symbol: DOGEUSDT",
            "Reason: max margin",
            "Margin usage: would be 52.40% (cap 50.00%)",
            "Order: 1200 @ 0.08123",
        ],
    ),
    base.HIGH_VOLATILITY: (
        {
            "symbol": "BTCUSDT",
            "side": "Long",
            "metric": "ATR",
            "value": 0.0123,
            "threshold": 0.01,
            "margin_level": Decimal("2.5"),
        },
        [
            "High volatility",
            "Metric: ATR",
            "Value: 0.0123",
            "Threshold: 0.01",
            "Margin level: 2.5",
            "Action: new entries paused while margin level &gt;= 2; "
            "adds continue only for margin maintenance",
        ],
    ),
    base.DANGEROUS_DECLINE: (
        {
            "symbol": "BTCUSDT",
            "side": "Long",
            "decline_type": "CRASH",
            "score": 85.0,
            "roc_5": -3.2,
            "smoothness": 0.91,
        },
        [
            "Dangerous decline",
            "Type: CRASH",
            "Score: 85",
            "ROC 5: -3.2",
            "Smoothness: 0.91",
            "Action: additions paused while margin level &gt;= 2; "
            "adds continue only for margin maintenance",
        ],
    ),
    base.MARGIN_WARNING: (
        {
            "symbol": "BTCUSDT",
            "side": "Short",
            "margin_level": Decimal("1.32"),
            "value": Decimal("500"),
            "upnl": Decimal("-120.5"),
        },
        [
            "Margin warning",
            "Side: Short",
            "Margin level: 1.32",
            "Value (margin): 500.00 USDT",
            "Unrealised PnL: -120.50 USDT",
        ],
    ),
    base.ERROR: (
        {"error_type": "AuthenticationError", "symbol": "BTCUSDT", "message": "invalid api key"},
        ["Error", "Type: AuthenticationError", "Symbol: BTCUSDT", "Message: invalid api key"],
    ),
    base.BOT_PAUSED: (
        {"reason": "the exchange refused the API key"},
        ["Bot paused", "Reason: the exchange refused the API key"],
    ),
    base.DRIFT_REPORT: (
        {
            "bot": "main",
            "period": "2026-02-23 to 2026-03-02",
            "divergences": 2,
            "causes": "exchange refusal: 1, follows an earlier divergence: 1",
        },
        [
            "Weekly drift report",
            "Bot: main",
            "Period: 2026-02-23 to 2026-03-02",
            "Divergences: 2",
            "Causes: exchange refusal: 1, follows an earlier divergence: 1",
        ],
    ),
}


def sample_event(kind: str) -> Event:
    """The sample event of one kind."""
    return Event(kind, dict(SAMPLES[kind][0]))


def with_strings_replaced(event: Event, value: str) -> Event:
    """The event with every text field (and every pair) set to ``value``."""

    def swap(item):
        if isinstance(item, str):
            return value
        if isinstance(item, list):
            return [swap(x) for x in item]
        return item

    return Event(event.kind, {key: swap(item) for key, item in event.fields.items()})
