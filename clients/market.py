"""Price sources for the paper exchange: a deterministic offline market built from a price path."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Protocol

import numpy as np

from clients.errors import UnknownSymbolError
from strategies.types import Candle, InstrumentRules, Ticker

MINUTE_MS = 60_000


class PriceSource(Protocol):
    """Where the paper exchange gets its prices: candles, the touch, and instrument rules."""

    def candles(
        self, symbol: str, interval_minutes: int, limit: int, now: datetime
    ) -> list[Candle]:
        """The last ``limit`` closed candles before ``now``, oldest first."""

    def ticker(self, symbol: str, now: datetime) -> Ticker:
        """Best bid and ask at ``now``."""

    def instrument(self, symbol: str) -> InstrumentRules:
        """The symbol's trading rules."""


DEFAULT_INSTRUMENTS = {
    "BTCUSDT": InstrumentRules(
        "BTCUSDT",
        Decimal("0.001"),
        Decimal("0.001"),
        Decimal("100"),
        Decimal("0.1"),
        Decimal("5"),
        Decimal("100"),
        Decimal("0.005"),
    ),
    "ETHUSDT": InstrumentRules(
        "ETHUSDT",
        Decimal("0.01"),
        Decimal("0.01"),
        Decimal("1000"),
        Decimal("0.01"),
        Decimal("5"),
        Decimal("100"),
        Decimal("0.005"),
    ),
}
DEFAULT_BASE_PRICES = {"BTCUSDT": 30000.0, "ETHUSDT": 2000.0}
# What the offline simulated market lists: large USDT perpetuals of both real exchanges. Any
# other symbol is refused, as a real exchange would, so a typo never trades on paper.
SIMULATED_SYMBOLS = frozenset(
    {
        "BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT", "DOGEUSDT", "ADAUSDT", "BNBUSDT", "LTCUSDT",
        "LINKUSDT", "AVAXUSDT", "DOTUSDT", "INJUSDT", "TRXUSDT", "ATOMUSDT", "NEARUSDT",
        "APTUSDT", "ARBUSDT", "OPUSDT", "SUIUSDT", "BCHUSDT", "ETCUSDT", "FILUSDT", "1000PEPEUSDT",
    }
)  # fmt: skip


def default_instrument(symbol: str) -> InstrumentRules:
    """Rules for a symbol the simulated market does not list: a small-cap-like contract."""
    return DEFAULT_INSTRUMENTS.get(symbol) or InstrumentRules(
        symbol,
        Decimal("1"),
        Decimal("1"),
        Decimal("1000000"),
        Decimal("0.0001"),
        Decimal("5"),
        Decimal("50"),
        Decimal("0.01"),
    )


def _unit_noise(minutes: np.ndarray, salt: int) -> np.ndarray:
    """Deterministic pseudo-random numbers in [-1, 1) for each minute index."""
    x = (minutes.astype(np.uint64) * np.uint64(2654435761) + np.uint64(salt)) % np.uint64(2**32)
    x = (x ^ (x >> np.uint64(13))) * np.uint64(1274126177) % np.uint64(2**32)
    return x.astype(np.float64) / 2**31 - 1.0


def _symbol_salt(symbol: str) -> int:
    """A stable small integer per symbol (hash() is salted per process, so not that)."""
    return sum((i + 1) * ord(c) for i, c in enumerate(symbol)) % 9973


def wave_path(symbol: str) -> Callable[[np.ndarray], np.ndarray]:
    """The default offline market: overlapping cycles of hours to weeks plus minute noise."""
    base = DEFAULT_BASE_PRICES.get(symbol, 10.0)
    salt = _symbol_salt(symbol)
    phase = salt / 9973 * 2 * math.pi

    def path(minutes: np.ndarray) -> np.ndarray:
        m = minutes.astype(np.float64)
        log_move = (
            0.012 * np.sin(2 * math.pi * m / (7 * 60) + phase)
            + 0.035 * np.sin(2 * math.pi * m / (2.3 * 1440) + 2 * phase)
            + 0.07 * np.sin(2 * math.pi * m / (11 * 1440) + 3 * phase)
            + 0.0006 * _unit_noise(minutes, salt)
        )
        return base * np.exp(log_move)

    return path


