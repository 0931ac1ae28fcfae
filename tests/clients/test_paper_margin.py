"""Cross and isolated liquidation with hand-computed prices: one and two symbols, with funding.

Every account here: 1,000 USDT, no trading fees or slippage (so the arithmetic stays readable),
maintenance rate 0.5 %, 10x, a liquidation fee of 0.1 %. A Long of 50 at 100 holds 500 margin.
  isolated Long liquidates at (100·50 − 500) / (50·0.995) = 4500 / 49.75 = 90.4523...
  cross Long: 1000 + 50·(p − 100) = 0.25·p  →  p = 4000 / 49.75 = 80.4020...
  isolated Short: (500 + 100·50) / (50·1.005) = 5500 / 50.25 = 109.4527...
  cross Short: 1000 + 50·(100 − p) = 0.25·p  →  p = 6000 / 50.25 = 119.4029...
"""

from decimal import Decimal as D

import pytest

from clients.base import OrderRequest, margin_level, unrealised_pnl
from clients.paper import engine_from_dict, engine_to_dict
from clients.paper_engine import CROSS, ISOLATED, PaperEngine
from clients.paper_margin import check_margin_mode, tier_rate
from strategies.types import InstrumentRules

T0 = 1_700_000_000_000
FEE = D("0.001")


def rules(symbol="TESTUSDT", tiers=()):
    """Step 0.01, tick 0.01, maintenance 0.5 %."""
    return InstrumentRules(
        symbol, D("0.01"), D("0.01"), D("1000"), D("0.01"), D("5"), D("100"), D("0.005"), tiers
    )


def account(mode: str) -> PaperEngine:
    """1,000 USDT, no trading fees, 0.1 % liquidation fee, 10x on every symbol."""
    engine = PaperEngine(D(1000), D(0), D(0), D(0), margin_mode=mode, liquidation_fee=FEE)
    engine.leverage.update({"TESTUSDT": D(10), "OTHERUSDT": D(10)})
    return engine


def market(engine, cid, side="Long", qty="50", price="100", symbol="TESTUSDT"):
    """Open (or add to) a position at ``price`` with a market order (no slippage)."""
    buy = side == "Long"
    request = OrderRequest(symbol, "Buy" if buy else "Sell", side, D(qty), None, cid)
    engine.place(request, rules(symbol), D(price), D(price), T0)


def candle(engine, low, high, close=None, symbol="TESTUSDT", minute=1):
    """One candle through the engine."""
    close = D(close if close is not None else low)
    engine.on_candle(symbol, T0 + minute * 60_000, D(high), D(low), close)


CROSS_LONG = D(4000) / D("49.75")
CROSS_SHORT = D(6000) / D("50.25")
ISOLATED_LONG = D(4500) / D("49.75")
ISOLATED_SHORT = D(5500) / D("50.25")


@pytest.mark.parametrize(
    "mode, side, level",
    [
        (ISOLATED, "Long", ISOLATED_LONG),
        (ISOLATED, "Short", ISOLATED_SHORT),
        (CROSS, "Long", CROSS_LONG),
        (CROSS, "Short", CROSS_SHORT),
    ],
)
def test_the_liquidation_price_is_the_hand_computed_one(mode, side, level):
    engine = account(mode)
    market(engine, "o1", side)
    assert engine.position("TESTUSDT", side).liquidation_price == level
    falls, rises = engine.triggers("TESTUSDT")
    assert (falls if side == "Long" else rises) == pytest.approx(level, abs=D("1e-9"))


def test_the_cross_level_is_where_equity_meets_maintenance_margin():
    engine = account(CROSS)
    market(engine, "o1")
    p = CROSS_LONG
    equity = engine.wallet + unrealised_pnl("Long", D(50), D(100), p)
    assert equity == pytest.approx(D(50) * p * D("0.005"), abs=D("1e-20"))


@pytest.mark.parametrize("side", ["Long", "Short"])
def test_cross_survives_a_move_that_isolated_liquidates(side):
    low, high = ("85", "100") if side == "Long" else ("100", "115")
    isolated, cross = account(ISOLATED), account(CROSS)
    for engine in (isolated, cross):
        market(engine, "o1", side)
        candle(engine, low, high, close="100")
    assert isolated.liquidations == 1 and isolated.wallet == D(500)  # the margin is gone
    assert cross.liquidations == 0 and cross.positions
    assert cross.wallet == D(1000)


@pytest.mark.parametrize("side, level", [("Long", CROSS_LONG), ("Short", CROSS_SHORT)])
def test_cross_liquidates_at_its_price_and_pays_the_liquidation_fee(side, level):
    engine = account(CROSS)
    market(engine, "o1", side)
    just_short = level + D("0.01") if side == "Long" else level - D("0.01")
    candle(engine, min(just_short, D(100)), max(just_short, D(100)), close="100")
    assert engine.liquidations == 0
    candle(engine, min(level, D(100)) - 1, max(level, D(100)) + 1, close="100", minute=2)
    (liquidation,) = [f for f in engine.fills if f.kind == "LIQUIDATION"]
    assert liquidation.price == level
    assert liquidation.fee == D(50) * level * FEE
    # Equity at the level equals the maintenance margin; the fee comes out of what is left.
    assert engine.wallet == pytest.approx(D(50) * level * (D("0.005") - FEE), abs=D("1e-20"))
    assert engine.positions == {}


def test_a_candle_entirely_past_the_level_liquidates_at_its_nearest_price():
    engine = account(CROSS)
    market(engine, "o1")
    candle(engine, "70", "75", close="72")  # a gap down: the level was never traded
    assert engine.fills[-1].price == D(75)
    assert engine.wallet == D(0)  # the loss beyond the wallet is the insurance fund's


