"""Pure helpers of the REST clients: addresses, signing, request encoding and answer parsing."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote

from clients.base import NEW, OrderRequest, OrderResult
from clients.errors import ExchangeDataError, InvalidOrderError
from strategies.types import Candle

BASE_URLS = {
    "bybit": ("https://api.bybit.com", "https://api-testnet.bybit.com"),
    "phemex": ("https://api.phemex.com", "https://testnet-api.phemex.com"),
}


def resolve_base_url(exchange: str, *, testnet: bool = False, base_url: str | None = None) -> str:
    """The REST root: an explicit override (tests only), else the testnet or mainnet address."""
    if base_url:
        return base_url.rstrip("/")
    mainnet, testnet_url = BASE_URLS[exchange]
    return testnet_url if testnet else mainnet


def hmac_sha256_hex(secret: str, message: bytes) -> str:
    """Hex HMAC-SHA256 keyed with the secret's UTF-8 bytes, as both exchanges sign."""
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def encode_query(params: Mapping[str, Any] | None) -> str:
    """The query string exactly as sent and signed: insertion order, booleans lower-case."""
    if not params:
        return ""
    parts = []
    for key, value in params.items():
        if value is None:
            continue
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, Decimal):
            text = fmt_decimal(value)
        else:
            text = str(value)
        parts.append(f"{key}={quote(text, safe='-_.~,')}")
    return "&".join(parts)


def encode_body(body: Mapping[str, Any] | None) -> bytes:
    """Compact JSON bytes; the signature is computed over exactly these bytes."""
    if body is None:
        return b""
    return json.dumps(body, separators=(",", ":")).encode("utf-8")


def fmt_decimal(value: Decimal) -> str:
    """A Decimal as the exchanges want it: plain digits, no exponent, no trailing zeros."""
    if not isinstance(value, Decimal) or not value.is_finite():
        raise InvalidOrderError(f"not a finite decimal: {value!r}")
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


def to_decimal(value: Any, field: str) -> Decimal:
    """Parse an exchange number (string or JSON number) into a Decimal, or ExchangeDataError."""
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, bool) or value is None:
        raise ExchangeDataError(f"field {field!r} is missing or not a number: {value!r}")
    else:
        try:
            result = Decimal(str(value))
        except InvalidOperation:
            raise ExchangeDataError(f"field {field!r} is not a number: {value!r}") from None
    if not result.is_finite():
        raise ExchangeDataError(f"field {field!r} is not a finite number: {value!r}")
    return result


def opt_decimal(value: Any, field: str) -> Decimal | None:
    """Like to_decimal, but an absent or empty value is None."""
    if value is None or value == "":
        return None
    return to_decimal(value, field)


def utc_from_ms(ms: Any) -> datetime | None:
    """A UTC datetime from epoch milliseconds, None when absent or zero."""
    try:
        value = int(ms)
    except (TypeError, ValueError):
        return None
    return datetime.fromtimestamp(value / 1000, UTC) if value > 0 else None


def acknowledged(order: OrderRequest, exchange_order_id: str = "") -> OrderResult:
    """The result of an accepted order whose state the answer did not tell."""
    return OrderResult(
        client_order_id=order.client_order_id,
        symbol=order.symbol,
        side=order.side,
        position_side=order.position_side,
        qty=order.qty,
        price=order.price,
        status=NEW,
        exchange_order_id=exchange_order_id,
        reduce_only=order.reduce_only,
    )


def implied_position_side(side: str, reduce_only: bool) -> str:
    """In hedge mode a buy grows a Long unless it reduces a Short (and the reverse for sells)."""
    return "Long" if (side == "Buy") != reduce_only else "Short"


def rows_of(data: Any, key: str) -> list:
    """The list under ``key`` of an answer (or the answer itself if a list); [] if absent."""
    rows = data.get(key) if isinstance(data, Mapping) else data
    if rows is None:
        return []
    if not isinstance(rows, list):
        raise ExchangeDataError(f"answer's {key!r} is not a list")
    return rows


def validate_order(order: OrderRequest) -> None:
    """Refuse locally what no exchange accepts: no hedge side, a size or price not above zero."""
    if order.position_side not in ("Long", "Short"):
        raise InvalidOrderError(f"position side must be Long or Short, got {order.position_side!r}")
    if order.qty <= 0 or (order.price is not None and order.price <= 0):
        raise InvalidOrderError(f"quantity and price must be positive: {order.qty} @ {order.price}")


def field(row: Mapping, name: str) -> Any:
    """A required field of an exchange object, or ExchangeDataError naming it."""
    if not isinstance(row, Mapping) or name not in row:
        raise ExchangeDataError(f"answer lacks the field {name!r}")
    return row[name]


def closed_candles(candles: Iterable[Candle], interval_minutes: int, now_ms: int) -> list[Candle]:
    """The candles whose period has ended by ``now_ms`` (the forming one dropped), in order."""
    step_ms = interval_minutes * 60_000
    return [c for c in candles if c.ts_ms + step_ms <= now_ms]
