"""Shared by the fake's Bybit modules: the retCode envelope, reject codes and request checks."""

from __future__ import annotations

from tests.fake_exchange.state import LONG, SHORT, Reject
from tests.fake_exchange.wire import Reply

IDX_SIDE = {"1": LONG, "2": SHORT}
SIDE_IDX = {LONG: 1, SHORT: 2}
REJECTS = {
    "duplicate": (110072, "OrderLinkedID is duplicate"),
    "mode": (10001, "position idx not match position mode"),
    "qty": (10001, "Qty invalid"),
    "price": (10001, "Price invalid"),
    "notional": (110094, "Order notional value below the lower limit"),
    "reduce_only": (110017, "ReduceOnly rule not satisified"),
    "funds": (110007, "Insufficient available balance"),
    "not_found": (110001, "Order does not exist"),
}


def reply(code: int, message: str, result=None, headers=None):
    """The retCode envelope Bybit wraps every answer in, always HTTP 200."""
    return Reply(
        200,
        {
            "retCode": code,
            "retMsg": message,
            "result": result if result is not None else {},
            "retExtInfo": {},
            "time": 0,
        },
        headers or {},
    )


def ok(result):
    """A successful answer."""
    return reply(0, "OK", result)


def fail(code: int, message: str):
    """An error answer (Bybit answers errors with HTTP 200 and a retCode)."""
    return reply(code, message)


def listed_symbol(ctx, args) -> str:
    """The request's symbol, or a Reject when it is not listed."""
    symbol = args.get("symbol", "")
    if not ctx.market.listed(symbol):
        raise Reject("symbol", f"symbol invalid: {symbol}")
    return symbol
