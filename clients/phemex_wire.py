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
