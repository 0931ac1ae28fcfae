"""The ladder of an open position: prices from the paper engine's formula and the add rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest

from clients.base import unrealised_pnl
from clients.paper_engine import liquidation_price
from saas.dashboard.ladder import margin_level_price, roe_price, walk

D = Decimal
T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize("side", ["Long", "Short"])
@pytest.mark.parametrize(
    ("size", "entry", "margin", "mmr"),
    [
        (D("0.2"), D(28500), D(570), D("0.005")),
        (D(3), D("2012.5"), D("1207.5"), D("0.01")),
        (D("150"), D("0.4321"), D("6.48"), D("0.025")),
    ],
)
def test_margin_level_one_is_the_paper_engines_liquidation_price(side, size, entry, margin, mmr):
    assert margin_level_price(side, size, entry, margin, mmr, D(1)) == liquidation_price(
        side, size, entry, margin, mmr
    )


@pytest.mark.parametrize("side", ["Long", "Short"])
@pytest.mark.parametrize("level", [D("1.5"), D(2), D(3)])
def test_at_the_price_found_the_margin_level_is_the_one_asked_for(side, level):
    size, entry, margin, mmr = D("0.2"), D(28500), D(570), D("0.005")
    price = margin_level_price(side, size, entry, margin, mmr, level)
    upnl = unrealised_pnl(side, size, entry, price)
    assert abs((margin + upnl) / (size * price * mmr) - level) < D("1e-20")


@pytest.mark.parametrize("side", ["Long", "Short"])
def test_at_the_dip_price_the_return_on_margin_is_the_add_threshold(side):
    size, entry, margin = D("0.2"), D(28500), D(570)
    price = roe_price(side, size, entry, margin, D("-0.05"))
    assert unrealised_pnl(side, size, entry, price) / margin == D("-0.05")
    assert (price < entry) == (side == "Long")


def test_adds_move_the_average_entry_and_reduces_keep_it():
    fills = [
        SimpleNamespace(time=T0, action=a, price=D(p), qty=D(q))
        for a, p, q in [("OPEN", 100, 1), ("ADD", 80, 1), ("REDUCE", 95, "0.5"), ("ADD", 60, "0.5")]
    ]
    rungs = walk(fills)
    assert [(r.size, r.entry) for r in rungs] == [
        (D(1), D(100)),
        (D(2), D(90)),
        (D("1.5"), D(90)),
        (D(2), D("82.5")),
    ]


TEN, ZERO = D(10), D(0)


def fill(bid, pid, n, action, qty, price, size, entry, *, side="Long", lev=TEN, pnl=ZERO):
    """A fill whose position columns are what the exchange would report after it."""
    margin = size * entry / lev if size else D(0)
    upnl = unrealised_pnl(side, size, entry, price) if size else D(0)
    level = ((margin + upnl) / (size * price * D("0.005"))).quantize(D("0.01")) if size else None
    return {
        "bot_id": bid,
        "pair_id": pid,
        "client_order_id": f"l{pid}-{n}",
        "time": T0 + timedelta(hours=n),
        "symbol": "BTCUSDT",
        "side": side,
        "action": action,
        "qty": qty,
        "price": price,
        "fee": D(0),
        "pnl": pnl,
        "position_size": size,
        "position_value": margin,
        "pnl_percentage": upnl / margin * 100 if size else None,
        "margin_level": level,
        "balance_after": D(10000),
    }


@pytest.fixture
def long_ladder(dash_sqlite):
    """A closed deal, then an open Long of 0.1 @ 30000 plus 0.1 @ 27000."""
    dash = dash_sqlite
    uid = dash.user()
    bid = dash.bot(uid)
    pid = dash.pair(bid)
    dash.trades(
        [
            fill(bid, pid, 0, "OPEN", D("0.5"), D(31000), D("0.5"), D(31000)),
            fill(bid, pid, 1, "CLOSE", D("0.5"), D(32000), D(0), D(0), pnl=D(500)),
            fill(bid, pid, 2, "OPEN", D("0.1"), D(30000), D("0.1"), D(30000)),
            fill(bid, pid, 3, "ADD", D("0.1"), D(27000), D("0.2"), D(28500)),
        ]
    )
    return dash, uid, pid


def test_the_ladder_shows_only_the_open_positions_fills_and_its_prices(long_ladder):
    dash, uid, pid = long_ladder
    page = dash.client(uid).get(f"/dashboard/pairs/{pid}/ladder").get_data(as_text=True)
    rungs = page.split("Fills of this position", 1)[1]
    assert rungs.count("<tr><td>") == 2 and "31000" not in rungs
    assert 'id="ladder-entry">28,500.0000<' in page and 'id="ladder-size">0.2<' in page
    liquidation = liquidation_price("Long", D("0.2"), D(28500), D(570), D("0.005"))
    assert f"{liquidation:,.4f}" in page.split('id="level-liquidation"', 1)[1].split("</tr>")[0]
    dip = page.split('id="level-dip"', 1)[1].split("</tr>")[0]
    assert "28,357.5000" in dip and "Already reached" in dip  # ROE -5 %: 28500 - 0.05*570/0.2
    forced = page.split('id="level-forced"', 1)[1].split("</tr>")[0]
    forced_price = margin_level_price("Long", D("0.2"), D(28500), D(570), D("0.005"), D(2))
    assert f"{forced_price:,.4f}" in forced
    assert "What “next add” means" in page and "implied by the last fill" in page


def test_the_ladder_json_carries_the_fills_and_marked_prices(long_ladder):
    dash, uid, pid = long_ladder
    data = dash.client(uid).get(f"/dashboard/pairs/{pid}/ladder.json").get_json()
    assert data["open"] and [f["price"] for f in data["fills"]] == [30000.0, 27000.0]
    levels = {level["label"]: level for level in data["levels"]}
    assert levels["Average entry"]["price"] == 28500.0
    assert levels["Next add (ROE -5%)"]["price"] == 28357.5
    liquidation = float(liquidation_price("Long", D("0.2"), D(28500), D(570), D("0.005")))
    assert levels["Estimated liquidation"]["price"] == pytest.approx(liquidation, rel=1e-9)
    assert levels["Estimated liquidation"]["distance"] == pytest.approx(
        (liquidation / 27000 - 1) * 100, rel=1e-9
    )


def test_a_short_ladder_puts_its_prices_above_the_entry(dash_sqlite):
    dash = dash_sqlite
    uid = dash.user()
    bid = dash.bot(uid)
    pid = dash.pair(bid, side="Short", strategy_params={"dip_add_roe": "-0.1"})
    dash.trades([fill(bid, pid, 0, "OPEN", D(2), D(2000), D(2), D(2000), side="Short")])
    data = dash.client(uid).get(f"/dashboard/pairs/{pid}/ladder.json").get_json()
    levels = {level["label"]: level["price"] for level in data["levels"]}
    assert levels["Next add (ROE -10%)"] == 2020.0  # 2000 + 0.1 * 400 / 2
    assert levels["Estimated liquidation"] > levels["Forced add (margin level 2)"] > 2020.0


def test_a_pair_without_an_open_position_says_so(dash_sqlite):
    dash = dash_sqlite
    uid = dash.user()
    bid = dash.bot(uid)
    pid = dash.pair(bid)
    dash.trades(
        [
            fill(bid, pid, 0, "OPEN", D("0.5"), D(31000), D("0.5"), D(31000)),
            fill(bid, pid, 1, "CLOSE", D("0.5"), D(32000), D(0), D(0), pnl=D(500)),
        ]
    )
    client = dash.client(uid)
    page = client.get(f"/dashboard/pairs/{pid}/ladder").get_data(as_text=True)
    assert "holds no open position" in page
    assert client.get(f"/dashboard/pairs/{pid}/ladder.json").get_json() == {
        "open": False,
        "fills": [],
        "levels": [],
    }
