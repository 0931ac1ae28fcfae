"""Decimal rounding onto an instrument's grid: the one place quantities and prices are rounded."""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, ROUND_HALF_UP, Decimal

from strategies.types import BUY, InstrumentRules

TWO_PLACES = Decimal("0.01")


def floor_to_step(value: Decimal, step: Decimal) -> Decimal:
    """Round toward zero onto the step grid, as the existing bot does."""
    if step <= 0:
        raise ValueError(f"quantity step must be positive, got {step}")
    return (value / step).to_integral_value(rounding=ROUND_DOWN) * step


def ceil_to_step(value: Decimal, step: Decimal) -> Decimal:
    """Round up onto the step grid."""
    return (value / step).to_integral_value(rounding=ROUND_CEILING) * step


def round_price(price: Decimal, tick: Decimal, side: str) -> Decimal:
    """Put a price on the tick, never on the worse side for us (buys round down, sells up)."""
    rounding = ROUND_FLOOR if side == BUY else ROUND_CEILING
    return (price / tick).to_integral_value(rounding=rounding) * tick


def smallest_order_qty(rules: InstrumentRules, price: Decimal) -> Decimal:
    """The smallest quantity the exchange accepts at this price (minimum size and value)."""
    qty = max(rules.min_qty, rules.qty_step)
    if rules.min_notional > 0 and price > 0 and qty * price < rules.min_notional:
        qty = ceil_to_step(rules.min_notional / price, rules.qty_step)
    return qty


def meets_minimums(qty: Decimal, price: Decimal, rules: InstrumentRules) -> bool:
    """Whether an order of this size passes the exchange's minimum size and value."""
    if qty < rules.min_qty or qty <= 0:
        return False
    return rules.min_notional <= 0 or qty * price >= rules.min_notional


def round2(value: Decimal) -> Decimal:
    """Round half-up to two decimals (the existing bot's display and decision rounding)."""
    return value.quantize(TWO_PLACES, rounding=ROUND_HALF_UP)
