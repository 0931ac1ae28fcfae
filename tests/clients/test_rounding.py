"""Property tests of the Decimal rounding helpers and of size_order."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from clients.base import (
    ceil_to_step,
    floor_to_step,
    meets_minimums,
    round_price,
    smallest_order_qty,
)
from clients.sizing import size_order
from strategies.types import BUY, SELL, InstrumentRules

STEPS = st.sampled_from([Decimal(s) for s in ("0.001", "0.01", "0.1", "1", "5", "0.0025")])
TICKS = st.sampled_from([Decimal(s) for s in ("0.1", "0.01", "0.5", "0.0001", "1", "0.025")])
AMOUNTS = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("100000"), places=6)
PRICES = st.decimals(min_value=Decimal("0.001"), max_value=Decimal("200000"), places=4)


@st.composite
def rules(draw) -> InstrumentRules:
    """Instrument rules with the minimum on the step grid, as exchanges publish them."""
    step = draw(STEPS)
    min_qty = step * draw(st.integers(min_value=1, max_value=20))
    max_qty = min_qty * draw(st.integers(min_value=1, max_value=100000))
    return InstrumentRules(
        symbol="TESTUSDT",
        qty_step=step,
        min_qty=min_qty,
        max_qty=max_qty,
        tick_size=draw(TICKS),
        min_notional=draw(st.sampled_from([Decimal(0), Decimal(1), Decimal(5), Decimal(100)])),
    )


@given(AMOUNTS, STEPS)
def test_floor_to_step_never_rounds_up_and_lands_on_the_grid(value, step):
    result = floor_to_step(value, step)
    assert result <= value < result + step
    assert result % step == 0


@given(AMOUNTS, STEPS)
def test_ceil_to_step_never_rounds_down_and_lands_on_the_grid(value, step):
    result = ceil_to_step(value, step)
    assert result - step < value <= result
    assert result % step == 0


@given(PRICES, TICKS, st.sampled_from([BUY, SELL]))
def test_prices_sit_on_the_tick_never_on_the_worse_side(price, tick, side):
    result = round_price(price, tick, side)
    assert result % tick == 0
    if side == BUY:
        assert price - tick < result <= price  # a buy never pays more than asked
    else:
        assert price <= result < price + tick  # a sell never accepts less


@settings(max_examples=300)
@given(AMOUNTS, PRICES, rules())
def test_sized_orders_fit_the_budget_and_the_exchange_minimums(budget, price, instrument):
    qty = size_order(budget, price, instrument)
    if qty is None:
        # Skipping is only allowed when even the whole budget, floored, is too small.
        best = floor_to_step(min(budget, instrument.max_qty), instrument.qty_step)
        assert not meets_minimums(best, price, instrument)
        return
    assert qty <= budget
    assert qty <= instrument.max_qty
    assert qty % instrument.qty_step == 0
    assert qty >= instrument.min_qty
    assert qty * price >= instrument.min_notional
    assert budget - qty < instrument.qty_step or qty == floor_to_step(
        instrument.max_qty, instrument.qty_step
    )


@given(PRICES, rules())
def test_the_smallest_order_passes_the_minimums(price, instrument):
    qty = smallest_order_qty(instrument, price)
    assert meets_minimums(qty, price, instrument)
    # size_order takes exactly that budget, unless it is above the exchange's maximum size.
    assert size_order(qty, price, instrument) == (qty if qty <= instrument.max_qty else None)


@given(PRICES, rules())
def test_no_budget_means_no_order(price, instrument):
    assert size_order(Decimal(0), price, instrument) is None
    assert size_order(Decimal("-1"), price, instrument) is None
