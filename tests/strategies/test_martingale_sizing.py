"""Spec 3.3-3.5: quantity formula, tapering, the per-symbol cap, rounding and the margin check."""

from __future__ import annotations

from decimal import Decimal

import pytest

from strategies import get_strategy
from strategies.martingale_sizing import (
    exit_qty,
    margin_cap,
    margin_usage,
    round_entry_qty,
    taper,
    taper_factor,
)
from strategies.types import SHORT, ActionKind
from tests.strategies.factories import position, rules, snapshot

D = Decimal


def decide(params=None, **snap):
    """The default strategy's decision on a factory snapshot."""
    return get_strategy("martingale", params).decide(snapshot(**snap))


def only_action(decision):
    """The single action of a decision (fails loudly when there is not exactly one)."""
    assert len(decision.actions) == 1, decision
    return decision.actions[0]


class TestWorkedChecks:
    """The numbers under spec 3.3 (B = 1000, price = 100, L = 10, step 0.01)."""

    def test_open_is_six_tenths(self):
        action = only_action(decide())
        assert (action.kind, action.qty) == (ActionKind.OPEN, D("0.6"))

    def test_add_at_minus_ten_percent_rounds_toward_zero_to_0_22(self):
        # pv 20, roe -0.10, price 90: 20 x 10 x 0.10 / 90 = 0.2222 -> 0.22
        held = position("20", "-2")
        action = only_action(decide(price="90", position=held))
        assert (action.kind, action.qty) == (ActionKind.ADD, D("0.22"))

    def test_single_symbol_at_40_percent_tapers_to_two_thirds(self):
        assert taper_factor(D("0.40"), D("0.5"), D("0.35")) == D("0.1") / D("0.15")
        # decide(): q0 = 400 x 10 x 0.10 / 100 = 4, x 0.667 = 2.667 -> 2.66
        held = position("400", "-40", ml="1.9")
        assert only_action(decide(position=held)).qty == D("2.66")

    def test_two_symbols_halve_the_cap_and_taper_from_0_175(self):
        btc = position("175", symbol="BTCUSDT")
        eth = position("300", symbol="ETHUSDT")
        cap, used = margin_cap("BTCUSDT", (btc, eth), D("0.5"), True)
        assert (cap, used) == (D("0.25"), D("175"))
        assert cap * D("0.7") == D("0.175")
        assert taper_factor(D("0.175"), cap, D("0.175")) == 1
        assert taper_factor(D("0.2"), cap, D("0.175")) == D("0.05") / D("0.075")

    def test_two_symbols_taper_an_add(self):
        # m = 200/1000 = 0.2 of cap 0.25: f = 0.667; q0 = 2 -> 1.33; usage 0.2133 <= 0.25
        btc = position("200", "-20", ml="1.9")
        eth = position("100", symbol="ETHUSDT")
        action = only_action(decide(position=btc, account_positions=(btc, eth)))
        assert action.qty == D("1.33")


class TestTaperFactor:
    """Linear from 1 at 70 % of the cap to 0 at the cap."""

    @pytest.mark.parametrize(
        ("usage", "factor"),
        [("0", "1"), ("0.3499", "1"), ("0.35", "1"), ("0.425", "0.5"), ("0.5", "0"), ("0.9", "0")],
    )
    def test_factor_by_usage(self, usage, factor):
        assert taper_factor(D(usage), D("0.5"), D("0.35")) == D(factor)

    def test_tapered_quantity_multiplies_before_dividing(self):
        # 3 x (0.5 - 0.45) / 0.15 is exactly 1; 3 x (0.05 / 0.15) would be 0.999...9 -> 0.99
        assert D("3") * taper_factor(D("0.45"), D("0.5"), D("0.35")) < 1
        assert taper(D("3"), D("0.45"), D("0.5"), D("0.35")) == 1
        assert taper(D("3"), D("0.1"), D("0.5"), D("0.35")) == 3
        assert taper(D("3"), D("0.5"), D("0.5"), D("0.35")) == 0

    def test_start_equal_to_cap_never_divides_by_zero(self):
        assert taper_factor(D("0.49"), D("0.5"), D("0.5")) == 1
        assert taper_factor(D("0.5"), D("0.5"), D("0.5")) == 0


