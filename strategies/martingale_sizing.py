"""Order sizing of spec 3.3-3.5: margin cap, linear tapering, step rounding and the margin check."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from strategies import rounding
from strategies.types import InstrumentRules, Position

ZERO = Decimal(0)
ONE = Decimal(1)


def margin_cap(
    symbol: str, positions: Iterable[Position], max_margin_pct: Decimal, split_per_symbol: bool
) -> tuple[Decimal, Decimal]:
    """(cap as a fraction of the balance, margin it applies to) for the next entry on ``symbol``.

    Split (the existing bot, Q6): cap = max_margin_pct / N active symbols, applied to this
    symbol's margin; both sides of a hedged symbol are summed rather than letting whichever
    the exchange lists last win. Not split: one cap on the account's total margin.
    """
    active = {symbol}
    symbol_margin = ZERO
    total_margin = ZERO
    for position in positions:
        if position.size <= 0:
            continue
        active.add(position.symbol)
        total_margin += position.margin
        if position.symbol == symbol:
            symbol_margin += position.margin
    if not split_per_symbol:
        return max_margin_pct, total_margin
    count = len(active)
    cap = max_margin_pct / count if count > 1 else max_margin_pct
    return cap, symbol_margin


def taper_factor(usage: Decimal, cap: Decimal, start: Decimal) -> Decimal:
    """1 below ``start``, falling linearly to 0 at ``cap``, 0 at or above it (spec 3.3 step 3)."""
    if usage < start:
        return ONE
    if usage >= cap:
        return ZERO
    return (cap - usage) / (cap - start)


def taper(qty: Decimal, usage: Decimal, cap: Decimal, start: Decimal) -> Decimal:
    """``qty`` x taper_factor, multiplying before dividing so exact results stay exact."""
    if usage < start:
        return qty
    if usage >= cap:
        return ZERO
    return qty * (cap - usage) / (cap - start)


def round_entry_qty(
    qty: Decimal, price: Decimal, rules: InstrumentRules, min_one_step: bool
) -> Decimal | None:
    """Toward zero on the step, then the exchange's real minimums and maximum (spec 3.3 step 4).

    A quantity below the minimums becomes the smallest accepted order when ``min_one_step``
    (Q4, kept), else None: the caller skips the order.
    """
    rounded = rounding.floor_to_step(qty, rules.qty_step)
    if not rounding.meets_minimums(rounded, price, rules):
        if not min_one_step:
            return None
        rounded = rounding.smallest_order_qty(rules, price)
    if rules.max_qty > 0 and rounded > rules.max_qty:
        rounded = rules.max_qty
    return rounded


def exit_qty(
    size: Decimal, fraction: Decimal, price: Decimal, rules: InstrumentRules
) -> Decimal | None:
    """A partial exit: size x fraction floored on the step, at least the smallest order, at most
    the position (and the instrument's maximum order).

    None when the position itself is smaller than the smallest order the exchange accepts: the
    existing bot sent nothing then, and a quantity off the step or below the minimum would only
    be refused (docs/STRATEGY.md, compatibility table).
    """
    smallest = rounding.smallest_order_qty(rules, price)
    whole = rounding.floor_to_step(size, rules.qty_step)
    if whole < smallest:
        return None
    qty = max(rounding.floor_to_step(size * fraction, rules.qty_step), smallest)
    return close_qty(min(qty, whole), rules)


def close_qty(size: Decimal, rules: InstrumentRules) -> Decimal | None:
    """The full size on the step, capped at the largest order the exchange accepts (the rest goes
    next run); None when not even one step is held."""
    qty = rounding.floor_to_step(size, rules.qty_step)
    if qty <= 0 or qty < rules.min_qty:
        return None
    if rules.max_qty > 0 and qty > rules.max_qty:
        return rules.max_qty
    return qty


def margin_usage(
    used_margin: Decimal, qty: Decimal, price: Decimal, leverage: Decimal, balance: Decimal
) -> Decimal:
    """Spec 3.5: (margin already used + qty x price / L) / balance; 0 without a balance."""
    if balance <= 0:
        return ZERO
    return (used_margin + qty * price / leverage) / balance
