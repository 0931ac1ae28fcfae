"""Decision table for spec section 3: gate, profit tiers, add clauses and the open filter.

Every row is one situation and what the existing bot does in it; ids name the spec clause.
Defaults (tests/strategies/factories.py): balance B = 1000, leverage 10, price 100, step 0.01,
Long above EMA50/EMA200 and below the 1h EMA100, no high volatility, decline UNKNOWN.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from strategies import get_strategy
from strategies.types import LONG, SHORT, ActionKind
from tests.strategies.factories import position, snapshot

OPEN, ADD, REDUCE, CLOSE = ActionKind.OPEN, ActionKind.ADD, ActionKind.REDUCE, ActionKind.CLOSE


def case(case_id, expect, *, qty=None, says=None, params=None, pos=None, **snap):
    """One row: snapshot overrides, optional position fields, the action kind and quantity."""
    return pytest.param(snap, pos, params, expect, qty, says, id=case_id)


# A table reads best one situation per row, so the formatter leaves it alone.
# fmt: off
TABLE = [
    # --- Step 3 gate (workflows/MartingaleTradingWorkflow.py:33) ---
    case("gate: no position always passes, even below EMA200", OPEN, ema200=120.0),
    case("gate: Long above EMA200 is managed", ADD, pos={"margin": "10"}),
    case("gate: Long below EMA200 with ML>=2 is skipped", None, ema200=120.0,
         pos={"margin": "10", "ml": "3.2"},
         says="Skipped: Long below EMA200 120.00 with margin level 3.2"),
    case("gate: Long exactly at EMA200 is skipped (strict >)", None, ema200=100.0,
         pos={"margin": "10"}, says="Skipped: Long at EMA200"),
    case("gate: Long below EMA200 but ML<2 is managed", ADD, ema200=120.0,
         pos={"margin": "10", "ml": "1.99"}),
    case("gate: ML exactly 2 is not critical", None, ema200=120.0,
         pos={"margin": "10", "ml": "2"}, says="Skipped"),
    case("gate: Short below EMA200 is managed", ADD, side=SHORT, ema200=120.0,
         pos={"margin": "10"}),
    case("gate: Short above EMA200 with ML>=2 is skipped", None, side=SHORT, ema200=80.0,
         pos={"margin": "10", "ml": "3"}, says="Skipped: Short above EMA200"),
    case("gate: Short above EMA200 but ML<2 is managed", ADD, side=SHORT, ema200=80.0,
         pos={"margin": "10", "ml": "1.5"}),
    case("gate: unknown margin level counts as not critical", None, ema200=120.0,
         pos={"margin": "10", "ml": None}, says="Skipped"),
    # --- 4b branch 1: upnl/B > 0.003 and pf >= 0.02 ---
    case("branch 1: upnl/B exactly 0.003 is not profit", None,
         pos={"margin": "20", "upnl": "3"}, says="Nothing changed"),
    case("branch 1: upnl/B above 0.003 with pf exactly 0.02 takes profit (roe 0.15 closes)",
         CLOSE, qty="1", pos={"margin": "20", "upnl": "3.01"}),
    case("branch 1: pf just below 0.02 is not profit; adds one step instead (Q4)", ADD,
         qty="0.01", pos={"margin": "19.99", "upnl": "3.01"}),
    # --- 3.1 profit tiers, original order 7.5 then 10 (Q2) ---
    case("3.1: pct 7.6 reduces 33%", REDUCE, qty="0.33",
         pos={"margin": "76", "upnl": "5"}, says="Reduced 33%: position 7.60% of balance"),
    case("3.1: pct exactly 7.5 is no tier; roe 0.07 under target", None,
         pos={"margin": "75", "upnl": "5"}, says="Nothing changed: in profit"),
    case("3.1: pct 12 still reduces 33% (10% tier unreachable, Q2)", REDUCE, qty="0.33",
         pos={"margin": "120", "upnl": "5"}),
    case("3.1: the tier ignores roe (pct 8, roe 0.5 reduces, not closes)", REDUCE, qty="0.33",
         pos={"margin": "80", "upnl": "40"}),
    case("3.1: roe 0.11 closes the full size", CLOSE, qty="2",
         pos={"margin": "50", "upnl": "5.5", "size": "2"}, says="Closed: ROE 0.11 above"),
    case("3.1: roe exactly 0.10 does nothing", None,
         pos={"margin": "50", "upnl": "5"}, says="Nothing changed: in profit"),
    case("3.1 descending: pct 12 reduces 50%", REDUCE, qty="0.5",
         params={"profit_tier_order": "descending"}, pos={"margin": "120", "upnl": "5"},
         says="Reduced 50%"),
    case("3.1 descending: pct 8 reduces 33%", REDUCE, qty="0.33",
         params={"profit_tier_order": "descending"}, pos={"margin": "80", "upnl": "5"}),
    case("3.1 descending: pct 7 with roe 0.11 closes", CLOSE, qty="1",
         params={"profit_tier_order": "descending"}, pos={"margin": "70", "upnl": "7.7"}),
    # --- 4b branch 2: add clauses ---
    case("add: ML<2 forces an add even in CRASH with high volatility", ADD, qty="1",
         decline="CRASH", high=True, pos={"margin": "50", "upnl": "-10", "ml": "1.9"}),
    case("add: ML exactly 2 in CRASH pauses", None, decline="CRASH",
         pos={"margin": "50", "upnl": "-10", "ml": "2"},
         says="Dangerous decline (CRASH), pausing additions"),
    case("add: SLOW decline with pf<0.03 adds despite HV and profit (Q3)", ADD, qty="0.01",
         decline="SLOW_DECLINE", high=True, pos={"margin": "25", "upnl": "1"}),
    case("add: MODERATE decline with pf<0.03 adds", ADD, decline="MODERATE_DECLINE", high=True,
         pos={"margin": "29.99", "upnl": "-1"}),
    case("add: safe decline at pf exactly 0.03 does not add; HV pauses", None,
         decline="SLOW_DECLINE", high=True, pos={"margin": "30", "upnl": "1"},
         says="High volatility (bb_width 9.5 > 8), pausing additions"),
    case("add: safe_decline_add off lets HV block the add", None, decline="SLOW_DECLINE",
         high=True, params={"safe_decline_add": False}, pos={"margin": "25", "upnl": "1"},
         says="High volatility"),
    case("add: HV blocks the plain pf<0.02 clause", None, high=True, pos={"margin": "10"},
         says="High volatility"),
    case("add: pf<0.02 without HV adds", ADD, qty="0.01", pos={"margin": "10"},
         says="Added: position 1.00% of balance below 2%"),
    case("add: dip clause, Long above EMA50 with roe -0.08", ADD, qty="0.4",
         pos={"margin": "50", "upnl": "-4"}),
    case("add: dip clause, Long below EMA50 waits (V50 false)", None, ema50=105.0,
         pos={"margin": "50", "upnl": "-4"}, says="Nothing changed"),
    case("add: dip clause, Short below EMA50 adds", ADD, qty="0.4", side=SHORT,
         pos={"margin": "50", "upnl": "-4"}),
    case("add: dip clause, Short above EMA50 waits", None, side=SHORT, ema50=95.0,
         pos={"margin": "50", "upnl": "-4"}, says="Nothing changed"),
    case("add: dip clause needs roe below -0.05 (exactly -0.05 waits)", None,
         pos={"margin": "50", "upnl": "-2.5"}, says="Nothing changed"),
    case("add: HV blocks the dip clause", None, high=True, pos={"margin": "50", "upnl": "-4"},
         says="High volatility"),
    case("add: FAST_DECLINE pauses additions", None, decline="FAST_DECLINE",
         pos={"margin": "10"}, says="Dangerous decline (FAST_DECLINE), pausing additions"),
    case("add: CRASH pauses the dip clause too", None, decline="CRASH",
         pos={"margin": "50", "upnl": "-4"}, says="Dangerous decline (CRASH)"),
    # --- 4c open filter ---
    case("open: Long below 1h EMA100 opens 0.6 (3.3 worked check)", OPEN, qty="0.6",
         ema100_1h=101.2, says="Opened: price 100 below 1h EMA100 101.20"),
    case("open: Long exactly at 1h EMA100 waits", None, ema100_1h=100.0,
         says="Waiting for dip: price 100 at 1h EMA100"),
    case("open: Long above 1h EMA100 waits", None, ema100_1h=95.0,
         says="Waiting for dip: price 100 above 1h EMA100 95.00"),
    case("open: Short above 1h EMA100 opens", OPEN, qty="0.6", side=SHORT, ema100_1h=95.0),
    case("open: Short below 1h EMA100 waits", None, side=SHORT, ema100_1h=105.0,
         says="Waiting for rise: price 100 below"),
    case("open: not automatic never opens", None, auto=False,
         says="No position; automatic mode is off"),
    case("open: high volatility blocks", None, high=True, says="High volatility"),
    case("open: FAST_DECLINE blocks", None, decline="FAST_DECLINE",
         says="Dangerous decline (FAST_DECLINE), not opening"),
    case("open: CRASH blocks", None, decline="CRASH", says="Dangerous decline (CRASH)"),
    case("open: SLOW_DECLINE does not block", OPEN, decline="SLOW_DECLINE"),
    case("open: MODERATE_DECLINE does not block", OPEN, decline="MODERATE_DECLINE"),
]
# fmt: on


@pytest.mark.parametrize(("snap", "pos", "params", "expect", "qty", "says"), TABLE)
def test_decision_table(snap, pos, params, expect, qty, says):
    """The first matching branch of spec section 3 decides, with the original's thresholds."""
    side = snap.get("side", LONG)
    if pos is not None:
        snap["position"] = position(side=side, **pos)
    decision = get_strategy("martingale", params).decide(snapshot(**snap))

    kinds = [action.kind for action in decision.actions]
    assert kinds == ([] if expect is None else [expect]), decision.conclusion
    if qty is not None:
        assert decision.actions[0].qty == Decimal(qty)
    if says is not None:
        assert decision.conclusion.startswith(says), decision.conclusion
    assert decision.conclusion
