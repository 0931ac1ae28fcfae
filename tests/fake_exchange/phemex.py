"""Phemex dialect of the fake exchange: hedged USDT-M (g-) endpoints, signatures, codes, shapes.

Shapes follow phemex-api-docs Public-Hedged-Perpetual-API.md and TradingErrorCode.md.
"""

from __future__ import annotations

import hashlib
import hmac
from decimal import Decimal, InvalidOperation

from tests.fake_exchange.phemex_common import REJECTS, fail, listed_symbol, ok
from tests.fake_exchange.phemex_orders import STATUS, active, by_id, cancel, create, order_row
from tests.fake_exchange.state import LONG, SHORT, Account, Reject
from tests.fake_exchange.wire import Reply

# Public names; the shared and order ones are re-exported from phemex_common and phemex_orders.
__all__ = [
    "KLINE_LIMITS",
    "PUBLIC_PREFIXES",
    "REJECTS",
    "RESOLUTIONS",
    "ROUTES",
    "STATUS",
    "authenticate",
    "bad_key",
    "duplicate",
    "fail",
    "handle",
    "ok",
    "order_row",
    "rate_limit",
]

PUBLIC_PREFIXES = ("/public/", "/md/", "/exchange/public/")
RESOLUTIONS = {60: 1, 300: 5, 900: 15, 1800: 30, 3600: 60, 14400: 240, 86400: 1440}
KLINE_LIMITS = (5, 10, 50, 100, 500, 1000)


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
    symbol = listed_symbol(ctx, args)
    resolution, limit = int(args["resolution"]), int(args.get("limit", 5))
    if resolution not in RESOLUTIONS or limit not in KLINE_LIMITS:
        return fail(30000, "Please double check input arguments")
    candles = ctx.market.candles(symbol, RESOLUTIONS[resolution], None, None, limit)
    return ok({"total": -1, "rows": _kline_rows(candles, resolution)})


def _kline_list(ctx, account, args):
    symbol = listed_symbol(ctx, args)
    resolution = int(args["resolution"])
    start, end = int(args["from"]) * 1000, int(args["to"]) * 1000
    if resolution not in RESOLUTIONS or end <= start:
        return fail(30000, "Please double check input arguments")
    if (end - start) // (resolution * 1000) >= 1000:
        return fail(30018, "phemex.data.size.uplimt")
    candles = ctx.market.candles(symbol, RESOLUTIONS[resolution], start, end - 1, 1000)
    return ok({"total": -1, "rows": _kline_rows(candles, resolution)})


def _ticker(ctx, account, args):
    symbol = listed_symbol(ctx, args)
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
    symbols = [listed_symbol(ctx, args)] if args.get("symbol") else ctx.market.symbols()
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
    symbol = listed_symbol(ctx, args)
    if "leverageRr" in args and account.hedged.get(symbol):
        raise Reject("mode", "leverageRr is for one-way mode")
    long_lev, short_lev = Decimal(args["longLeverageRr"]), Decimal(args["shortLeverageRr"])
    limit = ctx.market.rules(symbol).max_leverage
    if not all(0 < abs(v) <= limit for v in (long_lev, short_lev)):
        raise Reject("leverage", "invalid leverage")
    account.leverage[(symbol, LONG)], account.leverage[(symbol, SHORT)] = long_lev, short_lev
    return ok("OK")


def _switch_mode(ctx, account, args):
    symbol = listed_symbol(ctx, args)
    target = args["targetPosMode"]
    if target not in ("Hedged", "OneWay"):
        raise Reject("params", "bad targetPosMode")
    if any(account.position(symbol, side).size for side in (LONG, SHORT)):
        raise Reject("mode", "positions exist")
    account.hedged[symbol] = target == "Hedged"
    return ok("OK")


ROUTES = {
    ("GET", "/public/products"): _products,
    ("GET", "/exchange/public/md/v2/kline/last"): _kline_last,
    ("GET", "/exchange/public/md/v2/kline/list"): _kline_list,
    ("GET", "/md/v3/ticker/24hr"): _ticker,
    ("GET", "/g-accounts/accountPositions"): lambda c, a, r: _account(c, a, r, with_pnl=False),
    ("GET", "/g-accounts/positions"): lambda c, a, r: _account(c, a, r, with_pnl=True),
    ("PUT", "/g-positions/leverage"): _leverage,
    ("PUT", "/g-positions/switch-pos-mode-sync"): _switch_mode,
    ("POST", "/g-orders"): create,
    ("GET", "/g-orders/activeList"): active,
    ("GET", "/api-data/g-futures/orders/by-order-id"): by_id,
    ("DELETE", "/g-orders/cancel"): cancel,
}
