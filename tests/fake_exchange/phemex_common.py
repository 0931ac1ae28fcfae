"""Shared by the fake's Phemex modules: the code/msg/data envelope, reject codes, checks."""

from __future__ import annotations

from tests.fake_exchange.state import Reject
from tests.fake_exchange.wire import Reply

REJECTS = {
    "duplicate": (11085, "TE_CL_ORD_ID_DUPLICATE"),
    "mode": (20004, "TE_ERR_INCONSISTENT_POS_MODE"),
    "qty": (11058, "TE_QTY_TOO_SMALL"),
    "price": (11055, "TE_PRICE_TOO_SMALL"),
    "notional": (11115, "TE_ORDER_VALUE_TOO_SMALL"),
    "reduce_only": (11057, "TE_QTY_NOT_MATCH_REDUCE_ONLY"),
    "funds": (11001, "TE_NO_ENOUGH_AVAILABLE_BALANCE"),
    "not_found": (10002, "OM_ORDER_NOT_FOUND"),
    "leverage": (11004, "TE_INVALID_LEVERAGE"),
}


def ok(data) -> Reply:
    """A successful answer of the trading endpoints."""
    return Reply(200, {"code": 0, "msg": "", "data": data})


def fail(code: int, message: str, status: int = 200) -> Reply:
    """An error answer."""
    return Reply(status, {"code": code, "msg": message, "data": None})


def listed_symbol(ctx, args) -> str:
    """The request's symbol, or a Reject when it is not listed."""
    symbol = args.get("symbol", "")
    if not ctx.market.listed(symbol):
        raise Reject("symbol", f"Symbol not listed {symbol}")
    return symbol
