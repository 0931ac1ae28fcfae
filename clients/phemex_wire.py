"""Phemex hedged USDT-M wire format: codes, signing string, order body and answer parsers."""

from __future__ import annotations

from collections.abc import Mapping
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
    InsufficientFundsError,
    InvalidOrderError,
    OutcomeUnknownError,
    RateLimitedError,
)
from clients.http_codec import (
    field,
    fmt_decimal,
    implied_position_side,
    opt_decimal,
    to_decimal,
    utc_from_ms,
)
from strategies.types import LONG, SHORT, Balance, Candle, InstrumentRules, Position, Ticker

RESOLUTIONS = {1: 60, 5: 300, 15: 900, 30: 1800, 60: 3600, 240: 14400, 1440: 86400}
RESOLUTIONS |= {10080: 604800, 43200: 2592000}
KLINE_LIMITS = (5, 10, 50, 100, 500, 1000)
STATUSES = dict.fromkeys(("Created", "Init", "New", "Untriggered", "Triggered"), NEW)
STATUSES |= {"PartiallyFilled": PARTIALLY_FILLED, "Filled": FILLED, "Rejected": REJECTED}
STATUSES |= dict.fromkeys(("Canceled", "Deactivated", "Suspended"), CANCELLED)
# /exchange/order/v2 lists statuses as numbers
STATUSES |= {"1": NEW, "5": NEW, "6": PARTIALLY_FILLED, "7": FILLED, "8": CANCELLED}
NUMERIC_SIDES = {"1": "Buy", "2": "Sell"}
NUMERIC_POS_SIDES = {"1": LONG, "2": SHORT}

