"""Phemex REST client for hedged USDT-M perpetuals (the g- endpoints).

The wire format (codes, signing string, order body, answer parsers) is in clients.phemex_wire.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from clients.base import OrderRequest, OrderResult
from clients.errors import (
    AuthenticationError,
    ExchangeDataError,
    ExchangeError,
    InvalidOrderError,
    RateLimitedError,
    UnknownSymbolError,
)
from clients.http import HttpExchangeClient
from clients.http_codec import (
    acknowledged,
    closed_candles,
    field,
    fmt_decimal,
    hmac_sha256_hex,
    rows_of,
    to_decimal,
)
from clients.http_policy import Call, RequestBudget
from clients.phemex_wire import (
    AUTH_WORDS,
    ERROR_CLASSES,
    GENERIC_REJECT,
    KLINE_LIMITS,
    NOT_FOUND,
    NUMERIC_POS_SIDES,
    NUMERIC_SIDES,
    RESOLUTIONS,
    STATUSES,
    client_id,
    error_message,
    int_code,
    is_auth_reject,
    order_body,
    parse_balance,
    parse_candles,
    parse_instrument,
    parse_order,
    parse_position,
    parse_ticker,
    retry_after_seconds,
    sign_payload,
)
from strategies.types import LONG, SHORT, Balance, Candle, InstrumentRules, Position, Ticker

# Public names; the wire ones are re-exported from clients.phemex_wire.
__all__ = [
    "AUTH_WORDS",
    "ERROR_CLASSES",
    "EXPIRY_SECONDS",
    "GENERIC_REJECT",
    "KLINE_LAST",
    "KLINE_LIMITS",
    "KLINE_LIST",
    "NOT_FOUND",
    "NUMERIC_POS_SIDES",
    "NUMERIC_SIDES",
    "POSITIONS_WEIGHT",
    "RESOLUTIONS",
    "STATUSES",
    "PhemexClient",
    "order_body",
    "sign_payload",
]

KLINE_LAST = "/exchange/public/md/v2/kline/last"
KLINE_LIST = "/exchange/public/md/v2/kline/list"
EXPIRY_SECONDS = 60
POSITIONS_WEIGHT = 25  # /g-accounts/positions computes uPnL and costs 25 of the 500 a minute


class PhemexClient(HttpExchangeClient):
    """Phemex hedged USDT-M perpetuals: posSide Long/Short, real-valued *Rp/*Rq/*Rv fields."""

    name = "phemex"
    error_classes = ERROR_CLASSES
    candle_intervals = frozenset(RESOLUTIONS)
    order_gone_codes = frozenset({10002, 11062, 11063})

    def __init__(self, api_key: str, api_secret: str, **options):
        super().__init__(api_key, api_secret, **options)
        clock, sleep = self._clock, self._sleep
        # Published limits: contract group 500 a minute per user, everything else 100 a minute.
        self._contract_budget = RequestBudget(500 / 60, 100, clock=clock, sleep=sleep)
        self._other_budget = RequestBudget(100 / 60, 30, clock=clock, sleep=sleep)

    def _auth_headers(self, method: str, path: str, query: str, body: bytes) -> dict[str, str]:
        expiry = str(int(self._clock()) + EXPIRY_SECONDS)
        message = sign_payload(path, query, expiry, body)
        return {
            "x-phemex-access-token": self._api_key,
            "x-phemex-request-expiry": expiry,
            "x-phemex-request-signature": hmac_sha256_hex(self._api_secret, message),
        }

    def _budget_for(self, path: str) -> tuple[RequestBudget, float]:
        if path.startswith(("/g-orders", "/g-accounts", "/g-positions")):
            weight = POSITIONS_WEIGHT if path == "/g-accounts/positions" else 1.0
            return self._contract_budget, weight
        return self._other_budget, 1.0

    def _check(self, status: int, payload: Any, headers: Mapping[str, str], call: Call) -> Any:
        message = error_message(payload)
        if status == 429:
            raise self.error(
                RateLimitedError,
                f"{call}: HTTP 429, too many requests ({message})",
                code=429,
                retry_after=retry_after_seconds(headers),
            )
        if status in (401, 403):
            code = payload.get("code", status) if isinstance(payload, dict) else status
            raise self.error(
                AuthenticationError, f"{call}: HTTP {status} {message}".rstrip(), code=code
            )
        if not isinstance(payload, dict):
            raise self.error(ExchangeDataError, f"{call}: unexpected answer (HTTP {status})")
        if "code" in payload:
            code = int_code(payload.get("code"))
            data = payload.get("data")
            if code == 0 and isinstance(data, dict) and int_code(data.get("bizError", 0)):
                code, message = int_code(data.get("bizError")), f"bizError in {data!r}"[:200]
            if code != 0:
                raise self._mapped(code, message, call)
            return data
        error = payload.get("error")
        if error:
            code = int_code(error.get("code")) if isinstance(error, dict) else -1
            raise self._mapped(code, message, call)
        if "result" in payload:
            return payload["result"]
        raise self.error(ExchangeDataError, f"{call}: answer has neither code nor result")

    def _mapped(self, code: int, message: str, call: Call) -> ExchangeError:
        if is_auth_reject(code, message):
            return self.error(AuthenticationError, f"{call}: {message}", code)
        return self.mapped_error(code, message, call)

    # Market data.
    def get_candles(self, symbol: str, interval_minutes: int, limit: int) -> list[Candle]:
        """The last ``limit`` closed candles: smallest allowed kline limit, forming one dropped."""
        resolution = self._resolution(interval_minutes)
        want = limit + 1
        kline_limit = next((n for n in KLINE_LIMITS if n >= want), KLINE_LIMITS[-1])
        params = {"symbol": symbol, "resolution": resolution, "limit": kline_limit}
        data = self._call("GET", KLINE_LAST, params=params, auth="optional")
        closed = closed_candles(parse_candles(data), interval_minutes, int(self._clock() * 1000))
        return closed[-limit:] if limit > 0 else []

    def get_candle_range(
        self, symbol: str, interval_minutes: int, start_ms: int, end_ms: int
    ) -> list[Candle]:
        """Candles opening in [start_ms, end_ms] from kline/list (seconds, under 1000 rows)."""
        resolution = self._resolution(interval_minutes)
        step = resolution
        params = {
            "symbol": symbol,
            "from": start_ms // 1000 // step * step,
            "to": (end_ms // 1000 // step + 1) * step,
            "resolution": resolution,
        }
        data = self._call("GET", KLINE_LIST, params=params, auth="optional")
        return [c for c in parse_candles(data) if start_ms <= c.ts_ms <= end_ms]

    def _resolution(self, minutes: int) -> int:
        if minutes not in RESOLUTIONS:
            raise self.error(InvalidOrderError, f"Phemex has no {minutes}-minute candles")
        return RESOLUTIONS[minutes]

    def get_ticker(self, symbol: str) -> Ticker:
        """Best bid and ask (bidRp/askRp) from /md/v3/ticker/24hr."""
        result = self._call("GET", "/md/v3/ticker/24hr", params={"symbol": symbol}, auth="none")
        return parse_ticker(result)

    def get_instrument(self, symbol: str) -> InstrumentRules:
        """Rules from /public/products perpProductsV2 (and riskLimitsV2 for maintenance)."""
        data = self._product_data()
        product = next(
            (p for p in data.get("perpProductsV2") or [] if p.get("symbol") == symbol), None
        )
        if product is None:
            raise self.error(UnknownSymbolError, f"unknown symbol {symbol}")
        return parse_instrument(symbol, product, data)

    def _product_data(self) -> dict:
        return self._cached("products", lambda: self._call("GET", "/public/products", auth="none"))

    # Account.
    def _account_positions(self, symbol: str | None = None) -> dict:
        params = {"currency": "USDT", "symbol": symbol}
        data = self._call("GET", "/g-accounts/accountPositions", params=params)
        if not isinstance(data, dict):
            raise self.error(ExchangeDataError, "accountPositions: data is not an object")
        return data

    def get_balance(self) -> Balance:
        """accountBalanceRv and totalUsedBalanceRv of the USDT account."""
        return parse_balance(field(self._account_positions(), "account"))

    def get_positions(self) -> list[Position]:
        """Open positions with uPnL and mark price (/g-accounts/positions carries both)."""
        data = self._call("GET", "/g-accounts/positions", params={"currency": "USDT"})
        rows = field(data, "positions") if isinstance(data, dict) else None
        if not isinstance(rows, list):
            raise self.error(ExchangeDataError, "positions: 'positions' is not a list")
        return [p for p in (parse_position(row) for row in rows) if p]

    def set_leverage(self, symbol: str, leverage: Decimal) -> None:
        """Both hedged sides to ``leverage``, keeping the margin mode (negative = cross)."""
        current = [
            to_decimal(row.get("leverageRr", 0), "leverageRr")
            for row in self._account_positions(symbol).get("positions") or []
            if row.get("symbol") == symbol and row.get("posSide") in (LONG, SHORT)
        ]
        cross = not current or any(value <= 0 for value in current)
        target = -abs(Decimal(leverage)) if cross else abs(Decimal(leverage))
        if len(current) == 2 and all(value == target for value in current):
            return  # not modified
        text = fmt_decimal(target)
        params = {"symbol": symbol, "longLeverageRr": text, "shortLeverageRr": text}
        try:
            self._call("PUT", "/g-positions/leverage", params=params)
        except ExchangeError as exc:
            if "not modified" not in str(exc).lower():
                raise

    def ensure_hedge_mode(self, symbol: str) -> None:
        """Switch the symbol to Hedged unless its positions already report it."""
        rows = self._account_positions(symbol).get("positions") or []
        if any(r.get("symbol") == symbol and r.get("posMode") == "Hedged" for r in rows):
            return
        params = {"symbol": symbol, "targetPosMode": "Hedged"}
        try:
            self._call("PUT", "/g-positions/switch-pos-mode-sync", params=params)
        except ExchangeError as exc:
            text = str(exc).lower()
            if "not modified" not in text and "already" not in text:
                raise

    # Orders (placing and cancelling ours are in HttpExchangeClient).
    def _submit(self, order: OrderRequest) -> OrderResult:
        data = self._call("POST", "/g-orders", body=order_body(order), order=True)
        if isinstance(data, dict) and data.get("ordStatus"):
            return parse_order(data)
        return acknowledged(order)

    def get_order(self, symbol: str, client_order_id: str) -> OrderResult | None:
        """By clOrdID: the open orders, then the order history (/api-data/g-futures/orders)."""
        for row in self._active_orders(symbol):
            if client_id(row) == client_order_id:
                return parse_order(row)
        params = {"symbol": symbol, "clOrdID": client_order_id}
        data = self._call("GET", "/api-data/g-futures/orders/by-order-id", params=params)
        for row in rows_of(data, "rows"):
            if client_id(row) == client_order_id:
                return parse_order(row)
        return None

    def _open_orders(self, symbol: str) -> list[tuple[str, Any]]:
        return [(client_id(row), row) for row in self._active_orders(symbol)]

    def _cancel(self, symbol: str, handle: Any) -> None:
        params = {"orderID": field(handle, "orderID"), "posSide": handle.get("posSide")}
        self._call("DELETE", "/g-orders/cancel", params={**params, "symbol": symbol})

    def _active_orders(self, symbol: str) -> list[dict]:
        try:
            data = self._call("GET", "/g-orders/activeList", params={"symbol": symbol})
        except ExchangeError as exc:
            if exc.code == NOT_FOUND:
                return []  # Phemex answers "order not found" when nothing is open
            raise
        return rows_of(data, "rows")
