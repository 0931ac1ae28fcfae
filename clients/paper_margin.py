"""Margin arithmetic of the simulated exchange: isolated and cross liquidation prices, tiers.

Isolated: a position is backed by its own margin only and is liquidated when its margin level
(spec section 3.6) reaches 1. Cross: the wallet backs every cross position together and they are
all liquidated when the wallet's equity (balance less isolated margins, plus the cross positions'
unrealised PnL) falls to the sum of their maintenance margins. docs/BACKTESTING.md works an
example of each.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from strategies.types import LONG

CROSS = "cross"
ISOLATED = "isolated"
MARGIN_MODES = (CROSS, ISOLATED)
ZERO = Decimal(0)
ONE = Decimal(1)


def check_margin_mode(mode: str) -> str:
    """The mode itself, or ValueError naming the two that exist."""
    if mode not in MARGIN_MODES:
        raise ValueError(f"margin mode must be cross or isolated, got {mode!r}")
    return mode


def tier_rate(tiers: tuple, notional: Decimal, default: Decimal) -> Decimal:
    """Maintenance rate of the risk-limit tier holding ``notional`` (tiers: (cap, rate) rising).

    Like Bybit's and Phemex's risk limits the whole position takes its tier's rate; a position
    beyond the last cap keeps the last tier's rate. No tiers: the instrument's single rate.
    """
    for cap, rate in tiers:
        if notional <= cap:
            return rate
    return tiers[-1][1] if tiers else default


def liquidation_price(side: str, size: Decimal, entry: Decimal, margin: Decimal, mmr: Decimal):
    """The price at which the margin level of spec section 3.6 reaches exactly 1 (isolated)."""
    if side == LONG:
        return max(ZERO, (entry * size - margin) / (size * (ONE - mmr)))
    return (margin + entry * size) / (size * (ONE + mmr))


def cross_level(
    base: Decimal, legs: Iterable[tuple[str, Decimal, Decimal, Decimal]]
) -> tuple[Decimal | None, Decimal | None]:
    """Where one symbol's price makes the cross wallet's equity equal its maintenance margin.

    ``base`` is everything that does not move with this symbol's price: wallet balance less
    isolated margins, plus uPnL minus maintenance margin of the other symbols' cross positions.
    ``legs`` are this symbol's cross positions as (side, size, entry, maintenance rate). Equity
    minus maintenance is linear in the price p: base + p·k − c with
    k = Σ_long size·(1−mmr) − Σ_short size·(1+mmr) and c = Σ_long size·entry − Σ_short size·entry,
    so the wallet is liquidated at p* = (c − base) / k: when the price falls to p* if k > 0 (a
    Long), rises to p* if k < 0 (a Short). Returns (falls to, rises to); None where no price does.
    """
    k = ZERO
    c = ZERO
    for side, size, entry, mmr in legs:
        if side == LONG:
            k += size * (ONE - mmr)
            c += size * entry
        else:
            k -= size * (ONE + mmr)
            c -= size * entry
    if k == 0:
        return None, None
    price = (c - base) / k
    if k > 0:
        return (price, None) if price > 0 else (None, None)
    return None, max(price, ZERO)