# Codes of POST /g-orders and the calls around it, from Phemex's documented error codes
# (phemex-api-docs, "Error codes"), each with what it tells us about the order.
# OutcomeUnknownError: the answer does not prove the order was refused (docs/EXCHANGES.md).
# Any code not listed here is treated as OutcomeUnknownError on an order create.
ORDER_CODES: dict[int, tuple[type, str]] = {
    401: (AuthenticationError, "failed to load the API key"),
    6001: (InvalidOrderError, "invalid argument"),
    10001: (DuplicateOrderIdError, "OM_DUPLICATE_ORDERID"),
    11001: (InsufficientFundsError, "TE_NO_ENOUGH_AVAILABLE_BALANCE"),
    11002: (InvalidOrderError, "TE_INVALID_RISK_LIMIT"),
    11003: (InsufficientFundsError, "TE_NO_ENOUGH_BALANCE_FOR_NEW_RISK_LIMIT"),
    11004: (InvalidOrderError, "TE_INVALID_LEVERAGE"),
    11005: (InsufficientFundsError, "TE_NO_ENOUGH_BALANCE_FOR_NEW_LEVERAGE"),
    11010: (
        InsufficientFundsError,
        "TE_CANNOT_ADD_POSITION_MARGIN_DUE_TO_NO_ENOUGH_...",
    ),
    11011: (InvalidOrderError, "TE_REDUCE_ONLY_ABORT"),
    11022: (AuthenticationError, "TE_REJECT_DUE_TO_BANNED (account banned)"),
    11023: (InvalidOrderError, "TE_REJECT_DUE_TO_IN_PROCESS_OF_LIQ"),
    11024: (InvalidOrderError, "TE_REJECT_DUE_TO_IN_PROCESS_OF_ADL"),
    11025: (OutcomeUnknownError, "TE_ROUTE_ERROR (routed to the wrong engine)"),
    11026: (InvalidOrderError, "TE_UID_ACCOUNT_MISMATCH"),
    11027: (InvalidOrderError, "TE_SYMBOL_INVALID"),
    11031: (InvalidOrderError, "TE_SO_NUM_EXCEEDS (too many conditional orders)"),
    11032: (InvalidOrderError, "TE_AO_NUM_EXCEEDS (too many active orders)"),
    11033: (DuplicateOrderIdError, "TE_ORDER_ID_DUPLICATE"),
    11034: (InvalidOrderError, "TE_SIDE_INVALID"),
    11035: (InvalidOrderError, "TE_ORD_TYPE_INVALID"),
    11036: (InvalidOrderError, "TE_TIME_IN_FORCE_INVALID"),
    11053: (InvalidOrderError, "TE_PRICE_TOO_LARGE"),
    11054: (InvalidOrderError, "TE_PRICE_WORSE_THAN_BANKRUPT"),
    11055: (InvalidOrderError, "TE_PRICE_TOO_SMALL"),
    11056: (InvalidOrderError, "TE_QTY_TOO_LARGE"),
    11057: (InvalidOrderError, "TE_QTY_NOT_MATCH_REDUCE_ONLY (no position)"),
    11058: (InvalidOrderError, "TE_QTY_TOO_SMALL"),
    11070: (InvalidOrderError, "TE_SYMBOL_NOT_IN_RANGE"),
    11081: (InvalidOrderError, "TE_RISK_LIMIT_EXCEEDS"),
    11082: (InsufficientFundsError, "TE_CANNOT_COVER_ESTIMATE_ORDER_LOSS"),
    11085: (DuplicateOrderIdError, "TE_CL_ORD_ID_DUPLICATE"),
    11100: (InsufficientFundsError, "TE_WALLET_INSUFFICIENT_BALANCE"),
    11105: (InsufficientFundsError, "TE_PLACE_ORDER_INSUFFICIENT_BASE_BALANCE"),
    11106: (InsufficientFundsError, "TE_PLACE_ORDER_INSUFFICIENT_QUOTE_BALANCE"),
    11107: (OutcomeUnknownError, "TE_CANNOT_CONNECT_TO_REQUEST_SEQ (engine link failed)"),
    11112: (InvalidOrderError, "TE_QTY_TYPE_INVALID"),
    11114: (InvalidOrderError, "TE_ORDER_VALUE_TOO_LARGE"),
    11115: (InvalidOrderError, "TE_ORDER_VALUE_TOO_SMALL"),
    20004: (InvalidOrderError, "TE_ERR_INCONSISTENT_POS_MODE (hedge mode not set)"),
    19999: (DuplicateOrderIdError, "REQUEST_IS_DUPLICATED (already received)"),
    34003: (AuthenticationError, "access forbidden for this key"),
    39995: (RateLimitedError, "too many requests (refused)"),
    39996: (AuthenticationError, "access denied"),
}
# Codes of other calls: order look-up and cancel ("gone").
OTHER_CODES: dict[int, tuple[type, str]] = {
    10002: (InvalidOrderError, "OM_ORDER_NOT_FOUND (cancel: already gone)"),
    11062: (InvalidOrderError, "TE_ORD_ALREADY_CANCELED (cancel: gone)"),
    11063: (InvalidOrderError, "TE_ORD_STATUS_CANNOT_CANCEL (cancel: gone)"),
}
ERROR_CLASSES = {code: cls for code, (cls, _) in (ORDER_CODES | OTHER_CODES).items()}
NOT_FOUND = 10002
GENERIC_REJECT = 10500  # also used for auth failures; told apart by its message
AUTH_WORDS = ("signature", "api-key", "api key", "expired", "auth", "ip mismatch", "privilege")


def sign_payload(path: str, query: str, expiry: str, body: bytes) -> bytes:
    """The string Phemex signs: URL path + query string + expiry + body."""
    return f"{path}{query}{expiry}".encode() + body


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


def error_message(payload: Any) -> str:
    """The message of an answer: error.message or msg, '' when there is none."""
    if not isinstance(payload, dict):
        return ""
    error = payload.get("error")
    if isinstance(error, dict):
        return str(error.get("message", ""))
    return str(payload.get("msg", ""))


def int_code(value: Any) -> int:
    """An answer's code as an int, or ExchangeDataError."""
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ExchangeDataError(f"phemex: code is not a number: {value!r}") from None


def is_auth_reject(code: int, message: str) -> bool:
    """Whether a generic reject is in fact an authentication failure (told by its message)."""
    lowered = message.lower()
    return code == GENERIC_REJECT and any(word in lowered for word in AUTH_WORDS)


