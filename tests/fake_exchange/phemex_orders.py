"""Order endpoints of the fake's Phemex dialect: create, active list, history and cancel."""

from __future__ import annotations

from decimal import Decimal

from tests.fake_exchange.phemex_common import REJECTS, fail, listed_symbol, ok
from tests.fake_exchange.state import LONG, SHORT, Order, Reject

STATUS = {"Cancelled": "Canceled"}  # the engine spells statuses as Bybit does


def order_row(order: Order, *, history: bool = False) -> dict:
    """An order as /g-orders answers (history rows use the api-data spelling, no posSide)."""
    row = {
        "symbol": order.symbol,
        "side": order.side,
        "ordType": order.order_type,
        "priceRp": str(order.price or 0),
        "orderQtyRq": str(order.qty),
        "cumQtyRq": str(order.filled_qty),
        "cumValueRv": str(order.filled_value),
        "leavesQtyRq": str(order.qty - order.filled_qty if order.is_open else 0),
        "timeInForce": order.time_in_force,
        "reduceOnly": order.reduce_only,
        "ordStatus": STATUS.get(order.status, order.status),
        "bizError": 0,
        "actionTimeNs": order.created_ms * 10**6,
        "transactTimeNs": order.updated_ms * 10**6,
    }
    if history:
        return {
            **row,
            "orderId": order.order_id,
            "clOrdId": order.client_id,
            "execFeeRv": str(order.fee),
        }
    return {
        **row,
        "orderID": order.order_id,
        "clOrdID": order.client_id,
        "posSide": order.position_side,
    }


def create(ctx, account, args):
    """POST /g-orders."""
    symbol = listed_symbol(ctx, args)
    client_id = str(args.get("clOrdID") or "")
    if not client_id or len(client_id) > 40:
        raise Reject("params", "clOrdID must be 1 to 40 characters")
    if args.get("posSide") not in (LONG, SHORT):
        raise Reject("mode", "posSide Merged is for one-way mode")
    market = args.get("ordType", "Limit") == "Market"
    order = ctx.engine.new_order(
        account,
        client_id=client_id,
        symbol=symbol,
        side=args["side"],
        position_side=args["posSide"],
        order_type="Market" if market else "Limit",
        qty=Decimal(args["orderQtyRq"]),
        price=None if market else Decimal(args["priceRp"]),
        time_in_force=args.get("timeInForce", "GoodTillCancel"),
        reduce_only=bool(args.get("reduceOnly", False)),
    )
    ctx.engine.place(account, order)
    # The acknowledgement is synchronous and says only that the order was taken.
    return ok({**order_row(order), "ordStatus": "Created", "cumQtyRq": "0", "cumValueRv": "0"})


def active(ctx, account, args):
    """GET /g-orders/activeList (an empty list is "not found")."""
    symbol = listed_symbol(ctx, args)
    rows = [order_row(o) for o in account.orders.values() if o.symbol == symbol and o.is_open]
    if not rows:
        return fail(*REJECTS["not_found"])  # Phemex answers "not found" for an empty list
    return ok({"rows": rows})


def by_id(ctx, account, args):
    """GET /api-data/g-futures/orders/by-order-id."""
    symbol = listed_symbol(ctx, args)
    wanted_client, wanted_id = args.get("clOrdID"), args.get("orderID")
    if not wanted_client and not wanted_id:
        raise Reject("params", "orderID and clOrdID can not be both empty")
    rows = [
        order_row(o, history=True)
        for o in account.orders.values()
        if o.symbol == symbol and (o.client_id == wanted_client or o.order_id == wanted_id)
    ]
    return ok(rows)


def cancel(ctx, account, args):
    """DELETE /g-orders/cancel."""
    symbol = listed_symbol(ctx, args)
    order = ctx.engine.cancel(account, symbol, order_id=args["orderID"])
    return ok(order_row(order))
