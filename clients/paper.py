"""The paper exchange: the simulated engine behind the ExchangeClient interface, state in a file."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from clients.base import ExchangeClient, OrderRequest, OrderResult
from clients.errors import (
    AuthenticationError,
    InvalidOrderError,
    OutcomeUnknownError,
    TemporaryError,
)
from clients.market import MINUTE_MS, PriceSource
from clients.paper_engine import ISOLATED, PaperEngine, PaperOrder, PaperPosition
from strategies.types import Balance, Candle, InstrumentRules, Position, Ticker

FAULTS = ("timeout_after_accept", "timeout_before_accept", "auth", "temporary", "reject")
KEEP_FINAL_ORDERS = 2000


class PaperClient(ExchangeClient):
    """Simulated fills on a price source; the clock is injected so runs and tests agree on time."""

    name = "paper"

    def __init__(
        self,
        market: PriceSource,
        clock: Callable[[], datetime],
        *,
        engine: PaperEngine | None = None,
        state_path: str | Path | None = None,
        max_catchup_minutes: int = 7 * 1440,
    ):
        self.market = market
        self.clock = clock
        self.state_path = Path(state_path) if state_path else None
        self.engine = engine or load_engine(self.state_path) or PaperEngine()
        self.max_catchup_minutes = max_catchup_minutes
        self.faults: list[str] = []
        self.requests: list[tuple[str, str]] = []
        # Real prices come with their exchange's candle intervals; the simulated market has all.
        inner = getattr(market, "client", None)
        self.candle_intervals = getattr(inner, "candle_intervals", None)

    def inject(self, fault: str, times: int = 1) -> None:
        """Make the next calls fail in a chosen way (tests and demos of the order lifecycle)."""
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; known: {', '.join(FAULTS)}")
        self.faults.extend([fault] * times)

    def _take_fault(self, *kinds: str) -> str | None:
        """Consume the next injected fault if it is one of ``kinds``."""
        if self.faults and self.faults[0] in kinds:
            return self.faults.pop(0)
        return None

    def _call(self, what: str, symbol: str = "") -> None:
        """Log the call and raise an injected read fault."""
        self.requests.append((what, symbol))
        fault = self._take_fault("auth", "temporary")
        if fault == "auth":
            raise AuthenticationError("invalid API key", code="auth", exchange="paper")
        if fault == "temporary":
            raise TemporaryError("simulated outage", code="503", exchange="paper")

    def sync(self, symbol: str) -> None:
        """Replay the minutes since the engine last looked, so resting orders fill in between."""
        now = self.clock()
        now_minute = int(now.timestamp() // 60)
        last_minute = self.engine.last_ts_ms // MINUTE_MS
        busy = self.engine.open_ids.get(symbol) or any(
            key[0] == symbol for key in self.engine.positions
        )
        if busy and last_minute and now_minute - 1 > last_minute:
            count = min(now_minute - 1 - last_minute, self.max_catchup_minutes)
            for candle in self.market.candles(symbol, 1, count, now):
                self.engine.on_candle(symbol, candle.ts_ms, candle.high, candle.low, candle.close)
        ticker = self.market.ticker(symbol, now)
        self.engine.marks[symbol] = (ticker.bid + ticker.ask) / 2
        self.engine.last_ts_ms = max(self.engine.last_ts_ms, (now_minute - 1) * MINUTE_MS)

    def get_candles(self, symbol: str, interval_minutes: int, limit: int) -> list[Candle]:
        """Closed candles from the price source."""
        self._call("candles", symbol)
        return self.market.candles(symbol, interval_minutes, limit, self.clock())

    def get_ticker(self, symbol: str) -> Ticker:
        """The source's touch."""
        self._call("ticker", symbol)
        return self.market.ticker(symbol, self.clock())

    def get_balance(self) -> Balance:
        """The simulated wallet."""
        self._call("balance")
        return self.engine.balance()

    def get_positions(self) -> list[Position]:
        """Every simulated position, brought up to date first."""
        self._call("positions")
        for symbol in {key[0] for key in self.engine.positions}:
            self.sync(symbol)
        self.save()
        return self.engine.all_positions()

    def get_instrument(self, symbol: str) -> InstrumentRules:
        """The source's rules."""
        self._call("instrument", symbol)
        return self.market.instrument(symbol)

    def set_leverage(self, symbol: str, leverage: Decimal) -> None:
        """Remember the leverage for new orders of this symbol."""
        self._call("leverage", symbol)
        self.engine.leverage[symbol] = Decimal(leverage)
        self.save()

    def ensure_hedge_mode(self, symbol: str) -> None:
        """The simulated account is always two-sided."""
        self._call("hedge_mode", symbol)

    def place_order(self, order: OrderRequest) -> OrderResult:
        """Fill or rest an order; an injected timeout hides the answer after acceptance."""
        self._call("place_order", order.symbol)
        if self._take_fault("timeout_before_accept"):
            raise OutcomeUnknownError("request timed out", exchange="paper")
        if self._take_fault("reject"):
            raise InvalidOrderError("simulated refusal", code="rejected", exchange="paper")
        self.sync(order.symbol)
        ticker = self.market.ticker(order.symbol, self.clock())
        rules = self.market.instrument(order.symbol)
        ts_ms = int(self.clock().timestamp() * 1000)
        result = self.engine.place(order, rules, ticker.bid, ticker.ask, ts_ms)
        self.save()
        if self._take_fault("timeout_after_accept"):
            raise OutcomeUnknownError("request timed out after sending", exchange="paper")
        return result

    def get_order(self, symbol: str, client_order_id: str) -> OrderResult | None:
        """Look an order up by client id."""
        self._call("get_order", symbol)
        self.sync(symbol)
        self.save()
        return self.engine.result(client_order_id)

    def cancel_orders(self, symbol: str, client_id_prefix: str) -> list[str]:
        """Cancel our resting orders (fills up to now are booked first)."""
        self._call("cancel_orders", symbol)
        self.sync(symbol)
        cancelled = self.engine.cancel(symbol, client_id_prefix)
        self.save()
        return cancelled

    def save(self) -> None:
        """Write the engine's state to its file, atomically."""
        if self.state_path is not None:
            save_engine(self.engine, self.state_path)


