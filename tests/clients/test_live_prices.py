"""ExchangePriceSource: real public prices for the paper exchange, with no API keys."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from clients.live_prices import ExchangePriceSource
from strategies.types import Candle
from tests.fixtures.exchange import make_client

STEP = 300_000
FROZEN = datetime.now(UTC)


@pytest.fixture(params=["bybit", "phemex"])
def source(request, seeded_exchange):
    """A price source over a keyless client of each exchange."""
    frozen = FROZEN.timestamp()  # the client's clock stands still: no boundary race
    price_source = ExchangePriceSource(
        make_client(request.param, seeded_exchange, key="", secret="", clock=lambda: frozen)
    )
    yield price_source
    price_source.close()


def test_candles_are_those_closed_by_now_oldest_first(source, seeded_exchange):
    now = FROZEN
    current = int(now.timestamp() * 1000) // STEP * STEP
    seeded_exchange.set_candles(
        "BTCUSDT",
        5,
        [
            Candle(
                current - i * STEP, Decimal(1), Decimal(2), Decimal("0.5"), Decimal(1), Decimal(9)
            )
            for i in range(30)
        ],
    )
    candles = source.candles("BTCUSDT", 5, 10, now)
    assert [c.ts_ms for c in candles] == [current - k * STEP for k in range(10, 0, -1)]
    earlier = datetime.fromtimestamp((current - 3 * STEP) / 1000, UTC)
    assert source.candles("BTCUSDT", 5, 10, earlier)[-1].ts_ms == current - 4 * STEP


def test_ticker_is_the_exchange_touch(source):
    ticker = source.ticker("BTCUSDT", datetime.now(UTC))
    assert (ticker.bid, ticker.ask) == (Decimal("29999.9"), Decimal("30000.1"))


def test_instrument_rules_are_fetched_once(source, seeded_exchange):
    first = source.instrument("BTCUSDT")
    assert source.instrument("BTCUSDT") is first
    paths = {"/v5/market/instruments-info", "/public/products"}
    assert len([r for r in seeded_exchange.requests if r.path in paths]) == 1
    assert first.tick_size == Decimal("0.1")