class PathMarket:
    """A market whose price at each minute is a function; candles are built from that path.

    Minute ``m`` spans [m, m+1) since the epoch: it opens at path(m), closes at path(m+1), and its
    high and low reach a little beyond those, so resting orders at the touch can fill.
    """

    def __init__(
        self,
        paths: dict[str, Callable[[np.ndarray], np.ndarray]] | None = None,
        instruments: dict[str, InstrumentRules] | None = None,
        wick: float = 0.0004,
    ):
        self.paths = dict(paths or {})
        self.instruments = dict(instruments or {})
        self.wick = wick

    def path(self, symbol: str) -> Callable[[np.ndarray], np.ndarray]:
        """The price function of a symbol (the default wave when none was given)."""
        if symbol not in self.paths:
            self.paths[symbol] = wave_path(symbol)
        return self.paths[symbol]

    def lists(self, symbol: str) -> bool:
        """Whether this market trades the symbol (given rules or path, or a simulated listing)."""
        return symbol in self.instruments or symbol in self.paths or symbol in SIMULATED_SYMBOLS

    def instrument(self, symbol: str) -> InstrumentRules:
        """The symbol's rules; UnknownSymbolError for a symbol the market does not list."""
        if not self.lists(symbol):
            raise UnknownSymbolError(
                f"unknown symbol {symbol}: the simulated market does not list it", exchange="paper"
            )
        return self.instruments.get(symbol) or default_instrument(symbol)

    def minute_arrays(self, symbol: str, start_minute: int, count: int) -> tuple[np.ndarray, ...]:
        """Open, high, low, close and volume of ``count`` 1-minute candles from ``start_minute``."""
        minutes = np.arange(start_minute, start_minute + count + 1, dtype=np.int64)
        prices = self.path(symbol)(minutes)
        opens, closes = prices[:-1], prices[1:]
        salt = _symbol_salt(symbol)
        up = np.abs(_unit_noise(minutes[:-1], salt + 1)) * self.wick
        down = np.abs(_unit_noise(minutes[:-1], salt + 2)) * self.wick
        highs = np.maximum(opens, closes) * (1 + up)
        lows = np.minimum(opens, closes) * (1 - down)
        volumes = 100 + 50 * (1 + _unit_noise(minutes[:-1], salt + 3))
        return opens, highs, lows, closes, volumes

    def candles(
        self, symbol: str, interval_minutes: int, limit: int, now: datetime
    ) -> list[Candle]:
        """The last ``limit`` closed candles of the interval before ``now``."""
        now_minute = int(now.timestamp() // 60)
        last_open = (now_minute // interval_minutes - 1) * interval_minutes
        first_open = last_open - (limit - 1) * interval_minutes
        o, h, low, c, v = self.minute_arrays(symbol, first_open, limit * interval_minutes)
        shape = (limit, interval_minutes)
        o, h, low, c, v = (a.reshape(shape) for a in (o, h, low, c, v))
        tick = self.instrument(symbol).tick_size
        rows = zip(o[:, 0], h.max(axis=1), low.min(axis=1), c[:, -1], v.sum(axis=1), strict=True)
        return [
            Candle(
                (first_open + i * interval_minutes) * MINUTE_MS,
                to_tick(op, tick),
                to_tick(hi, tick),
                to_tick(lo, tick),
                to_tick(cl, tick),
                Decimal(f"{vol:.3f}"),
            )
            for i, (op, hi, lo, cl, vol) in enumerate(rows)
        ]

    def price_at(self, symbol: str, now: datetime) -> float:
        """The path's price at an instant (interpolated within the minute)."""
        minute = now.timestamp() / 60
        m0 = math.floor(minute)
        p = self.path(symbol)(np.array([m0, m0 + 1], dtype=np.int64))
        return float(p[0] + (p[1] - p[0]) * (minute - m0))

    def ticker(self, symbol: str, now: datetime) -> Ticker:
        """Bid on the tick at the path price, ask one tick above."""
        tick = self.instrument(symbol).tick_size
        bid = to_tick(self.price_at(symbol, now), tick)
        return Ticker(bid=bid, ask=bid + tick)


def to_tick(value: float, tick: Decimal) -> Decimal:
    """A float price as a Decimal on the tick grid (the one place floats become prices)."""
    return (Decimal(repr(float(value))) / tick).to_integral_value() * tick


def utc_from_ms(ts_ms: int) -> datetime:
    """A UTC datetime from epoch milliseconds."""
    return datetime.fromtimestamp(ts_ms / 1000, tz=UTC)
