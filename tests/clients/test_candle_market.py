"""CandleMarket: recorded candles as a price source, closed candles only, the touch convention."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import numpy as np
import pytest

from clients.base import POST_ONLY, OrderRequest
from clients.candle_market import CandleMarket, CandleSeries, aggregate, touch
from clients.errors import ExchangeDataError
from clients.market import to_tick
from clients.paper import PaperClient
from clients.paper_engine import PaperEngine
from strategies.types import InstrumentRules

MINUTE = 60_000
DAY = datetime(2024, 3, 1, tzinfo=UTC)
DAY_MS = int(DAY.timestamp() * 1000)
RULES = InstrumentRules(
    "XUSDT", D("0.01"), D("0.01"), D("1000"), D("0.1"), D("0"), D("100"), D("0.005")
)


def minutes(count: int, start_ms: int = DAY_MS, first: float = 100.0, step: float = 0.01):
    """One-minute candles whose close moves by ``step`` a minute; high/low 0.5 either side."""
    close = np.round(first + step * np.arange(count), 2)
    opens = np.r_[first, close[:-1]]
    ts = start_ms + np.arange(count, dtype=np.int64) * MINUTE
    volume = np.arange(1, count + 1, dtype=float)
    return CandleSeries(ts, opens, close + 0.5, close - 0.5, close, volume, 1)


def market(series: CandleSeries) -> CandleMarket:
    """A market of one symbol with test rules (tick 0.1)."""
    return CandleMarket({"XUSDT": series}, {"XUSDT": RULES})


def at(hh: int, mm: int) -> datetime:
    """A time on the test day."""
    return DAY + timedelta(hours=hh, minutes=mm)


def test_aggregates_are_built_on_the_epoch_grid_from_first_open_extremes_last_close_and_sum():
    """An hour is [hh:00, hh+1:00): open of its first minute, close of its last, volume summed."""
    base = minutes(180, start_ms=DAY_MS + 30 * MINUTE)  # starts at 00:30
    hours = aggregate(base, 60)
    assert hours.ts.tolist() == [DAY_MS + h * 60 * MINUTE for h in range(4)]
    assert hours.count.tolist() == [30, 60, 60, 30]
    assert hours.complete().tolist() == [False, True, True, False]
    full = slice(30, 90)  # the 01:00 hour
    assert hours.open[1] == base.open[30] and hours.close[1] == base.close[89]
    assert hours.high[1] == base.high[full].max() and hours.low[1] == base.low[full].min()
    assert hours.volume[1] == base.volume[full].sum()


def test_a_bucket_missing_minutes_is_incomplete_and_one_wholly_inside_a_gap_does_not_exist():
    """Gaps are not bridged: no candle is invented for an hour without data."""
    base = minutes(240)
    keep = (base.ts < DAY_MS + 70 * MINUTE) | (base.ts >= DAY_MS + 180 * MINUTE)
    holed = CandleSeries(
        *(a[keep] for a in (base.ts, base.open, base.high, base.low, base.close, base.volume)), 1
    )
    hours = aggregate(holed, 60)
    assert ((hours.ts - DAY_MS) // (60 * MINUTE)).tolist() == [0, 1, 3]
    assert hours.count.tolist() == [60, 10, 60]


def test_only_intervals_that_are_multiples_of_the_data_can_be_built():
    """Five-minute data cannot make one-minute or seven-minute candles."""
    five = aggregate(minutes(60), 5)
    with pytest.raises(ValueError, match="multiple"):
        aggregate(five, 1)
    with pytest.raises(ValueError, match="multiple"):
        aggregate(five, 7)


def test_at_10_37_the_last_hourly_candle_is_the_one_that_closed_at_10_00():
    """Closed candles only: the forming 10:00 hour is invisible until 11:00."""
    feed = market(minutes(12 * 60))
    hourly = feed.candles("XUSDT", 60, 3, at(10, 37))
    assert [c.ts_ms for c in hourly] == [DAY_MS + h * 3_600_000 for h in (7, 8, 9)]
    assert hourly[-1].close == D(repr(100 + 0.01 * 599))  # the 09:59 minute's close
    assert feed.candles("XUSDT", 60, 1, at(11, 0))[0].ts_ms == DAY_MS + 10 * 3_600_000
    one_minute = feed.candles("XUSDT", 1, 2, at(10, 37))
    assert [c.ts_ms for c in one_minute] == [DAY_MS + (10 * 60 + m) * MINUTE for m in (35, 36)]


def test_candles_carry_the_files_exact_decimals_and_stop_at_the_start_of_the_data():
    """Values are the shortest decimals of the floats (the CSV text); early calls get fewer."""
    feed = market(minutes(30))
    got = feed.candles("XUSDT", 5, 100, at(0, 17))
    assert len(got) == 3
    first = got[0]
    assert (first.open, first.high, first.low, first.close) == (
        D("100.0"),
        D("100.54"),
        D("99.5"),
        D("100.04"),
    )
    assert first.volume == D("15.0")


def test_the_touch_is_the_last_closed_close_on_the_tick_and_one_tick_above():
    """bid = close of the last closed base candle rounded half-even to the tick, ask = bid + tick;
    the same rounding as the simulated market's."""
    feed = market(minutes(30))
    ticker = feed.ticker("XUSDT", at(0, 10))  # the 00:09 minute closed at 100.09
    assert (ticker.bid, ticker.ask) == (D("100.1"), D("100.2"))
    assert feed.ticker("XUSDT", at(0, 10) - timedelta(seconds=1)).bid == D("100.1")  # 100.08
    for close in (56733.25, 56733.35, 0.05, 123.449999):
        assert touch(close, D("0.1")).bid == to_tick(close, D("0.1"))


def test_during_a_gap_the_touch_stays_at_the_last_close_and_before_any_candle_there_is_none():
    """A stale price is what the recorded data can say; no data at all is an error."""
    base = minutes(20)
    holed = base.slice(0, 10)
    feed = market(holed)
    assert feed.ticker("XUSDT", at(0, 15)).bid == to_tick(float(base.close[9]), D("0.1"))
    with pytest.raises(ExchangeDataError, match="no XUSDT candle has closed"):
        feed.ticker("XUSDT", at(0, 0))
    with pytest.raises(ExchangeDataError, match="no candle data for YUSDT"):
        feed.candles("YUSDT", 1, 1, at(0, 5))


def test_a_paper_client_over_recorded_candles_fills_an_order_a_later_minute_trades_through():
    """The PriceSource contract: the paper exchange replays the minutes since it last looked."""
    falling = minutes(60, first=103.0, step=-0.05)
    clock = {"now": at(0, 10)}
    client = PaperClient(market(falling), lambda: clock["now"], engine=PaperEngine(D(1000)))
    bid = client.get_ticker("XUSDT").bid
    assert bid == D("102.6")  # the 00:09 close 102.55, half-even onto the 0.1 tick
    order = OrderRequest(
        "XUSDT", "Buy", "Long", D("0.5"), D("101.6"), "t-1", time_in_force=POST_ONLY
    )
    assert client.place_order(order).status == "new"
    clock["now"] = at(0, 19)  # the 00:18 low is 101.6: not through the order yet
    assert client.get_order("XUSDT", "t-1").status == "new"
    clock["now"] = at(0, 20)  # the 00:19 low 101.55 trades through
    filled = client.get_order("XUSDT", "t-1")
    assert filled.status == "filled" and filled.avg_price == D("101.6")
