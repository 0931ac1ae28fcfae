"""Bybit v5 wire format: codes, signing string, order body and parsers of its answers."""

from __future__ import annotations

from collections.abc import Mapping
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
    InsufficientFundsError,
    InvalidOrderError,
    OutcomeUnknownError,
    RateLimitedError,
    TemporaryError,
)
from clients.http_codec import (
    field,
    fmt_decimal,
    implied_position_side,
    opt_decimal,
    to_decimal,
    utc_from_ms,
)
from clients.http_policy import ClockSkewError
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

# retCodes of POST /v5/order/create (linear) and the calls around it, from
# https://bybit-exchange.github.io/docs/v5/error, each with what it tells us about the order.
# OutcomeUnknownError: the answer does not prove the order was refused (docs/EXCHANGES.md).
# Any code not listed here is treated as OutcomeUnknownError on an order create.
ORDER_CODES: dict[int, tuple[type, str]] = {
    10000: (OutcomeUnknownError, "server timeout"),
    10001: (InvalidOrderError, "request parameter error"),
    10002: (ClockSkewError, "request time outside the receive window (refused)"),
    10003: (AuthenticationError, "API key invalid or for another environment"),
    10004: (AuthenticationError, "signature error"),
    10005: (AuthenticationError, "permission denied for this key"),
    10006: (RateLimitedError, "too many visits (per-UID rate limit, refused)"),
    10007: (AuthenticationError, "user authentication failed"),
    10008: (AuthenticationError, "common banned (account mode)"),
    10009: (AuthenticationError, "IP banned"),
    10010: (AuthenticationError, "unmatched IP for this key"),
    10014: (DuplicateOrderIdError, "invalid duplicate request (already received)"),
    10016: (OutcomeUnknownError, "server error or service restarting"),
    10017: (InvalidOrderError, "route not found"),
    10018: (RateLimitedError, "IP rate limit exceeded (refused)"),
    10019: (OutcomeUnknownError, "service restarting (requests in progress may complete)"),
    10024: (InvalidOrderError, "compliance rules triggered"),
    10027: (AuthenticationError, "transactions are banned for this account"),
    10029: (InvalidOrderError, "symbol not in the key's symbol whitelist"),
    33004: (AuthenticationError, "API key expired"),
    110003: (InvalidOrderError, "price outside the permitted range"),
    110004: (InsufficientFundsError, "wallet balance insufficient"),
    110005: (InvalidOrderError, "position status does not allow it"),
    110006: (InsufficientFundsError, "cannot afford the estimated position margin"),
    110007: (InsufficientFundsError, "available balance insufficient"),
    110009: (InvalidOrderError, "too many conditional orders"),
    110011: (InvalidOrderError, "order would trigger liquidation"),
    110012: (InsufficientFundsError, "insufficient available balance"),
    110013: (InvalidOrderError, "cannot set leverage under the risk limit"),
    110016: (InvalidOrderError, "quantity above the risk limit's maximum"),
    110017: (InvalidOrderError, "reduce-only rule not satisfied (no position)"),
    110018: (InvalidOrderError, "user id illegal"),
    110019: (InvalidOrderError, "order id illegal"),
    110020: (InvalidOrderError, "more than 500 active orders"),
    110021: (InvalidOrderError, "open interest limit exceeded"),
    110022: (InvalidOrderError, "quantity change not allowed"),
    110029: (InvalidOrderError, "hedge mode not supported for this symbol"),
    110030: (DuplicateOrderIdError, "duplicate order id"),
    110032: (InvalidOrderError, "illegal order"),
    110040: (InvalidOrderError, "order would trigger forced liquidation"),
    110042: (InvalidOrderError, "contract in pre-delivery: no new positions"),
    110044: (InsufficientFundsError, "available margin insufficient"),
    110045: (InsufficientFundsError, "wallet balance insufficient"),
    110046: (InvalidOrderError, "liquidation would be triggered by this order"),
    110051: (InsufficientFundsError, "available balance cannot cover the market price"),
    110052: (InsufficientFundsError, "available balance cannot cover the order price"),
    110053: (InsufficientFundsError, "available balance cannot cover the order value"),
    110070: (InvalidOrderError, "ADL in progress: order refused"),
    110071: (TemporaryError, "unified account upgrade in progress (refused, try later)"),
    110072: (DuplicateOrderIdError, "orderLinkId is duplicate"),
    110074: (InvalidOrderError, "contract is not live (closed or not yet open)"),
    110090: (InvalidOrderError, "order would exceed the maximum position"),
    110094: (InvalidOrderError, "order notional below the minimum"),
}
# Codes of other calls: order look-up and cancel ("gone"), leverage and position mode.
OTHER_CODES: dict[int, tuple[type, str]] = {
    110001: (InvalidOrderError, "order does not exist (cancel: already gone)"),
    110008: (InvalidOrderError, "order already filled or cancelled (cancel: gone)"),
    110010: (InvalidOrderError, "order already cancelled (cancel: gone)"),
    110025: (InvalidOrderError, "position mode not modified (treated as success)"),
    110043: (InvalidOrderError, "leverage not modified (treated as success)"),
}
ERROR_CLASSES = {code: cls for code, (cls, _) in (ORDER_CODES | OTHER_CODES).items()}
LEVERAGE_NOT_MODIFIED = 110043
MODE_NOT_MODIFIED = 110025


