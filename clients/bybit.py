"""Bybit v5 REST client for USDT perpetuals (category linear) in hedge mode.

The wire format (codes, signing string, order body, answer parsers) is in clients.bybit_wire.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from clients.base import OrderRequest, OrderResult
from clients.bybit_wire import (
    CATEGORY,
    ERROR_CLASSES,
    IDX_SIDE,
    INTERVALS,
    LEVERAGE_NOT_MODIFIED,
    MODE_NOT_MODIFIED,
    POSITION_IDX,
    STATUSES,
    TIME_IN_FORCE,
    order_body,
    parse_balance,
    parse_candle,
    parse_instrument,
    parse_order,
    parse_position,
    parse_ticker,
    server_time_ms,
    sign_payload,
)
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
    fmt_decimal,
    hmac_sha256_hex,
    rows_of,
)
from clients.http_policy import Call, ClockSkewError, RequestBudget
from strategies.types import Balance, Candle, InstrumentRules, Position, Ticker

# Public names; the wire ones are re-exported from clients.bybit_wire.
__all__ = [
    "CATEGORY",
    "ERROR_CLASSES",
    "HEDGE_MODE",
    "IDX_SIDE",
    "INTERVALS",
    "KLINE_PAGE",
    "LEVERAGE_NOT_MODIFIED",
    "MAX_KLINE_PAGES",
    "MODE_NOT_MODIFIED",
    "POSITION_IDX",
    "STATUSES",
    "TIME_IN_FORCE",
    "TRADE_PATHS",
    "BybitClient",
    "order_body",
    "sign_payload",
]

TRADE_PATHS = frozenset(
    {
        "/v5/order/create",
        "/v5/order/cancel",
        "/v5/position/set-leverage",
        "/v5/position/switch-mode",
    }
)
HEDGE_MODE = 3  # "both sides" in /v5/position/switch-mode
KLINE_PAGE = 1000  # the documented maximum; a server that caps lower is paged through
MAX_KLINE_PAGES = 20


class BybitClient(HttpExchangeClient):
    """Bybit v5, linear USDT perpetuals, hedge mode (positionIdx 1 = Long, 2 = Short)."""

    name = "bybit"
    error_classes = ERROR_CLASSES
    candle_intervals = frozenset(INTERVALS)
    order_gone_codes = frozenset({110001, 110008, 110010})

    def __init__(self, api_key: str, api_secret: str, *, recv_window_ms: int = 5000, **options):
        super().__init__(api_key, api_secret, **options)
        clock, sleep = self._clock, self._sleep
        self.recv_window_ms = recv_window_ms
        self._offset_ms = 0
        # Per-UID limits: 10 a second on the trade endpoints, 50 on the account reads.
        self._trade_budget = RequestBudget(10, 10, clock=clock, sleep=sleep)
        self._read_budget = RequestBudget(50, 50, clock=clock, sleep=sleep)

    # Transport hooks.
    def now_ms(self) -> int:
        """The exchange's idea of now, from our clock and the last measured offset."""
        return int(self._clock() * 1000) + self._offset_ms

    def _auth_headers(self, method: str, path: str, query: str, body: bytes) -> dict[str, str]:
        timestamp = str(self.now_ms())
        recv_window = str(self.recv_window_ms)
        payload = query.encode() if method == "GET" else body
        message = sign_payload(timestamp, self._api_key, recv_window, payload)
        return {
            "X-BAPI-API-KEY": self._api_key,
            "X-BAPI-TIMESTAMP": timestamp,
            "X-BAPI-RECV-WINDOW": recv_window,
            "X-BAPI-SIGN": hmac_sha256_hex(self._api_secret, message),
        }

    def _budget_for(self, path: str) -> tuple[RequestBudget, float]:
        if path in TRADE_PATHS:
            return self._trade_budget, 1.0
        return self._read_budget, 1.0

    def _check(self, status: int, payload: Any, headers: Mapping[str, str], call: Call) -> Any:
        if status in (403, 429):
            # 403 is Bybit's IP-level "access too frequent" answer.
            raise self.error(
                RateLimitedError,
                f"{call}: HTTP {status}, too many requests",
                code=status,
                retry_after=self._retry_after(headers),
            )
        if status == 401:
            raise self.error(AuthenticationError, f"{call}: HTTP 401 unauthorized", code=401)
        if not isinstance(payload, dict) or "retCode" not in payload:
            raise self.error(ExchangeDataError, f"{call}: unexpected answer (HTTP {status})")
        try:
            code = int(payload["retCode"])
        except (TypeError, ValueError):
            raise self.error(ExchangeDataError, f"{call}: retCode is not a number") from None
        message = str(payload.get("retMsg", ""))
        if code != 0:
            raise self.mapped_error(code, message, call, self._retry_after(headers))
        result = payload.get("result")
        if not isinstance(result, dict):
            raise self.error(ExchangeDataError, f"{call}: answer has no result object")
        return result

    def _retry_after(self, headers: Mapping[str, str]) -> float:
        reset = headers.get("X-Bapi-Limit-Reset-Timestamp")
        try:
            return max(0.0, (int(reset) - self.now_ms()) / 1000)
        except (TypeError, ValueError):
            return 1.0

    def _call(self, method: str, path: str, **kwargs) -> Any:
        """A request; a refused timestamp resyncs the clock and retries a read once."""
        try:
            return super()._call(method, path, **kwargs)
        except ClockSkewError:
            self.sync_time()
            if method != "GET":
                raise
            return super()._call(method, path, **kwargs)

    def sync_time(self) -> int:
        """Measure the offset between our clock and Bybit's (/v5/market/time); the offset in ms."""
        sent = self._clock()
        result = super()._call("GET", "/v5/market/time", auth="none")
        received = self._clock()
        self._offset_ms = server_time_ms(result) - int((sent + received) / 2 * 1000)
        return self._offset_ms

    # Market data.
    def get_candles(self, symbol: str, interval_minutes: int, limit: int) -> list[Candle]:
        """The last ``limit`` closed candles, oldest first (Bybit lists newest first)."""
        now_ms = self.now_ms()
        found: dict[int, Candle] = {}
        end: int | None = None
        for _ in range(MAX_KLINE_PAGES):
            if limit <= 0:
                break
            want = min(limit + 1 - len(found), KLINE_PAGE)
            page = self.get_candle_range(symbol, interval_minutes, None, end, want)
            for candle in closed_candles(page, interval_minutes, now_ms):
                found[candle.ts_ms] = candle
            oldest = min((candle.ts_ms for candle in page), default=None)
            if len(found) >= limit or oldest is None or (end is not None and oldest > end):
                break  # enough, no older history, or a server that ignores ``end``
            end = oldest - 1
        return sorted(found.values(), key=lambda c: c.ts_ms)[-limit:] if limit > 0 else []

    def get_candle_range(
        self,
        symbol: str,
        interval_minutes: int,
        start_ms: int | None,
        end_ms: int | None,
        limit: int = 200,
    ) -> list[Candle]:
        """Candles opening in [start_ms, end_ms] as Bybit lists them (the forming one included)."""
        params = {
            "category": CATEGORY,
            "symbol": symbol,
            "interval": self._interval(interval_minutes),
            "start": start_ms,
            "end": end_ms,
            "limit": limit,
        }
        result = self._call("GET", "/v5/market/kline", params=params, auth="none")
        return [parse_candle(row) for row in rows_of(result, "list")]

    def _interval(self, minutes: int) -> str:
        if minutes not in INTERVALS:
            raise self.error(InvalidOrderError, f"Bybit has no {minutes}-minute candles")
        return INTERVALS[minutes]

    def get_ticker(self, symbol: str) -> Ticker:
        """Best bid and ask from /v5/market/tickers."""
        params = {"category": CATEGORY, "symbol": symbol}
        rows = rows_of(self._call("GET", "/v5/market/tickers", params=params, auth="none"), "list")
        if not rows:
            raise self.error(ExchangeDataError, f"no ticker for {symbol}")
        return parse_ticker(rows[0])

    def get_instrument(self, symbol: str) -> InstrumentRules:
        """Lot, price and leverage filters from /v5/market/instruments-info (cached 10 min)."""
        return self._cached(f"instrument:{symbol}", lambda: self._load_instrument(symbol))

    def _load_instrument(self, symbol: str) -> InstrumentRules:
        params = {"category": CATEGORY, "symbol": symbol}
        path = "/v5/market/instruments-info"
        rows = rows_of(self._call("GET", path, params=params, auth="none"), "list")
        if not rows:
            raise self.error(UnknownSymbolError, f"unknown symbol {symbol}")
        return parse_instrument(symbol, rows[0])

    # Account.
    def get_balance(self) -> Balance:
        """USDT wallet balance and margin in use of the unified account."""
        params = {"accountType": "UNIFIED", "coin": "USDT"}
        rows = rows_of(self._call("GET", "/v5/account/wallet-balance", params=params), "list")
        if not rows:
            raise self.error(ExchangeDataError, "wallet-balance returned no account")
        return parse_balance(rows[0])

    def get_positions(self) -> list[Position]:
        """Every open USDT position, both sides, through all pages."""
        params = {"category": CATEGORY, "settleCoin": "USDT", "limit": 200}
        rows = self._pages("/v5/position/list", params)
        return [p for p in (parse_position(row) for row in rows) if p]

    def _pages(self, path: str, params: dict) -> list[dict]:
        """Every row of a cursor-paginated list."""
        rows: list[dict] = []
        cursor = None
        for _ in range(50):
            result = self._call("GET", path, params={**params, "cursor": cursor})
            rows.extend(rows_of(result, "list"))
            cursor = result.get("nextPageCursor") or None
            if not cursor:
                break
        return rows

    def set_leverage(self, symbol: str, leverage: Decimal) -> None:
        """Both sides to ``leverage``; retCode 110043 (not modified) is success."""
        text = fmt_decimal(Decimal(leverage))
        body = {"category": CATEGORY, "symbol": symbol, "buyLeverage": text, "sellLeverage": text}
        try:
            self._call("POST", "/v5/position/set-leverage", body=body)
        except ExchangeError as exc:
            if exc.code != LEVERAGE_NOT_MODIFIED:
                raise

    def ensure_hedge_mode(self, symbol: str) -> None:
        """Switch the symbol to both-sides mode; retCode 110025 (not modified) is success."""
        body = {"category": CATEGORY, "symbol": symbol, "mode": HEDGE_MODE}
        try:
            self._call("POST", "/v5/position/switch-mode", body=body)
        except ExchangeError as exc:
            if exc.code != MODE_NOT_MODIFIED:
                raise

    # Orders (placing and cancelling ours are in HttpExchangeClient).
    def _submit(self, order: OrderRequest) -> OrderResult:
        result = self._call("POST", "/v5/order/create", body=order_body(order), order=True)
        return acknowledged(order, str(result.get("orderId", "")))

    def get_order(self, symbol: str, client_order_id: str) -> OrderResult | None:
        """Look an order up by orderLinkId: open orders first, then the order history."""
        params = {"category": CATEGORY, "symbol": symbol, "orderLinkId": client_order_id}
        for path in ("/v5/order/realtime", "/v5/order/history"):
            for row in rows_of(self._call("GET", path, params=params), "list"):
                if row.get("orderLinkId") == client_order_id:
                    return parse_order(row)
        return None

    def _cancel(self, symbol: str, handle: Any) -> None:
        body = {"category": CATEGORY, "symbol": symbol, "orderLinkId": handle}
        self._call("POST", "/v5/order/cancel", body=body)

    def _open_orders(self, symbol: str) -> list[tuple[str, Any]]:
        params = {"category": CATEGORY, "symbol": symbol, "openOnly": 0, "limit": 50}
        rows = self._pages("/v5/order/realtime", params)
        return [(str(row.get("orderLinkId", "")),) * 2 for row in rows]