def retry_after_seconds(headers: Mapping[str, str]) -> float:
    """The x-ratelimit-retry-after-* header of a 429 answer, 1 s when absent or unreadable."""
    for name, value in headers.items():
        if name.lower().startswith("x-ratelimit-retry-after"):
            try:
                return max(0.0, float(value))
            except ValueError:
                break
    return 1.0


def client_id(row: Mapping) -> str:
    """An order row's client order id (clOrdID, or clOrdId in the history spelling)."""
    return str(row.get("clOrdID") or row.get("clOrdId") or "")


def parse_candles(data: Any) -> list[Candle]:
    """The rows of a kline answer, oldest first, one per start time."""
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


def parse_ticker(result: Mapping) -> Ticker:
    """Best bid and ask (bidRp/askRp) of a /md/v3/ticker/24hr result."""
    return Ticker(
        bid=to_decimal(field(result, "bidRp"), "bidRp"),
        ask=to_decimal(field(result, "askRp"), "askRp"),
    )


def parse_instrument(symbol: str, product: Mapping, data: Mapping) -> InstrumentRules:
    """Rules of a perpProductsV2 entry, maintenance rate from the riskLimitsV2 of ``data``."""
    step = to_decimal(field(product, "qtyStepSize"), "qtyStepSize")
    return InstrumentRules(
        symbol=symbol,
        qty_step=step,
        min_qty=step,  # Phemex publishes no separate minimum size; one step is the least
        max_qty=to_decimal(field(product, "maxOrderQtyRq"), "maxOrderQtyRq"),
        tick_size=to_decimal(field(product, "tickSize"), "tickSize"),
        min_notional=opt_decimal(product.get("minOrderValueRv"), "minOrderValueRv") or Decimal(0),
        max_leverage=opt_decimal(product.get("maxLeverage"), "maxLeverage") or Decimal(100),
        maint_margin_rate=_maintenance_rate(data, symbol),
    )


def _maintenance_rate(data: Mapping, symbol: str) -> Decimal:
    for entry in data.get("riskLimitsV2") or []:
        if entry.get("symbol") == symbol and entry.get("riskLimits"):
            rate = entry["riskLimits"][0].get("maintenanceMarginRr")
            if rate is not None:
                return to_decimal(rate, "maintenanceMarginRr")
    return Decimal("0.005")


def parse_balance(account: Mapping) -> Balance:
    """accountBalanceRv and totalUsedBalanceRv of an accountPositions account object."""
    return Balance(
        wallet=to_decimal(field(account, "accountBalanceRv"), "accountBalanceRv"),
        used=to_decimal(field(account, "totalUsedBalanceRv"), "totalUsedBalanceRv"),
    )


def parse_position(row: Mapping) -> Position | None:
    """A /g-accounts/positions row; None for an empty side."""
    size = to_decimal(field(row, "sizeRq"), "sizeRq")
    if size <= 0:
        return None
    side = row.get("posSide")
    if side not in (LONG, SHORT):
        side = LONG if row.get("side") == "Buy" else SHORT
    mark = to_decimal(field(row, "markPriceRp"), "markPriceRp")
    upnl = to_decimal(field(row, "unRealisedPnlRv"), "unRealisedPnlRv")
    signed = opt_decimal(row.get("leverageRr"), "leverageRr")
    leverage = abs(signed or Decimal(10))
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
        margin_mode=_margin_mode(row, signed),
    )


def _margin_mode(row: Mapping, signed_leverage: Decimal | None) -> str | None:
    """crossMargin when the row has it, else the leverage's sign (Phemex: negative is cross)."""
    cross = row.get("crossMargin")
    if isinstance(cross, bool):
        return "cross" if cross else "isolated"
    if signed_leverage is None:
        return None
    return "cross" if signed_leverage <= 0 else "isolated"


def parse_order(row: Mapping) -> OrderResult:
    """An order row of /g-orders, its active list or the api-data history (numeric codes too)."""
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
        client_order_id=client_id(row),
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
