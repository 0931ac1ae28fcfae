"""Order shapes, alerts and the position-value switches of MartingaleStrategy.decide()."""

from __future__ import annotations

from decimal import Decimal

import pytest

from strategies import get_strategy
from strategies.types import BUY, LONG, SELL, SHORT, ActionKind
from tests.strategies.factories import position, snapshot, volatility

D = Decimal


def decide(params=None, **snap):
    """The strategy's decision on a factory snapshot."""
    return get_strategy("martingale", params).decide(snapshot(**snap))


def only_action(decision):
    """The single action of a decision."""
    assert len(decision.actions) == 1, decision
    return decision.actions[0]


class TestEntries:
    """Spec 3.4 / 5.6: passive limit entries at the side's touch, PostOnly by default."""

    @pytest.mark.parametrize(
        ("side", "order_side", "ema100"), [(LONG, BUY, 110.0), (SHORT, SELL, 90.0)]
    )
    def test_open_is_post_only_at_the_entry_price(self, side, order_side, ema100):
        snap = snapshot(side=side, ema100_1h=ema100)
        action = only_action(get_strategy("martingale").decide(snap))
        assert action.kind == ActionKind.OPEN
        assert (action.side, action.order_side) == (side, order_side)
        assert action.price == snap.price == (snap.bid if side == LONG else snap.ask)
        assert (action.reduce_only, action.post_only) == (False, True)

    def test_use_postonly_off_gives_good_till_cancel(self):
        action = only_action(decide({"use_postonly": False}))
        assert (action.post_only, action.reduce_only) == (False, False)

    def test_add_has_the_same_shape(self):
        action = only_action(decide(side=SHORT, position=position("10", side=SHORT)))
        assert (action.kind, action.order_side, action.price) == (ActionKind.ADD, SELL, D("100"))
        assert (action.reduce_only, action.post_only) == (False, True)


class TestExits:
    """Q9 fixed: reduce-only exits on the passive side; market exits on request."""

    def test_long_sells_at_the_ask(self):
        snap = snapshot(position=position("76", "5"))
        action = only_action(get_strategy("martingale").decide(snap))
        assert (action.kind, action.order_side) == (ActionKind.REDUCE, SELL)
        assert action.price == snap.ask == D("100.1")
        assert (action.reduce_only, action.post_only) == (True, False)

    def test_short_buys_at_the_bid(self):
        snap = snapshot(side=SHORT, position=position("50", "5.5", side=SHORT))
        action = only_action(get_strategy("martingale").decide(snap))
        assert (action.kind, action.order_side) == (ActionKind.CLOSE, BUY)
        assert action.price == snap.bid == D("99.9")
        assert action.reduce_only

    def test_market_exits_carry_no_price(self):
        action = only_action(decide({"exit_order_type": "market"}, position=position("76", "5")))
        assert action.is_market and action.reduce_only