class TestMarginCap:
    """Which margin the cap is compared with (Q6)."""

    def test_hedged_sides_of_one_symbol_are_summed(self):
        long = position("150")
        short = position("250", side=SHORT)
        assert margin_cap("BTCUSDT", (long, short), D("0.5"), True) == (D("0.5"), D("400"))

    def test_hedged_sum_tapers_the_add(self):
        # 150 + 250 = 400 -> m 0.40 -> f 0.667 (the original would use whichever came last)
        long = position("150", "-15", ml="1.9")
        short = position("250", side=SHORT)
        action = only_action(decide(position=long, account_positions=(long, short)))
        assert action.qty == D("1")  # q0 = 150 x 10 x 0.10 / 100 = 1.5, x 2/3 = 1 exactly

    def test_the_current_symbol_counts_as_active_before_it_has_a_position(self):
        eth = position("100", symbol="ETHUSDT")
        assert margin_cap("BTCUSDT", (eth,), D("0.5"), True) == (D("0.25"), D("0"))

    def test_empty_positions_are_ignored(self):
        flat = position("0", size="0", symbol="ETHUSDT")
        assert margin_cap("BTCUSDT", (flat,), D("0.5"), True) == (D("0.5"), D("0"))

    def test_account_wide_cap_when_not_split(self):
        btc = position("100")
        eth = position("300", symbol="ETHUSDT")
        assert margin_cap("BTCUSDT", (btc, eth), D("0.5"), False) == (D("0.5"), D("400"))

    def test_account_wide_cap_refuses_an_open_the_split_cap_allows(self):
        eth = position("600", symbol="ETHUSDT")
        split = decide(account_positions=(eth,))
        assert only_action(split).kind == ActionKind.OPEN
        whole = decide({"split_cap_per_symbol": False}, account_positions=(eth,))
        assert whole.actions == ()
        assert whole.alerts[0].key == "order_skipped:max_margin"

    def test_position_missing_from_account_positions_still_counts(self):
        held = position("500", "-50", ml="1.9")
        decision = decide(position=held, account_positions=())
        assert decision.actions == ()
        assert decision.alerts[-1].key == "order_skipped:max_margin"


class TestMarginCheck:
    """Spec 3.5: usage = (M_sym + q x price / L) / B must stay within the cap."""

    def test_usage_formula(self):
        assert margin_usage(D("400"), D("2.66"), D("100"), D("10"), D("1000")) == D("0.4266")

    def test_usage_without_balance_is_zero(self):
        assert margin_usage(D("400"), D("1"), D("100"), D("10"), D("0")) == 0

    def test_allowed_add_within_cap(self):
        # m 0.49: f = 0.0667, q = 0.32, usage = (490 + 3.2) / 1000 = 0.4932 <= 0.5
        held = position("490", "-49", ml="1.9")
        assert only_action(decide(position=held)).qty == D("0.32")

    def test_refused_at_the_cap_reports_usage_and_cap(self):
        # f = 0 -> one step (Q4) -> usage (500 + 0.1) / 1000 = 50.01 % > 50 %
        held = position("500", "-50", ml="1.9")
        decision = decide(position=held)
        assert decision.actions == ()
        alert = decision.alerts[-1]
        assert (alert.kind, alert.key) == ("order_skipped", "order_skipped:max_margin")
        assert alert.fields["usage_pct"] == D("50.01")
        assert alert.fields["cap_pct"] == D("50.00")
        assert (alert.fields["qty"], alert.fields["price"]) == (D("0.01"), D("100"))
        assert alert.fields["reason"] == "max margin"
        assert decision.conclusion.startswith("Skipped adding: margin usage 50.01% would exceed")

    def test_zero_max_margin_disables_tapering_and_the_check(self):
        held = position("600", "-60", ml="1.9")
        action = only_action(decide({"max_margin_pct": 0}, position=held))
        assert action.qty == D("6")  # q0 = 600 x 10 x 0.10 / 100, untapered


