"""Order endpoints of the fake's Bybit dialect: create, realtime, history and cancel."""

from __future__ import annotations

from decimal import Decimal

from tests.fake_exchange.bybit_common import IDX_SIDE, SIDE_IDX, listed_symbol, ok
from tests.fake_exchange.state import Account, Order, Reject

RECENT_MS = 600_000  # how long /v5/order/realtime still finds a closed order by its id
TIF = {"GTC": "GoodTillCancel", "PostOnly": "PostOnly", "IOC": "ImmediateOrCancel", "FOK": "FOK"}


def create(ctx, account, args):
    """POST /v5/order/create."""
    symbol = listed_symbol(ctx, args)
    idx = str(args.get("positionIdx", 0))
    if idx not in IDX_SIDE:
        raise Reject("mode", "one-way orders are not supported by the fake")
    link_id = str(args.get("orderLinkId") or "")
    if not link_id or len(link_id) > 36:
        raise Reject("params", "orderLinkId must be 1 to 36 characters")
    market = args["orderType"] == "Market"
    order = ctx.engine.new_order(
        account,
        client_id=link_id,
        symbol=symbol,
        side=args["side"],
        position_side=IDX_SIDE[idx],
        order_type="Market" if market else "Limit",
        qty=Decimal(args["qty"]),
        price=None if market else Decimal(args["price"]),
        time_in_force=TIF.get(args.get("timeInForce", "GTC"), "GoodTillCancel"),
        reduce_only=bool(args.get("reduceOnly", False)),
    )
    ctx.engine.place(account, order)
    return ok({"orderId": order.order_id, "orderLinkId": order.client_id})


def order_row(order: Order) -> dict:
    """An order as /v5/order/realtime and /v5/order/history list it."""
    return {
        "orderId": order.order_id,
        "orderLinkId": order.client_id,
        "symbol": order.symbol,
        "price": str(order.price or 0),
        "qty": str(order.qty),
        "side": order.side,
        "positionIdx": SIDE_IDX[order.position_side],
        "orderStatus": order.status,
        "avgPrice": str(order.avg_price or ""),
        "cumExecQty": str(order.filled_qty),
        "cumExecValue": str(order.filled_value),
        "cumExecFee": str(order.fee),
        "leavesQty": str(order.qty - order.filled_qty if order.is_open else 0),
        "timeInForce": "IOC"
        if order.order_type == "Market"
        else {v: k for k, v in TIF.items()}.get(order.time_in_force, "GTC"),
        "orderType": order.order_type,
        "reduceOnly": order.reduce_only,
        "rejectReason": order.reject_reason or "EC_NoError",
        "createdTime": str(order.created_ms),
        "updatedTime": str(order.updated_ms),
    }


def _matching(account: Account, args, *, realtime_at: int | None = None) -> list[Order]:
    """Orders matching the filters; ``realtime_at`` limits closed ones to the last 10 minutes."""
    wanted_link, wanted_id = args.get("orderLinkId"), args.get("orderId")
    found = []
    for order in account.orders.values():
        if args.get("symbol") and order.symbol != args["symbol"]:
            continue
        if (
            wanted_link
            and order.client_id != wanted_link
            or wanted_id
            and order.order_id != wanted_id
        ):
            continue
        # By id, realtime also finds recently closed orders; a plain listing shows open ones.
        if (
            realtime_at is not None
            and not order.is_open
            and (not (wanted_link or wanted_id) or realtime_at - order.updated_ms > RECENT_MS)
        ):
            continue
        found.append(order)
    return sorted(found, key=lambda o: o.created_ms, reverse=True)


def realtime(ctx, account, args):
    """GET /v5/order/realtime: open orders, and recently closed ones by id."""
    rows = [order_row(o) for o in _matching(account, args, realtime_at=ctx.engine.now_ms())]
    return ok(
        {"category": "linear", "list": rows[: int(args.get("limit", 20))], "nextPageCursor": ""}
    )


def history(ctx, account, args):
    """GET /v5/order/history."""
    rows = [order_row(o) for o in _matching(account, args)]
    return ok(
        {"category": "linear", "list": rows[: int(args.get("limit", 20))], "nextPageCursor": ""}
    )


def cancel(ctx, account, args):
    """POST /v5/order/cancel."""
    symbol = listed_symbol(ctx, args)
    order = ctx.engine.cancel(
        account, symbol, client_id=args.get("orderLinkId"), order_id=args.get("orderId")
    )
    return ok({"orderId": order.order_id, "orderLinkId": order.client_id})