def engine_to_dict(engine: PaperEngine) -> dict:
    """A JSON-ready dump of the engine (Decimals as strings)."""
    final = [cid for cid, o in engine.orders.items() if o.status not in ("new",)]
    keep = set(final[-KEEP_FINAL_ORDERS:]) | {c for ids in engine.open_ids.values() for c in ids}
    return {
        "wallet": str(engine.wallet),
        "fees": [str(engine.maker_fee), str(engine.taker_fee), str(engine.slippage)],
        "fees_paid": str(engine.fees_paid),
        "funding_paid": str(engine.funding_paid),
        "liquidations": engine.liquidations,
        "last_ts_ms": engine.last_ts_ms,
        "leverage": {k: str(v) for k, v in engine.leverage.items()},
        "maint_rates": {k: str(v) for k, v in engine.maint_rates.items()},
        "maint_tiers": {
            k: [[str(cap), str(rate)] for cap, rate in v] for k, v in engine.maint_tiers.items()
        },
        "margin_mode": engine.margin_mode,
        "symbol_modes": dict(engine.symbol_modes),
        "liquidation_fee": str(engine.liquidation_fee),
        "marks": {k: str(v) for k, v in engine.marks.items()},
        "positions": [
            [
                sym,
                side,
                str(p.size),
                str(p.entry),
                str(p.margin),
                str(p.leverage),
                str(p.maint_rate),
            ]
            for (sym, side), p in engine.positions.items()
        ],
        "orders": {cid: _order_to_dict(o) for cid, o in engine.orders.items() if cid in keep},
        "open_ids": engine.open_ids,
    }


def _order_to_dict(order: PaperOrder) -> dict:
    """One order as plain JSON values."""
    r = order.request
    return {
        "symbol": r.symbol,
        "side": r.side,
        "pos": r.position_side,
        "qty": str(r.qty),
        "price": None if r.price is None else str(r.price),
        "reduce_only": r.reduce_only,
        "tif": r.time_in_force,
        "status": order.status,
        "ts": order.ts_ms,
        "lev": str(order.leverage),
        "filled": str(order.filled_qty),
        "avg": None if order.avg_price is None else str(order.avg_price),
        "fee": str(order.fee),
    }


def engine_from_dict(data: dict) -> PaperEngine:
    """Rebuild an engine from ``engine_to_dict`` output."""
    maker, taker, slip = (Decimal(x) for x in data["fees"])
    # A state saved before margin modes existed was simulated isolated: keep it so.
    engine = PaperEngine(
        Decimal(data["wallet"]),
        maker,
        taker,
        slip,
        margin_mode=data.get("margin_mode", ISOLATED),
        liquidation_fee=Decimal(data.get("liquidation_fee", engine_default_liq_fee())),
    )
    engine.symbol_modes = dict(data.get("symbol_modes", {}))
    engine.maint_tiers = {
        k: tuple((Decimal(cap), Decimal(rate)) for cap, rate in v)
        for k, v in data.get("maint_tiers", {}).items()
    }
    engine.fees_paid = Decimal(data["fees_paid"])
    engine.funding_paid = Decimal(data["funding_paid"])
    engine.liquidations = data["liquidations"]
    engine.last_ts_ms = data["last_ts_ms"]
    engine.leverage = {k: Decimal(v) for k, v in data["leverage"].items()}
    engine.maint_rates = {k: Decimal(v) for k, v in data["maint_rates"].items()}
    engine.marks = {k: Decimal(v) for k, v in data["marks"].items()}
    for sym, side, size, entry, margin, lev, mmr in data["positions"]:
        pos = PaperPosition(
            Decimal(size), Decimal(entry), Decimal(margin), Decimal(lev), Decimal(mmr)
        )
        engine._reprice(side, pos)
        engine.positions[(sym, side)] = pos
    for cid, o in data["orders"].items():
        req = OrderRequest(
            o["symbol"],
            o["side"],
            o["pos"],
            Decimal(o["qty"]),
            None if o["price"] is None else Decimal(o["price"]),
            cid,
            o["reduce_only"],
            o["tif"],
        )
        engine.orders[cid] = PaperOrder(
            req,
            o["status"],
            o["ts"],
            Decimal(o["lev"]),
            Decimal(o["filled"]),
            None if o["avg"] is None else Decimal(o["avg"]),
            Decimal(o["fee"]),
        )
    engine.open_ids = {k: list(v) for k, v in data["open_ids"].items()}
    return engine


def engine_default_liq_fee() -> str:
    """The engine's default liquidation fee rate as text."""
    return str(PaperEngine().liquidation_fee)


def load_engine(path: Path | None) -> PaperEngine | None:
    """The engine saved at ``path``, or None when there is none yet."""
    if path is None or not path.exists():
        return None
    return engine_from_dict(json.loads(path.read_text()))


def save_engine(engine: PaperEngine, path: Path) -> None:
    """Write atomically so a crash never leaves half a state file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".paper-", suffix=".json")
    with os.fdopen(fd, "w") as fh:
        json.dump(engine_to_dict(engine), fh)
    os.replace(tmp, path)