class TestRounding:
    """Spec 3.3 step 4 with Q4 (min one step) and Q5 (real minimums)."""

    @pytest.mark.parametrize(
        ("qty", "expected"),
        [("0.229", "0.22"), ("0.2222", "0.22"), ("1", "1"), ("0.0099", "0.01"), ("-3", "0.01")],
    )
    def test_toward_zero_never_below_one_step(self, qty, expected):
        assert round_entry_qty(D(qty), D("100"), rules(), True) == D(expected)

    def test_real_minimum_quantity(self):
        assert round_entry_qty(D("0.05"), D("100"), rules(min_qty="0.1"), True) == D("0.1")

    def test_real_minimum_order_value(self):
        # 0.01 x 100 = 1 USDT < 5 USDT minimum: the smallest order is 0.05
        assert round_entry_qty(D("0.01"), D("100"), rules(min_notional="5"), True) == D("0.05")

    def test_quantity_meeting_minimums_is_kept(self):
        assert round_entry_qty(D("0.07"), D("100"), rules(min_notional="5"), True) == D("0.07")

    def test_maximum_clamps(self):
        assert round_entry_qty(D("0.6"), D("100"), rules(max_qty="0.5"), True) == D("0.5")
        assert only_action(decide(instrument=rules(max_qty="0.5"))).qty == D("0.5")

    def test_without_min_one_step_a_too_small_order_is_skipped(self):
        assert round_entry_qty(D("0.005"), D("100"), rules(), False) is None
        decision = decide({"min_one_step": False}, position=position("10"))
        assert decision.actions == ()
        alert = decision.alerts[-1]
        assert (alert.kind, alert.key) == ("order_skipped", "order_skipped:below_minimum")
        assert decision.conclusion.startswith("Skipped adding: quantity")

    def test_profitable_add_is_one_step(self):
        # roe >= 0 gives q0 <= 0; the original tops the position up by one step (Q4)
        assert only_action(decide(position=position("10", "0.5"))).qty == D("0.01")

    def test_a_margin_that_rounds_to_zero_is_sized_as_an_open(self):
        """Spec 3.3 "open (pv = 0)": 0.004 reads 0.00, so q0 = B x 0.006 x L / price = 0.6."""
        action = only_action(decide(position=position("0.004", size="0.01")))
        assert (action.kind, action.qty) == (ActionKind.ADD, D("0.6"))

    def test_real_minimum_raises_the_one_step_add(self):
        decision = decide(position=position("10"), instrument=rules(min_notional="5"))
        assert only_action(decision).qty == D("0.05")


class TestExitQuantity:
    """Reduce: floor(size x fraction) on the step, at least the smallest order, at most the size."""

    def test_third_of_a_position(self):
        assert exit_qty(D("1"), D("0.33"), D("100"), rules()) == D("0.33")

    def test_tiny_position_reduces_by_the_smallest_order(self):
        assert exit_qty(D("0.02"), D("0.33"), D("100"), rules()) == D("0.01")

    def test_never_more_than_the_position(self):
        assert exit_qty(D("0.06"), D("0.33"), D("100"), rules(min_notional="5")) == D("0.05")

    def test_a_position_below_the_smallest_order_is_not_reduced(self):
        """The existing bot sent nothing; never a quantity below the exchange minimum."""
        assert exit_qty(D("0.03"), D("0.33"), D("100"), rules(min_notional="5")) is None

    def test_a_position_below_one_step_is_not_reduced(self):
        """Never a quantity off the step (the raw size was returned before)."""
        assert exit_qty(D("0.005"), D("0.33"), D("100"), rules()) is None

    def test_capped_at_the_maximum_order(self):
        assert exit_qty(D("10"), D("0.5"), D("100"), rules(max_qty="2")) == D("2")

    def test_close_is_capped_at_the_maximum_order(self):
        held = position("50", "5.5", size="5")
        action = only_action(decide(position=held, instrument=rules(max_qty="2")))
        assert (action.kind, action.qty) == (ActionKind.CLOSE, D("2"))
