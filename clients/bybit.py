"""Bybit v5 REST client for USDT perpetuals (category linear) in hedge mode."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from clients.base import (
    CANCELLED,
    FILLED,
    GOOD_TILL_CANCEL,
    IMMEDIATE_OR_CANCEL,
    NEW,
    PARTIALLY_FILLED,
    POST_ONLY,
    REJECTED,
    OrderRequest,
    OrderResult,
    margin_level,
)
from clients.errors import (
    AuthenticationError,
    DuplicateOrderIdError,
    ExchangeDataError,
    ExchangeError,
    InsufficientFundsError,
    InvalidOrderError,
    RateLimitedError,
    TemporaryError,
)
from clients.http import (
    Call,
    ClockSkewError,
    HttpExchangeClient,
    RequestBudget,
    acknowledged,
    field,
    fmt_decimal,
    hmac_sha256_hex,
    implied_position_side,
    opt_decimal,
    resolve_base_url,
    rows_of,
    to_decimal,
    utc_from_ms,
)
from strategies.types import LONG, SHORT, Balance, Candle, InstrumentRules, Position, Ticker

CATEGORY = "linear"
INTERVALS = {m: str(m) for m in (1, 3, 5, 15, 30, 60, 120, 240, 360, 720)}
INTERVALS |= {1440: "D", 10080: "W", 43200: "M"}
POSITION_IDX = {LONG: 1, SHORT: 2}
IDX_SIDE = {1: LONG, 2: SHORT}
TIME_IN_FORCE = {POST_ONLY: "PostOnly", GOOD_TILL_CANCEL: "GTC", IMMEDIATE_OR_CANCEL: "IOC"}
STATUSES = dict.fromkeys(("Created", "New", "Untriggered", "Triggered"), NEW)
STATUSES |= {"PartiallyFilled": PARTIALLY_FILLED, "Filled": FILLED, "Rejected": REJECTED}
STATUSES |= dict.fromkeys(("Cancelled", "PartiallyFilledCanceled", "Deactivated"), CANCELLED)
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

# retCodes from https://bybit-exchange.github.io/docs/v5/error
ERROR_CLASSES = {
    10002: ClockSkewError,
    **dict.fromkeys((10003, 10004, 10005, 10007, 10008, 10009, 10010, 33004), AuthenticationError),
    **dict.fromkeys((10006, 10018), RateLimitedError),
    **dict.fromkeys((10000, 10016, 10019, 170007), TemporaryError),
    **dict.fromkeys(
        (110004, 110006, 110007, 110012, 110044, 110045, 110051, 110052, 110053),
        InsufficientFundsError,
    ),
    **dict.fromkeys((110072, 110030), DuplicateOrderIdError),
    **dict.fromkeys((10001, 110003, 110017, 110020, 110094), InvalidOrderError),
}
LEVERAGE_NOT_MODIFIED = 110043
MODE_NOT_MODIFIED = 110025


def sign_payload(timestamp: str, api_key: str, recv_window: str, payload: bytes) -> bytes:
    """The string Bybit signs: timestamp + key + recv_window + (query string | JSON body)."""
    return f"{timestamp}{api_key}{recv_window}".encode() + payload


class BybitClient(HttpExchangeClient):
    """Bybit v5, linear USDT perpetuals, hedge mode (positionIdx 1 = Long, 2 = Short)."""

    name = "bybit"
    error_classes = ERROR_CLASSES
    order_gone_codes = frozenset({110001, 110008, 110010})

    def __init__(
        self,
        api_key: str,
        api_secret: str,
        *,
        testnet: bool = False,
        base_url: str | None = None,
        recv_window_ms: int = 5000,
        timeout: float = 10.0,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ):
        super().__init__(
            api_key,
            api_secret,
            base_url=resolve_base_url("bybit", testnet=testnet, base_url=base_url),
            timeout=timeout,
            clock=clock,
            sleep=sleep,
        )
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
        server_ms = int(to_decimal(result.get("timeNano") or 0, "timeNano") / 1_000_000)
        if server_ms <= 0:
            server_ms = int(to_decimal(field(result, "timeSecond"), "timeSecond")) * 1000
        self._offset_ms = server_ms - int((sent + received) / 2 * 1000)
        return self._offset_ms

    # Market data.
    def get_candles(self, symbol: str, interval_minutes: int, limit: int) -> list[Candle]:
        """The last ``limit`` closed candles, oldest first (Bybit lists newest first)."""
        step_ms = interval_minutes * 60_000
        now_ms = self.now_ms()
        found: dict[int, Candle] = {}
        end: int | None = None
        for _ in range(MAX_KLINE_PAGES):
            if limit <= 0:
                break
            want = min(limit + 1 - len(found), KLINE_PAGE)
            page = self.get_candle_range(symbol, interval_minutes, None, end, want)
            for candle in page:
                if candle.ts_ms + step_ms <= now_ms:
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
        return [_candle(row) for row in rows_of(result, "list")]

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
        row = rows[0]
        return Ticker(
            bid=to_decimal(field(row, "bid1Price"), "bid1Price"),
            ask=to_decimal(field(row, "ask1Price"), "ask1Price"),
        )

    def get_instrument(self, symbol: str) -> InstrumentRules:
        """Lot, price and leverage filters from /v5/market/instruments-info (cached 10 min)."""
        return self._cached(f"instrument:{symbol}", lambda: self._load_instrument(symbol))

    def _load_instrument(self, symbol: str) -> InstrumentRules:
        params = {"category": CATEGORY, "symbol": symbol}
        path = "/v5/market/instruments-info"
        rows = rows_of(self._call("GET", path, params=params, auth="none"), "list")
        if not rows:
            raise self.error(ExchangeDataError, f"unknown symbol {symbol}")
        lot, price = field(rows[0], "lotSizeFilter"), field(rows[0], "priceFilter")
        leverage = rows[0].get("leverageFilter") or {}
        return InstrumentRules(
            symbol=symbol,
            qty_step=to_decimal(field(lot, "qtyStep"), "qtyStep"),
            min_qty=to_decimal(field(lot, "minOrderQty"), "minOrderQty"),
            max_qty=to_decimal(field(lot, "maxOrderQty"), "maxOrderQty"),
            tick_size=to_decimal(field(price, "tickSize"), "tickSize"),
            min_notional=opt_decimal(lot.get("minNotionalValue"), "minNotionalValue") or Decimal(0),
            max_leverage=opt_decimal(leverage.get("maxLeverage"), "maxLeverage") or Decimal(100),
        )

    # Account.
    def get_balance(self) -> Balance:
        """USDT wallet balance and margin in use of the unified account."""
        params = {"accountType": "UNIFIED", "coin": "USDT"}
        rows = rows_of(self._call("GET", "/v5/account/wallet-balance", params=params), "list")
        if not rows:
            raise self.error(ExchangeDataError, "wallet-balance returned no account")
        for coin in rows[0].get("coin") or []:
            if coin.get("coin") == "USDT":
                wallet = to_decimal(field(coin, "walletBalance"), "walletBalance")
                used = (opt_decimal(coin.get("totalPositionIM"), "totalPositionIM") or 0) + (
                    opt_decimal(coin.get("totalOrderIM"), "totalOrderIM") or 0
                )
                return Balance(wallet=wallet, used=Decimal(used))
        return Balance(wallet=Decimal(0), used=Decimal(0))

    def get_positions(self) -> list[Position]:
        """Every open USDT position, both sides, through all pages."""
        params = {"category": CATEGORY, "settleCoin": "USDT", "limit": 200}
        rows = self._pages("/v5/position/list", params)
        return [p for p in (_position(row) for row in rows) if p]

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
                    return _order_result(row)
        return None

    def _cancel(self, symbol: str, handle: Any) -> None:
        body = {"category": CATEGORY, "symbol": symbol, "orderLinkId": handle}
        self._call("POST", "/v5/order/cancel", body=body)

    def _open_orders(self, symbol: str) -> list[tuple[str, Any]]:
        params = {"category": CATEGORY, "symbol": symbol, "openOnly": 0, "limit": 50}
        rows = self._pages("/v5/order/realtime", params)
        return [(str(row.get("orderLinkId", "")),) * 2 for row in rows]


def order_body(order: OrderRequest) -> dict:
    """The /v5/order/create body of an order request."""
    body: dict[str, Any] = {
        "category": CATEGORY,
        "symbol": order.symbol,
        "side": order.side,
        "orderType": "Market" if order.price is None else "Limit",
        "qty": fmt_decimal(order.qty),
    }
    if order.price is not None:
        body["price"] = fmt_decimal(order.price)
        body["timeInForce"] = TIME_IN_FORCE.get(order.time_in_force, "GTC")
    body["positionIdx"] = POSITION_IDX[order.position_side]
    body["orderLinkId"] = order.client_order_id
    body["reduceOnly"] = order.reduce_only
    return body


def _candle(row: Any) -> Candle:
    if not isinstance(row, list) or len(row) < 6:
        raise ExchangeDataError(f"bybit: malformed kline row {row!r}")
    return Candle(
        ts_ms=int(row[0]),
        open=to_decimal(row[1], "open"),
        high=to_decimal(row[2], "high"),
        low=to_decimal(row[3], "low"),
        close=to_decimal(row[4], "close"),
        volume=to_decimal(row[5], "volume"),
    )


def _position(row: Mapping) -> Position | None:
    size = to_decimal(field(row, "size"), "size")
    if size <= 0:
        return None
    side = IDX_SIDE.get(int(row.get("positionIdx", 0)))
    if side is None:
        side = LONG if row.get("side") == "Buy" else SHORT
    mark = to_decimal(field(row, "markPrice"), "markPrice")
    upnl = opt_decimal(row.get("unrealisedPnl"), "unrealisedPnl") or Decimal(0)
    margin = opt_decimal(row.get("positionIM"), "positionIM")
    if margin is None:
        margin = opt_decimal(row.get("positionBalance"), "positionBalance") or Decimal(0)
    maintenance = opt_decimal(row.get("positionMM"), "positionMM")
    level = None
    if maintenance is not None:
        if mark <= 0:
            raise ExchangeDataError(f"bybit: {row.get('symbol')} has no mark price")
        level = margin_level(margin, upnl, size, mark, maintenance / (size * mark))
    return Position(
        symbol=str(field(row, "symbol")),
        side=side,
        size=size,
        entry_price=to_decimal(field(row, "avgPrice"), "avgPrice"),
        margin=margin,
        unrealised_pnl=upnl,
        margin_level=level,
        mark_price=mark,
        leverage=opt_decimal(row.get("leverage"), "leverage") or Decimal(10),
        liquidation_price=opt_decimal(row.get("liqPrice"), "liqPrice"),
    )


def _order_result(row: Mapping) -> OrderResult:
    status_text = str(field(row, "orderStatus"))
    if status_text not in STATUSES:
        raise ExchangeDataError(f"bybit: unknown order status {status_text!r}")
    filled = opt_decimal(row.get("cumExecQty"), "cumExecQty") or Decimal(0)
    avg = opt_decimal(row.get("avgPrice"), "avgPrice")
    price = opt_decimal(row.get("price"), "price")
    side = str(field(row, "side"))
    reduce_only = bool(row.get("reduceOnly", False))
    position_side = IDX_SIDE.get(int(row.get("positionIdx", 0))) or implied_position_side(
        side, reduce_only
    )
    return OrderResult(
        client_order_id=str(row.get("orderLinkId", "")),
        symbol=str(field(row, "symbol")),
        side=side,
        position_side=position_side,
        qty=to_decimal(field(row, "qty"), "qty"),
        price=price if price and str(row.get("orderType")) != "Market" else None,
        status=STATUSES[status_text],
        filled_qty=filled,
        avg_price=avg if avg and filled > 0 else None,
        fee=opt_decimal(row.get("cumExecFee"), "cumExecFee") or Decimal(0),
        exchange_order_id=str(row.get("orderId", "")),
        reduce_only=reduce_only,
        updated_at=utc_from_ms(row.get("updatedTime")),
    )