def sign_payload(timestamp: str, api_key: str, recv_window: str, payload: bytes) -> bytes:
    """The string Bybit signs: timestamp + key + recv_window + (query string | JSON body)."""
    return f"{timestamp}{api_key}{recv_window}".encode() + payload


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


def server_time_ms(result: Mapping) -> int:
    """Bybit's clock in epoch ms from a /v5/market/time result (timeNano, else timeSecond)."""
    server_ms = int(to_decimal(result.get("timeNano") or 0, "timeNano") / 1_000_000)
    if server_ms <= 0:
        server_ms = int(to_decimal(field(result, "timeSecond"), "timeSecond")) * 1000
    return server_ms


def parse_ticker(row: Mapping) -> Ticker:
    """Best bid and ask of a /v5/market/tickers row."""
    return Ticker(
        bid=to_decimal(field(row, "bid1Price"), "bid1Price"),
        ask=to_decimal(field(row, "ask1Price"), "ask1Price"),
    )


def parse_instrument(symbol: str, row: Mapping) -> InstrumentRules:
    """Lot, price and leverage filters of a /v5/market/instruments-info row."""
    lot, price = field(row, "lotSizeFilter"), field(row, "priceFilter")
    leverage = row.get("leverageFilter") or {}
    return InstrumentRules(
        symbol=symbol,
        qty_step=to_decimal(field(lot, "qtyStep"), "qtyStep"),
        min_qty=to_decimal(field(lot, "minOrderQty"), "minOrderQty"),
        max_qty=to_decimal(field(lot, "maxOrderQty"), "maxOrderQty"),
        tick_size=to_decimal(field(price, "tickSize"), "tickSize"),
        min_notional=opt_decimal(lot.get("minNotionalValue"), "minNotionalValue") or Decimal(0),
        max_leverage=opt_decimal(leverage.get("maxLeverage"), "maxLeverage") or Decimal(100),
    )


def parse_balance(account: Mapping) -> Balance:
    """USDT wallet balance and margin in use of a /v5/account/wallet-balance account row."""
    for coin in account.get("coin") or []:
        if coin.get("coin") == "USDT":
            wallet = to_decimal(field(coin, "walletBalance"), "walletBalance")
            used = (opt_decimal(coin.get("totalPositionIM"), "totalPositionIM") or 0) + (
                opt_decimal(coin.get("totalOrderIM"), "totalOrderIM") or 0
            )
            return Balance(wallet=wallet, used=Decimal(used))
    return Balance(wallet=Decimal(0), used=Decimal(0))


def parse_candle(row: Any) -> Candle:
    """A /v5/market/kline row: [start ms, open, high, low, close, volume, turnover]."""
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


TRADE_MODES = {"0": "cross", "1": "isolated"}  # /v5/position/list tradeMode


def parse_position(row: Mapping) -> Position | None:
    """A /v5/position/list row; None for an empty side."""
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
        margin_mode=TRADE_MODES.get(str(row.get("tradeMode"))),
    )


def parse_order(row: Mapping) -> OrderResult:
    """A /v5/order/realtime or /v5/order/history row."""
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
