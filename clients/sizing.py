"""Turn a wanted quantity into one the exchange accepts, or None when it cannot be done."""

from __future__ import annotations

from decimal import Decimal

from clients.base import floor_to_step, meets_minimums
from strategies.types import InstrumentRules


def size_order(budget_qty: Decimal, price: Decimal, rules: InstrumentRules) -> Decimal | None:
    """The largest on-step quantity within budget and maximum; None when under the minimums.

    Never rounds up: an order is skipped rather than made bigger than the caller allowed.
    """
    if budget_qty <= 0 or price <= 0:
        return None
    qty = floor_to_step(min(budget_qty, rules.max_qty), rules.qty_step)
    if not meets_minimums(qty, price, rules):
        return None
    return qty