class TestAlerts:
    """Spec 4b: margin, volatility and decline warnings every run while a position exists."""

    def test_margin_warning_below_1_5(self):
        decision = decide(position=position("50", "-4", ml="1.49"))
        (alert,) = decision.alerts
        assert (alert.kind, alert.key) == ("margin_warning", "margin_warning")
        assert alert.fields == {
            "symbol": "BTCUSDT",
            "side": LONG,
            "margin_level": D("1.49"),
            "value": D("50.00"),
            "upnl": D("-4.00"),
        }

    def test_no_margin_warning_at_exactly_1_5(self):
        assert decide(position=position("50", "-4", ml="1.5")).alerts == ()

    def test_high_volatility_alert_names_the_trigger(self):
        vol = volatility(high=True, trigger="atr", value=12.5, threshold=10.0)
        decision = decide(position=position("50", "-4"), vol=vol)
        (alert,) = decision.alerts
        assert (alert.kind, alert.key) == ("high_volatility", "high_volatility")
        assert alert.fields["metric"] == "atr"
        assert (alert.fields["value"], alert.fields["threshold"]) == (12.5, 10.0)
        assert alert.fields["margin_level"] == D("5")
        assert decision.conclusion == "High volatility (atr 12.5 > 10), pausing additions"

    def test_dangerous_decline_alert_carries_the_readings(self):
        vol = volatility("FAST_DECLINE", score=55.0, roc_5=-4.2, smoothness=2.8)
        (alert,) = decide(position=position("10"), vol=vol).alerts
        assert (alert.kind, alert.key) == ("dangerous_decline", "dangerous_decline")
        assert {k: alert.fields[k] for k in ("decline_type", "score", "roc_5", "smoothness")} == {
            "decline_type": "FAST_DECLINE",
            "score": 55.0,
            "roc_5": -4.2,
            "smoothness": 2.8,
        }

    def test_alerts_come_with_the_forced_add(self):
        decision = decide(decline="CRASH", high=True, position=position("50", "-10", ml="1.4"))
        assert [a.kind for a in decision.alerts] == [
            "margin_warning",
            "high_volatility",
            "dangerous_decline",
        ]
        assert only_action(decision).kind == ActionKind.ADD

    def test_no_alerts_without_a_position(self):
        assert decide(decline="CRASH", high=True).alerts == ()

    def test_no_alerts_when_the_gate_skips(self):
        decision = decide(high=True, ema200=120.0, position=position("10", ml="3"))
        assert decision.alerts == () and decision.actions == ()

    def test_alerts_repeat_on_every_run(self):
        strategy = get_strategy("martingale")
        snap = snapshot(high=True, position=position("50", "-4"))
        assert strategy.decide(snap).alerts == strategy.decide(snap).alerts != ()


class TestRoundPositionValues:
    """pv, uPnL and ROE are rounded to 2 decimals before deciding, as the existing client."""

    def test_rounded_margin_reaches_the_profit_limit(self):
        held = position("19.996", "3.01")  # pv rounds to 20.00 -> pf 0.02 -> profit branch
        assert only_action(decide(position=held)).kind == ActionKind.CLOSE
        unrounded = decide({"round_position_values": False}, position=held)
        assert only_action(unrounded).kind == ActionKind.ADD

    def test_rounded_roe_misses_the_dip_threshold(self):
        held = position("50", "-2.74")  # roe -0.0548 rounds to -0.05, not below -0.05
        assert decide(position=held).actions == ()
        unrounded = decide({"round_position_values": False}, position=held)
        assert only_action(unrounded).kind == ActionKind.ADD

    def test_percent_of_balance_is_rounded_for_the_tiers(self):
        held = position("75.004", "5")  # pct 7.5004 rounds to 7.50: not above 7.5
        assert decide(position=held).actions == ()
        unrounded = decide({"round_position_values": False}, position=held)
        assert only_action(unrounded).kind == ActionKind.REDUCE


class TestConclusions:
    """One readable line for every outcome."""

    def test_unusable_snapshots_explain_themselves(self):
        assert decide(balance="0").conclusion == "Skipped: wallet balance is 0"
        assert decide(price="0").conclusion.startswith("Skipped: no usable price")
        assert decide(leverage="0").conclusion == "Skipped: leverage must be positive, got 0"

    def test_zero_size_position_counts_as_none(self):
        assert only_action(decide(position=position("0", size="0"))).kind == ActionKind.OPEN

    def test_dip_add_names_ema50(self):
        decision = decide(position=position("50", "-4"))
        assert (
            decision.conclusion == "Added: ROE -0.08 below -0.05 with price 100 above EMA50 90.00"
        )

    def test_safe_decline_add_names_the_decline(self):
        decision = decide(decline="SLOW_DECLINE", position=position("25", "1"))
        assert decision.conclusion == ("Added: SLOW_DECLINE, position 2.50% of balance below 3%")

    def test_forced_add_names_the_margin_level(self):
        decision = decide(position=position("50", "-4", ml="1.8"))
        assert decision.conclusion == "Added: margin level 1.8 below 2"