def test_two_symbols_share_the_cross_wallet_and_are_liquidated_together():
    """A Long of 50 TEST at 100 and a Short of 10 OTHER at 200 in one 1,000 USDT wallet.
    OTHER marked at 210: its uPnL −100 and maintenance 10·210·0.5 % = 10.5 leave
    1000 − 100 − 10.5 = 889.5 to back TEST: (5000 − 889.5) / 49.75 = 82.6231..."""
    engine = account(CROSS)
    market(engine, "o1")
    market(engine, "o2", "Short", qty="10", price="200", symbol="OTHERUSDT")
    assert engine.position("TESTUSDT", "Long").liquidation_price == D(4010) / D("49.75")
    candle(engine, "200", "210", close="210", symbol="OTHERUSDT")
    level = D("4110.5") / D("49.75")
    assert engine.triggers("TESTUSDT")[0] == pytest.approx(level, abs=D("1e-9"))
    candle(engine, "80", "84", close="81", minute=2)
    assert engine.positions == {}
    kinds = sorted((f.symbol, f.kind, f.price) for f in engine.fills if f.kind == "LIQUIDATION")
    assert kinds == [("OTHERUSDT", "LIQUIDATION", D(210)), ("TESTUSDT", "LIQUIDATION", level)]
    fees = D(50) * level * FEE + D(10) * D(210) * FEE
    expected = D(1000) + 50 * (level - 100) - 10 * (210 - 200) - fees
    assert engine.wallet == pytest.approx(expected, abs=D("1e-20"))
    assert engine.liquidations == 2


def test_an_isolated_symbol_is_set_apart_from_the_cross_wallet():
    """OTHER isolated with 200 margin: TEST's cross wallet is 1000 − 200 = 800, so
    p = (5000 − 800) / 49.75; OTHER's own liquidation touches only its margin."""
    engine = account(CROSS)
    engine.set_mode("OTHERUSDT", ISOLATED)
    market(engine, "o1")
    market(engine, "o2", "Short", qty="10", price="200", symbol="OTHERUSDT")
    assert engine.position("TESTUSDT", "Long").liquidation_price == D(4200) / D("49.75")
    assert engine.position("OTHERUSDT", "Short").liquidation_price == D(2200) / D("10.05")
    candle(engine, "200", "220", close="219", symbol="OTHERUSDT")
    assert [p.symbol for p in engine.all_positions()] == ["TESTUSDT"]
    assert engine.wallet == D(800)


def test_funding_moves_the_cross_level_but_not_the_isolated_one():
    """Paying 50·100·0.1 % = 5 leaves 995: the cross Long's level is (5000 − 995) / 49.75."""
    cross, isolated = account(CROSS), account(ISOLATED)
    for engine in (cross, isolated):
        market(engine, "o1")
        engine.apply_funding("TESTUSDT", D("0.001"), D(100), T0 + 60_000)
        assert engine.wallet == D(995)
    assert cross.position("TESTUSDT", "Long").liquidation_price == D(4005) / D("49.75")
    assert isolated.position("TESTUSDT", "Long").liquidation_price == ISOLATED_LONG
    candle(cross, D(4005) / D("49.75") + D("0.001"), "100", close="100")
    assert cross.liquidations == 0
    candle(cross, D(4005) / D("49.75"), "100", close="100", minute=2)
    assert cross.liquidations == 1


def test_the_margin_level_reads_the_same_in_both_modes():
    """The strategy's margin-level rule sees what the exchanges report, whatever the mode."""
    cross, isolated = account(CROSS), account(ISOLATED)
    for engine in (cross, isolated):
        market(engine, "o1")
        engine.marks["TESTUSDT"] = D(95)
    assert cross.position("TESTUSDT", "Long").margin_level == margin_level(
        D(500), D(-250), D(50), D(95), D("0.005")
    )
    assert (
        cross.position("TESTUSDT", "Long").margin_level
        == isolated.position("TESTUSDT", "Long").margin_level
    )


def test_risk_limit_tiers_give_the_whole_position_its_tier_rate():
    tiers = ((D(1000), D("0.005")), (D(10000), D("0.01")))
    assert tier_rate(tiers, D(999), D("0.02")) == D("0.005")
    assert tier_rate(tiers, D(5000), D("0.02")) == D("0.01")
    assert tier_rate(tiers, D(50000), D("0.02")) == D("0.01")
    assert tier_rate((), D(5000), D("0.02")) == D("0.02")
    engine = account(CROSS)
    request = OrderRequest("TESTUSDT", "Buy", "Long", D(50), None, "t1")
    engine.place(request, rules(tiers=tiers), D(100), D(100), T0)
    # 5,000 notional is in the 1 % tier: 1000 + 50(p − 100) = 0.5·p → p = 4000 / 49.5
    assert engine.positions[("TESTUSDT", "Long")].maint_rate == D("0.01")
    assert engine.position("TESTUSDT", "Long").liquidation_price == D(4000) / D("49.5")


def test_modes_survive_a_save_and_load():
    engine = account(CROSS)
    engine.set_mode("OTHERUSDT", ISOLATED)
    market(engine, "o1")
    copy = engine_from_dict(engine_to_dict(engine))
    assert (copy.margin_mode, copy.symbol_modes) == (CROSS, {"OTHERUSDT": ISOLATED})
    assert copy.liquidation_fee == FEE
    assert copy.position("TESTUSDT", "Long") == engine.position("TESTUSDT", "Long")
    legacy = engine_to_dict(engine)
    del legacy["margin_mode"]
    assert engine_from_dict(legacy).margin_mode == ISOLATED  # as it was simulated


def test_an_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="cross or isolated"):
        check_margin_mode("portfolio")
