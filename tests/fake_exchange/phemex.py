"""Phemex dialect of the fake exchange: hedged USDT-M (g-) endpoints, signatures, codes, shapes.

Shapes follow phemex-api-docs Public-Hedged-Perpetual-API.md and TradingErrorCode.md.
"""

from __future__ import annotations

import hashlib
import hmac
from decimal import Decimal, InvalidOperation

from tests.fake_exchange.state import LONG, SHORT, Account, Order, Reject
from tests.fake_exchange.wire import Reply

PUBLIC_PREFIXES = ("/public/", "/md/", "/exchange/public/")
RESOLUTIONS = {60: 1, 300: 5, 900: 15, 1800: 30, 3600: 60, 14400: 240, 86400: 1440}
KLINE_LIMITS = (5, 10, 50, 100, 500, 1000)
STATUS = {"Cancelled": "Canceled"}  # the engine spells statuses as Bybit does
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


def rate_limit(ctx) -> Reply:
    """HTTP 429 with the group's retry-after header."""
    return Reply(
        429,
        {"code": 39995, "msg": "Too many requests."},
        {
            "x-ratelimit-remaining-contract": "0",
            "x-ratelimit-capacity-contract": "500",
            "x-ratelimit-retry-after-contract": "1",
        },
    )


def bad_key(ctx) -> Reply:
    """HTTP 401; Phemex echoes the unknown key in its message."""
    key = ctx.headers.get("x-phemex-access-token", "")
    return fail(10500, f"Failed to find api-key {key}", 401)


def duplicate(ctx) -> Reply:
    """code 11085."""
    return fail(*REJECTS["duplicate"])


