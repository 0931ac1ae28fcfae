"""Real public prices for the paper exchange (EXCHANGE=paper PAPER_PRICES=bybit|phemex)."""

from __future__ import annotations

from datetime import datetime

from clients.base import ExchangeClient
from strategies.types import Candle, InstrumentRules, Ticker


class ExchangePriceSource:
    """A PriceSource (clients.market) backed by a real client's public endpoints; needs no keys."""

    def __init__(self, client: ExchangeClient):
        self._client = client
        self._instruments: dict[str, InstrumentRules] = {}

    @property
    def client(self) -> ExchangeClient:
        """The wrapped exchange client."""
        return self._client

    def candles(
        self, symbol: str, interval_minutes: int, limit: int, now: datetime
    ) -> list[Candle]:
        """The last ``limit`` candles closed by ``now``, oldest first."""
        cutoff_ms = int(now.timestamp() * 1000)
        step_ms = interval_minutes * 60_000
        rows = self._client.get_candles(symbol, interval_minutes, limit)
        closed = [c for c in rows if c.ts_ms + step_ms <= cutoff_ms]
        return closed[-limit:] if limit > 0 else []

    def ticker(self, symbol: str, now: datetime) -> Ticker:
        """The exchange's current best bid and ask (``now`` only names the caller's moment)."""
        return self._client.get_ticker(symbol)

    def instrument(self, symbol: str) -> InstrumentRules:
        """The symbol's rules, fetched once per source."""
        if symbol not in self._instruments:
            self._instruments[symbol] = self._client.get_instrument(symbol)
        return self._instruments[symbol]

    def close(self) -> None:
        """Release the client's connections."""
        self._client.close()
