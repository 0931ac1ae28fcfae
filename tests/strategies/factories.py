"""Builders for strategy snapshots: a calm Long at 100 with a balance of 1000 by default."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from strategies.types import (
    LONG,
    Indicators,
    InstrumentRules,
    Position,
    Snapshot,
    Volatility,
)

NOW = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
SYMBOL = "BTCUSDT"
SPREAD = Decimal("0.1")


def rules(
    *,
    step: str = "0.01",
    min_qty: str = "0.01",
    max_qty: str = "1000",
    tick: str = "0.1",
    min_notional: str = "0",
    symbol: str = SYMBOL,
) -> InstrumentRules:
    """Instrument rules with the spec's worked-example step of 0.01."""
    return InstrumentRules(
        symbol=symbol,
        qty_step=Decimal(step),
        min_qty=Decimal(min_qty),
        max_qty=Decimal(max_qty),
        tick_size=Decimal(tick),
        min_notional=Decimal(min_notional),
    )


def position(
    margin: str = "20",
    upnl: str = "0",
    *,
    size: str = "1",
    ml: str | None = "5",
    side: str = LONG,
    symbol: str = SYMBOL,
    mark: str = "100",
) -> Position:
    """A position given by its margin ("positionValue") and uPnL, as the spec reasons."""
    return Position(
        symbol=symbol,
        side=side,
        size=Decimal(size),
        entry_price=Decimal(mark),
        margin=Decimal(margin),
        unrealised_pnl=Decimal(upnl),
        margin_level=None if ml is None else Decimal(ml),
        mark_price=Decimal(mark),
    )


def volatility(
    decline: str = "UNKNOWN",
    *,
    high: bool = False,
    trigger: str = "bb_width",
    value: float = 9.5,
    threshold: float = 8.0,
    score: float = 0.0,
    roc_5: float | None = None,
    smoothness: float | None = None,
) -> Volatility:
    """A volatility reading; UNKNOWN decline (neither safe nor dangerous) by default."""
    return Volatility(
        is_high=high,
        trigger=trigger if high else None,
        value=value if high else 0.0,
        threshold=threshold if high else 0.0,
        decline_type=decline,
        decline_score=score,
        roc_5=roc_5,
        smoothness=smoothness,
    )


def snapshot(
    *,
    side: str = LONG,
    price: str = "100",
    balance: str = "1000",
    leverage: str = "10",
    auto: bool = True,
    position: Position | None = None,
    ema50: float | None = None,
    ema200: float | None = None,
    ema100_1h: float | None = None,
    decline: str = "UNKNOWN",
    high: bool = False,
    vol: Volatility | None = None,
    instrument: InstrumentRules | None = None,
    account_positions: tuple[Position, ...] | None = None,
    symbol: str = SYMBOL,
) -> Snapshot:
    """A snapshot where ``price`` is the side's entry price (bid for Long, ask for Short).

    EMA defaults put a Long above EMA50 and EMA200 and below the 1h EMA100 (a Short mirrored),
    so the gate passes, the dip clause is allowed and an open is possible.
    """
    long = side == LONG
    entry = Decimal(price)
    bid, ask = (entry, entry + SPREAD) if long else (entry - SPREAD, entry)
    mirror = 1 if long else -1
    indicators = Indicators(
        ema50=float(entry) - 10 * mirror if ema50 is None else ema50,
        ema200=float(entry) - 20 * mirror if ema200 is None else ema200,
        ema100_1h=float(entry) + 10 * mirror if ema100_1h is None else ema100_1h,
        volatility=vol if vol is not None else volatility(decline, high=high),
    )
    if account_positions is None:
        account_positions = (position,) if position is not None else ()
    return Snapshot(
        now=NOW,
        symbol=symbol,
        side=side,
        auto=auto,
        leverage=Decimal(leverage),
        bid=bid,
        ask=ask,
        balance=Decimal(balance),
        position=position,
        indicators=indicators,
        instrument=instrument or rules(symbol=symbol),
        account_positions=account_positions,
    )
