"""Martingale parameters: the existing bot's CONFIG as defaults, plus its quirk switches."""

from __future__ import annotations

from decimal import Decimal

from strategies.base import BOOL, CHOICE, ParamInfo

D = Decimal

ORIGINAL = "original"
DESCENDING = "descending"
LIMIT = "limit"
MARKET = "market"

PARAMS: tuple[ParamInfo, ...] = (
    ParamInfo(
        "buy_until_limit",
        D("0.02"),
        min=D(0),
        max=D(1),
        help="Position margin as a fraction of the balance below which the bot keeps adding; "
        "at or above it, profit taking is allowed.",
    ),
    ParamInfo(
        "profit_threshold",
        D("0.003"),
        min=D(0),
        max=D(1),
        help="Unrealised profit must exceed this fraction of the balance (0.003 = 0.3 %) "
        "before any profit taking is considered.",
    ),
    ParamInfo(
        "profit_pnl",
        D("0.10"),
        min=D(0),
        max=D(10),
        help="Return on margin (0.10 = +10 %) above which the whole position is closed.",
    ),
    ParamInfo(
        "begin_size_of_balance",
        D("0.006"),
        min=D(0),
        max=D(1),
        help="Margin of a new position as a fraction of the balance (0.006 x leverage 10 = a "
        "notional of 6 % of the balance).",
    ),
    ParamInfo(
        "max_margin_pct",
        D("0.50"),
        min=D(0),
        max=D(1),
        help="Margin cap as a fraction of the balance, split between active symbols; entries "
        "taper off towards it and orders above it are refused. 0 disables both.",
    ),
    ParamInfo(
        "safe_decline_multiplier",
        D("1.5"),
        min=D(0),
        max=D(10),
        help="On a slow or moderate decline the bot keeps adding up to buy_until_limit times "
        "this (0.03 by default).",
    ),
    ParamInfo(
        "taper_start",
        D("0.7"),
        min=D(0),
        max=D(1),
        help="Fraction of the margin cap at which entry sizes start shrinking linearly to zero.",
    ),
    ParamInfo(
        "dip_add_roe",
        D("-0.05"),
        min=D(-1),
        max=D(0),
        help="A losing position adds when its return on margin is below this (-0.05 = -5 %) "
        "and price is on the right side of EMA50.",
    ),
    ParamInfo(
        "margin_warning_level",
        D("1.5"),
        min=D(0),
        max=D(100),
        help="A margin level below this sends a margin warning every run.",
    ),
    ParamInfo(
        "critical_margin_level",
        D("2"),
        min=D(0),
        max=D(100),
        help="A margin level below this always lets the bot manage the position and forces an "
        "add, even in a crash or high volatility.",
    ),
    ParamInfo(
        "reduce_pct_tier1",
        D("7.5"),
        min=D(0),
        max=D(100),
        help="Profit tier 1: when the position's margin exceeds this % of the balance, "
        "reduce it by reduce_fraction_tier1.",
    ),
    ParamInfo(
        "reduce_fraction_tier1",
        D("0.33"),
        min=D(0),
        max=D(1),
        help="Fraction of the position sold by profit tier 1.",
    ),
    ParamInfo(
        "reduce_pct_tier2",
        D("10"),
        min=D(0),
        max=D(100),
        help="Profit tier 2: margin above this % of the balance reduces by "
        "reduce_fraction_tier2 (never reached with the original tier order).",
    ),
    ParamInfo(
        "reduce_fraction_tier2",
        D("0.5"),
        min=D(0),
        max=D(1),
        help="Fraction of the position sold by profit tier 2.",
    ),
    ParamInfo(
        "profit_tier_order",
        ORIGINAL,
        kind=CHOICE,
        choices=(ORIGINAL, DESCENDING),
        help="'original' checks tier 1 before tier 2 as the existing bot (so tier 2 never runs, "
        "Q2); 'descending' checks the higher tier first.",
    ),
    ParamInfo(
        "safe_decline_add",
        True,
        kind=BOOL,
        help="Keep the existing bot's add on slow/moderate declines below the extended limit, "
        "even in high volatility and in profit (Q3).",
    ),
    ParamInfo(
        "min_one_step",
        True,
        kind=BOOL,
        help="A zero, negative or too-small entry becomes the smallest order the exchange "
        "accepts (Q4); off: such an order is skipped with an alert.",
    ),
    ParamInfo(
        "split_cap_per_symbol",
        True,
        kind=BOOL,
        help="The margin cap is max_margin_pct divided by the number of active symbols and "
        "checked per symbol (Q6); off: one account-wide cap on the total margin.",
    ),
    ParamInfo(
        "round_position_values",
        True,
        kind=BOOL,
        help="Round margin, PnL and ROE to 2 decimals before deciding, as the existing bot.",
    ),
    ParamInfo(
        "use_postonly",
        True,
        kind=BOOL,
        help="Entries are PostOnly limit orders at the bid (Long) / ask (Short); off: "
        "GoodTillCancel limit orders at the same price.",
    ),
    ParamInfo(
        "exit_order_type",
        LIMIT,
        kind=CHOICE,
        choices=(LIMIT, MARKET),
        help="'limit': reduce-only limit exits on the passive side (Long sells at the ask, Short "
        "buys at the bid, Q9); 'market': reduce-only market exits.",
    ),
)