def authenticate(ctx) -> tuple[Account | None, Reply | None]:
    """Verify key, expiry and the HMAC over path + query + expiry + body; (account, error)."""
    key = ctx.headers.get("x-phemex-access-token", "")
    expiry = ctx.headers.get("x-phemex-request-expiry", "")
    signature = ctx.headers.get("x-phemex-request-signature", "")
    account = ctx.engine.account("phemex", key)
    if account is None or not signature:
        return None, bad_key(ctx)
    try:
        expired = int(expiry) < ctx.engine.clock()
    except ValueError:
        expired = True
    if expired:
        return None, fail(10500, "Request expired", 401)
    message = f"{ctx.path}{ctx.raw_query}{expiry}".encode() + ctx.raw_body
    expected = hmac.new(account.secret.encode(), message, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        return None, fail(10500, "API Signature verification failed.", 401)
    return account, None


def handle(ctx) -> Reply:
    """Route one request; public endpoints check a signature only when one is sent."""
    route = ROUTES.get((ctx.method, ctx.path))
    if route is None:
        return Reply(404, {"code": 404, "msg": "Not Found"})
    account = None
    public = ctx.path.startswith(PUBLIC_PREFIXES)
    if not public or ctx.headers.get("x-phemex-request-signature"):
        account, failure = authenticate(ctx)
        if failure is not None:
            return failure
    args = {**ctx.query, **(ctx.body or {})}
    try:
        return route(ctx, account, args)
    except Reject as exc:
        return fail(*REJECTS.get(exc.kind, (30000, exc.message)))
    except (InvalidOperation, ValueError, KeyError, TypeError):
        return fail(30000, "Please double check input arguments")


def _symbol(ctx, args) -> str:
    symbol = args.get("symbol", "")
    if not ctx.market.listed(symbol):
        raise Reject("symbol", f"Symbol not listed {symbol}")
    return symbol


def _products(ctx, account, args):
    perps, risks = [], []
    for symbol in ctx.market.symbols():
        rules = ctx.market.rules(symbol)
        perps.append(
            {
                "symbol": symbol,
                "type": "PerpetualV2",
                "settleCurrency": "USDT",
                "quoteCurrency": "USDT",
                "status": "Listed",
                "tickSize": str(rules.tick_size),
                "priceScale": 0,
                "ratioScale": 0,
                "qtyStepSize": str(rules.qty_step),
                "maxOrderQtyRq": str(rules.max_qty),
                "minOrderValueRv": str(rules.min_notional),
                "maxLeverage": int(rules.max_leverage),
                "defaultLeverage": "-10",
            }
        )
        risks.append(
            {
                "symbol": symbol,
                "steps": "2000K",
                "riskLimits": [
                    {
                        "limit": 2000000,
                        "initialMarginRr": "0.01",
                        "maintenanceMarginRr": str(rules.maint_margin_rate),
                    }
                ],
            }
        )
    return Reply(
        200,
        {
            "code": 0,
            "msg": "OK",
            "data": {
                "currencies": [{"currency": "USDT", "valueScale": 8}],
                "products": [],
                "perpProductsV2": perps,
                "riskLimitsV2": risks,
            },
        },
    )


def _kline_rows(candles, resolution: int) -> list[list]:
    rows, previous = [], None
    for c in candles:
        last_close = previous if previous is not None else c.open
        rows.append(
            [
                c.ts_ms // 1000,
                resolution,
                str(last_close),
                str(c.open),
                str(c.high),
                str(c.low),
                str(c.close),
                str(c.volume),
                str(c.volume * c.close),
            ]
        )
        previous = c.close
    return rows


def _kline_last(ctx, account, args):
    symbol = _symbol(ctx, args)
    resolution, limit = int(args["resolution"]), int(args.get("limit", 5))
    if resolution not in RESOLUTIONS or limit not in KLINE_LIMITS:
        return fail(30000, "Please double check input arguments")
    candles = ctx.market.candles(symbol, RESOLUTIONS[resolution], None, None, limit)
    return ok({"total": -1, "rows": _kline_rows(candles, resolution)})


def _kline_list(ctx, account, args):
    symbol = _symbol(ctx, args)
    resolution = int(args["resolution"])
    start, end = int(args["from"]) * 1000, int(args["to"]) * 1000
    if resolution not in RESOLUTIONS or end <= start:
        return fail(30000, "Please double check input arguments")
    if (end - start) // (resolution * 1000) >= 1000:
        return fail(30018, "phemex.data.size.uplimt")
    candles = ctx.market.candles(symbol, RESOLUTIONS[resolution], start, end - 1, 1000)
    return ok({"total": -1, "rows": _kline_rows(candles, resolution)})


def _ticker(ctx, account, args):
    symbol = _symbol(ctx, args)
    bid, ask = ctx.market.touch(symbol)
    price = str(ctx.market.price(symbol))
    return Reply(
        200,
        {
            "error": None,
            "id": 0,
            "result": {
                "symbol": symbol,
                "bidRp": str(bid),
                "askRp": str(ask),
                "lastRp": price,
                "markRp": price,
                "indexRp": price,
                "openRp": price,
                "highRp": price,
                "lowRp": price,
                "volumeRq": "0",
                "turnoverRv": "0",
                "fundingRateRr": "0.0001",
                "timestamp": ctx.engine.now_ms() * 10**6,
            },
        },
    )


def _position_row(ctx, account: Account, symbol: str, side: str, *, with_pnl: bool) -> dict:
    engine, rules = ctx.engine, ctx.market.rules(symbol)
    pos = account.position(symbol, side)
    mark = ctx.market.price(symbol)
    leverage = account.lev(symbol, side)
    assigned = engine.position_margin(account, symbol, side)
    # Cross margin (negative leverage) backs a position with the whole available balance.
    available = account.balance - engine.used_margin(account)
    row = {
        "symbol": symbol,
        "currency": "USDT",
        "posSide": side,
        "posMode": "Hedged" if account.hedged.get(symbol) else "OneWay",
        "side": ("Buy" if side == LONG else "Sell") if pos.size else "None",
        "leverageRr": str(leverage),
        "sizeRq": str(pos.size),
        "avgEntryPriceRp": str(pos.entry),
        "valueRv": str(pos.size * pos.entry),
        "assignedPosBalanceRv": str(assigned),
        "positionMarginRv": str(assigned + available if leverage <= 0 else assigned),
        "maintMarginReqRr": str(rules.maint_margin_rate),
        "initMarginReqRr": "0.01",
        "markPriceRp": str(mark),
        "usedBalanceRv": str(assigned),
        "liquidationPriceRp": "0",
        "cumClosedPnlRv": str(pos.realised),
        "positionStatus": "Normal",
    }
    if with_pnl:
        row["unRealisedPnlRv"] = str(engine.upnl(account, symbol, side))
    return row


def _account(ctx, account, args, *, with_pnl: bool):
    symbols = [_symbol(ctx, args)] if args.get("symbol") else ctx.market.symbols()
    if args.get("currency") != "USDT":
        return fail(11028, "TE_CURRENCY_INVALID")
    positions = [
        _position_row(ctx, account, symbol, side, with_pnl=with_pnl)
        for symbol in symbols
        for side in (LONG, SHORT)
    ]
    return ok(
        {
            "account": {
                "userID": 1,
                "accountId": 10003,
                "currency": "USDT",
                "bonusBalanceRv": "0",
                "accountBalanceRv": str(account.balance),
                "totalUsedBalanceRv": str(ctx.engine.used_margin(account)),
            },
            "positions": positions,
        }
    )


def _leverage(ctx, account, args):
    symbol = _symbol(ctx, args)
    if "leverageRr" in args and account.hedged.get(symbol):
        raise Reject("mode", "leverageRr is for one-way mode")
    long_lev, short_lev = Decimal(args["longLeverageRr"]), Decimal(args["shortLeverageRr"])
    limit = ctx.market.rules(symbol).max_leverage
    if not all(0 < abs(v) <= limit for v in (long_lev, short_lev)):
        raise Reject("leverage", "invalid leverage")
    account.leverage[(symbol, LONG)], account.leverage[(symbol, SHORT)] = long_lev, short_lev
    return ok("OK")


def _switch_mode(ctx, account, args):
    symbol = _symbol(ctx, args)
    target = args["targetPosMode"]
    if target not in ("Hedged", "OneWay"):
        raise Reject("params", "bad targetPosMode")
    if any(account.position(symbol, side).size for side in (LONG, SHORT)):
        raise Reject("mode", "positions exist")
    account.hedged[symbol] = target == "Hedged"
    return ok("OK")


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


def _create(ctx, account, args):
    symbol = _symbol(ctx, args)
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


def _active(ctx, account, args):
    symbol = _symbol(ctx, args)
    rows = [order_row(o) for o in account.orders.values() if o.symbol == symbol and o.is_open]
    if not rows:
        return fail(*REJECTS["not_found"])  # Phemex answers "not found" for an empty list
    return ok({"rows": rows})


def _by_id(ctx, account, args):
    symbol = _symbol(ctx, args)
    wanted_client, wanted_id = args.get("clOrdID"), args.get("orderID")
    if not wanted_client and not wanted_id:
        raise Reject("params", "orderID and clOrdID can not be both empty")
    rows = [
        order_row(o, history=True)
        for o in account.orders.values()
        if o.symbol == symbol and (o.client_id == wanted_client or o.order_id == wanted_id)
    ]
    return ok(rows)


def _cancel(ctx, account, args):
    symbol = _symbol(ctx, args)
    order = ctx.engine.cancel(account, symbol, order_id=args["orderID"])
    return ok(order_row(order))


ROUTES = {
    ("GET", "/public/products"): _products,
    ("GET", "/exchange/public/md/v2/kline/last"): _kline_last,
    ("GET", "/exchange/public/md/v2/kline/list"): _kline_list,
    ("GET", "/md/v3/ticker/24hr"): _ticker,
    ("GET", "/g-accounts/accountPositions"): lambda c, a, r: _account(c, a, r, with_pnl=False),
    ("GET", "/g-accounts/positions"): lambda c, a, r: _account(c, a, r, with_pnl=True),
    ("PUT", "/g-positions/leverage"): _leverage,
    ("PUT", "/g-positions/switch-pos-mode-sync"): _switch_mode,
    ("POST", "/g-orders"): _create,
    ("GET", "/g-orders/activeList"): _active,
    ("GET", "/api-data/g-futures/orders/by-order-id"): _by_id,
    ("DELETE", "/g-orders/cancel"): _cancel,
}
