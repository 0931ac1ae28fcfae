"""Phemex REST client for hedged USDT-M perpetuals (the g- endpoints)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from clients.base import (
    CANCELLED,
    FILLED,
    NEW,
    PARTIALLY_FILLED,
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
)
from clients.http import (
    Call,
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

RESOLUTIONS = {1: 60, 5: 300, 15: 900, 30: 1800, 60: 3600, 240: 14400, 1440: 86400}
RESOLUTIONS |= {10080: 604800, 43200: 2592000}
KLINE_LIMITS = (5, 10, 50, 100, 500, 1000)
KLINE_LAST = "/exchange/public/md/v2/kline/last"
KLINE_LIST = "/exchange/public/md/v2/kline/list"
STATUSES = dict.fromkeys(("Created", "Init", "New", "Untriggered", "Triggered"), NEW)
STATUSES |= {"PartiallyFilled": PARTIALLY_FILLED, "Filled": FILLED, "Rejected": REJECTED}
STATUSES |= dict.fromkeys(("Canceled", "Deactivated", "Suspended"), CANCELLED)
# /exchange/order/v2 lists statuses as numbers
STATUSES |= {"1": NEW, "5": NEW, "6": PARTIALLY_FILLED, "7": FILLED, "8": CANCELLED}
NUMERIC_SIDES = {"1": "Buy", "2": "Sell"}
NUMERIC_POS_SIDES = {"1": LONG, "2": SHORT}

# Codes from phemex-api-docs TradingErrorCode.md and observed auth answers.
ERROR_CLASSES = {
    **dict.fromkeys((401, 34003, 39996), AuthenticationError),
    39995: RateLimitedError,
    **dict.fromkeys((10001, 11033, 11085), DuplicateOrderIdError),
    **dict.fromkeys(
        (11001, 11003, 11005, 11010, 11082, 11100, 11105, 11106), InsufficientFundsError
    ),
    **dict.fromkeys((11004, 11027, 11055, 11056, 11057, 11058, 11114, 11115), InvalidOrderError),
}
NOT_FOUND = 10002
GENERIC_REJECT = 10500  # also used for auth failures; told apart by its message
AUTH_WORDS = ("signature", "api-key", "api key", "expired", "auth", "ip mismatch", "privilege")
EXPIRY_SECONDS = 60
POSITIONS_WEIGHT = 25  # /g-accounts/positions computes uPnL and costs 25 of the 500 a minute


def sign_payload(path: str, query: str, expiry: str, body: bytes) -> bytes:
    """The string Phemex signs: URL path + query string + expiry + body."""
    return f"{path}{query}{expiry}".encode() + body


class PhemexClient(HttpExchangeClient):
    """Phemex hedged USDT-M perpetuals: posSide Long/Short, real-valued *Rp/*Rq/*Rv fields."""

    name = "phemex"
    error_classes = ERROR_CLASSES
    order_gone_codes = frozenset({10002, 11062, 11063})

    def __init__(
        self,
        api_key: str,
        api_secret: str,
        *,
        testnet: bool = False,
        base_url: str | None = None,
        timeout: float = 10.0,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ):
        super().__init__(
            api_key,
            api_secret,
            base_url=resolve_base_url("phemex", testnet=testnet, base_url=base_url),
            timeout=timeout,
            clock=clock,
            sleep=sleep,
        )
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
        message = _message(payload)
        if status == 429:
            raise self.error(
                RateLimitedError,
                f"{call}: HTTP 429, too many requests ({message})",
                code=429,
                retry_after=_retry_after(headers),
            )
        if status in (401, 403):
            code = payload.get("code", status) if isinstance(payload, dict) else status
            raise self.error(
                AuthenticationError, f"{call}: HTTP {status} {message}".rstrip(), code=code
            )
        if not isinstance(payload, dict):
            raise self.error(ExchangeDataError, f"{call}: unexpected answer (HTTP {status})")
        if "code" in payload:
            code = _int_code(payload.get("code"))
            data = payload.get("data")
            if code == 0 and isinstance(data, dict) and _int_code(data.get("bizError", 0)):
                code, message = _int_code(data.get("bizError")), f"bizError in {data!r}"[:200]
            if code != 0:
                raise self._mapped(code, message, call)
            return data
        error = payload.get("error")
        if error:
            code = _int_code(error.get("code")) if isinstance(error, dict) else -1
            raise self._mapped(code, message, call)
        if "result" in payload:
            return payload["result"]
        raise self.error(ExchangeDataError, f"{call}: answer has neither code nor result")

    def _mapped(self, code: int, message: str, call: Call) -> ExchangeError:
        lowered = message.lower()
        if code == GENERIC_REJECT and any(word in lowered for word in AUTH_WORDS):
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
        closed = _closed(_candles(data), interval_minutes, self._clock())
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
        return [c for c in _candles(data) if start_ms <= c.ts_ms <= end_ms]

    def _resolution(self, minutes: int) -> int:
        if minutes not in RESOLUTIONS:
            raise self.error(InvalidOrderError, f"Phemex has no {minutes}-minute candles")
        return RESOLUTIONS[minutes]

    def get_ticker(self, symbol: str) -> Ticker:
        """Best bid and ask (bidRp/askRp) from /md/v3/ticker/24hr."""
        result = self._call("GET", "/md/v3/ticker/24hr", params={"symbol": symbol}, auth="none")
        return Ticker(
            bid=to_decimal(field(result, "bidRp"), "bidRp"),
            ask=to_decimal(field(result, "askRp"), "askRp"),
        )

    def get_instrument(self, symbol: str) -> InstrumentRules:
        """Rules from /public/products perpProductsV2 (and riskLimitsV2 for maintenance)."""
        data = self._product_data()
        product = next(
            (p for p in data.get("perpProductsV2") or [] if p.get("symbol") == symbol), None
        )
        if product is None:
            raise self.error(ExchangeDataError, f"unknown symbol {symbol}")
        step = to_decimal(field(product, "qtyStepSize"), "qtyStepSize")
        return InstrumentRules(
            symbol=symbol,
            qty_step=step,
            min_qty=step,  # Phemex publishes no separate minimum size; one step is the least
            max_qty=to_decimal(field(product, "maxOrderQtyRq"), "maxOrderQtyRq"),
            tick_size=to_decimal(field(product, "tickSize"), "tickSize"),
            min_notional=opt_decimal(product.get("minOrderValueRv"), "minOrderValueRv")
            or Decimal(0),
            max_leverage=opt_decimal(product.get("maxLeverage"), "maxLeverage") or Decimal(100),
            maint_margin_rate=_maintenance_rate(data, symbol),
        )

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
        account = field(self._account_positions(), "account")
        return Balance(
            wallet=to_decimal(field(account, "accountBalanceRv"), "accountBalanceRv"),
            used=to_decimal(field(account, "totalUsedBalanceRv"), "totalUsedBalanceRv"),
        )

    def get_positions(self) -> list[Position]:
        """Open positions with uPnL and mark price (/g-accounts/positions carries both)."""
        data = self._call("GET", "/g-accounts/positions", params={"currency": "USDT"})
        rows = field(data, "positions") if isinstance(data, dict) else None
        if not isinstance(rows, list):
            raise self.error(ExchangeDataError, "positions: 'positions' is not a list")
        return [p for p in (_position(row) for row in rows) if p]

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
            return _order_result(data)
        return acknowledged(order)

    def get_order(self, symbol: str, client_order_id: str) -> OrderResult | None:
        """By clOrdID: the open orders, then the order history (/api-data/g-futures/orders)."""
        for row in self._active_orders(symbol):
            if _client_id(row) == client_order_id:
                return _order_result(row)
        params = {"symbol": symbol, "clOrdID": client_order_id}
        data = self._call("GET", "/api-data/g-futures/orders/by-order-id", params=params)
        for row in rows_of(data, "rows"):
            if _client_id(row) == client_order_id:
                return _order_result(row)
        return None

    def _open_orders(self, symbol: str) -> list[tuple[str, Any]]:
        return [(_client_id(row), row) for row in self._active_orders(symbol)]

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


def order_body(order: OrderRequest) -> dict:
    """The POST /g-orders body of an order request."""
    body: dict[str, Any] = {
        "symbol": order.symbol,
        "clOrdID": order.client_order_id,
        "side": order.side,
        "posSide": order.position_side,
        "orderQtyRq": fmt_decimal(order.qty),
        "ordType": "Market" if order.price is None else "Limit",
    }
    if order.price is not None:
        body["priceRp"] = fmt_decimal(order.price)
        body["timeInForce"] = order.time_in_force
    body["reduceOnly"] = order.reduce_only
    return body


def _message(payload: Any) -> str:
    if not isinstance(payload, dict):
        return ""
    error = payload.get("error")
    if isinstance(error, dict):
        return str(error.get("message", ""))
    return str(payload.get("msg", ""))


def _int_code(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ExchangeDataError(f"phemex: code is not a number: {value!r}") from None


def _retry_after(headers: Mapping[str, str]) -> float:
    for name, value in headers.items():
        if name.lower().startswith("x-ratelimit-retry-after"):
            try:
                return max(0.0, float(value))
            except ValueError:
                break
    return 1.0


def _client_id(row: Mapping) -> str:
    return str(row.get("clOrdID") or row.get("clOrdId") or "")


def _candles(data: Any) -> list[Candle]:
    rows = data.get("rows") if isinstance(data, dict) else None
    if not isinstance(rows, list):
        raise ExchangeDataError("phemex: kline answer has no rows")
    candles = {}
    for row in rows:
        if not isinstance(row, list) or len(row) < 8:
            raise ExchangeDataError(f"phemex: malformed kline row {row!r}")
        stamp = int(row[0])
        ts_ms = stamp if stamp > 10**12 else stamp * 1000  # documented in seconds
        candles[ts_ms] = Candle(
            ts_ms=ts_ms,
            open=to_decimal(row[3], "open"),
            high=to_decimal(row[4], "high"),
            low=to_decimal(row[5], "low"),
            close=to_decimal(row[6], "close"),
            volume=to_decimal(row[7], "volume"),
        )
    return sorted(candles.values(), key=lambda c: c.ts_ms)


def _closed(candles: list[Candle], interval_minutes: int, now_s: float) -> list[Candle]:
    now_ms = int(now_s * 1000)
    step = interval_minutes * 60_000
    return [c for c in candles if c.ts_ms + step <= now_ms]


def _maintenance_rate(data: Mapping, symbol: str) -> Decimal:
    for entry in data.get("riskLimitsV2") or []:
        if entry.get("symbol") == symbol and entry.get("riskLimits"):
            rate = entry["riskLimits"][0].get("maintenanceMarginRr")
            if rate is not None:
                return to_decimal(rate, "maintenanceMarginRr")
    return Decimal("0.005")


def _position(row: Mapping) -> Position | None:
    size = to_decimal(field(row, "sizeRq"), "sizeRq")
    if size <= 0:
        return None
    side = row.get("posSide")
    if side not in (LONG, SHORT):
        side = LONG if row.get("side") == "Buy" else SHORT
    mark = to_decimal(field(row, "markPriceRp"), "markPriceRp")
    upnl = to_decimal(field(row, "unRealisedPnlRv"), "unRealisedPnlRv")
    leverage = abs(opt_decimal(row.get("leverageRr"), "leverageRr") or Decimal(10))
    liquidation = opt_decimal(row.get("liquidationPriceRp"), "liquidationPriceRp")
    return Position(
        symbol=str(field(row, "symbol")),
        side=side,
        size=size,
        entry_price=to_decimal(field(row, "avgEntryPriceRp"), "avgEntryPriceRp"),
        margin=to_decimal(field(row, "assignedPosBalanceRv"), "assignedPosBalanceRv"),
        unrealised_pnl=upnl,
        margin_level=margin_level(
            to_decimal(field(row, "positionMarginRv"), "positionMarginRv"),
            upnl,
            size,
            mark,
            to_decimal(field(row, "maintMarginReqRr"), "maintMarginReqRr"),
        ),
        mark_price=mark,
        leverage=leverage or Decimal(10),
        liquidation_price=liquidation or None,
    )


def _order_result(row: Mapping) -> OrderResult:
    status_text = str(field(row, "ordStatus"))
    if status_text not in STATUSES:
        raise ExchangeDataError(f"phemex: unknown order status {status_text!r}")
    side = str(field(row, "side"))
    side = NUMERIC_SIDES.get(side, side)
    reduce_only = bool(row.get("reduceOnly", False))
    position_side = row.get("posSide")
    position_side = NUMERIC_POS_SIDES.get(str(position_side), position_side)
    if position_side not in (LONG, SHORT):
        position_side = implied_position_side(side, reduce_only)
    filled = opt_decimal(row.get("cumQtyRq", row.get("execQtyRq")), "cumQtyRq") or Decimal(0)
    value = opt_decimal(row.get("cumValueRv"), "cumValueRv")
    avg = value / filled if value and filled > 0 else None
    order_type = str(row.get("ordType") or row.get("orderType") or "")
    price = opt_decimal(row.get("priceRp"), "priceRp")
    stamp = row.get("transactTimeNs") or row.get("actionTimeNs")
    updated = utc_from_ms(int(stamp) // 1_000_000) if stamp else utc_from_ms(row.get("createdAt"))
    fee = row.get("cumFeeRv", row.get("execFeeRv"))
    return OrderResult(
        client_order_id=_client_id(row),
        symbol=str(field(row, "symbol")),
        side=side,
        position_side=position_side,
        qty=to_decimal(field(row, "orderQtyRq"), "orderQtyRq"),
        price=None if order_type == "Market" or not price else price,
        status=STATUSES[status_text],
        filled_qty=filled,
        avg_price=avg,
        fee=opt_decimal(fee, "cumFeeRv") or Decimal(0),
        exchange_order_id=str(row.get("orderID") or row.get("orderId") or ""),
        reduce_only=reduce_only,
        updated_at=updated,
    )
