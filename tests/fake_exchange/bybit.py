"""Bybit v5 dialect of the fake exchange: signature and recv window checks, retCodes, shapes.

Shapes follow https://bybit-exchange.github.io/docs/v5/ (kline, instruments-info, tickers,
position/list, order/create|realtime|history|cancel, account/wallet-balance, market/time).
"""

from __future__ import annotations

import hashlib
import hmac
from decimal import Decimal, InvalidOperation

from tests.fake_exchange.bybit_common import (
    IDX_SIDE,
    REJECTS,
    SIDE_IDX,
    fail,
    listed_symbol,
    ok,
    reply,
)
from tests.fake_exchange.bybit_orders import (
    RECENT_MS,
    TIF,
    cancel,
    create,
    history,
    order_row,
    realtime,
)
from tests.fake_exchange.state import LONG, SHORT, Account, Reject
from tests.fake_exchange.wire import Reply

# Public names; the shared and order ones are re-exported from bybit_common and bybit_orders.
__all__ = [
    "IDX_SIDE",
    "INTERVALS",
    "PUBLIC_PREFIX",
    "RECENT_MS",
    "REJECTS",
    "ROUTES",
    "SIDE_IDX",
    "TIF",
    "authenticate",
    "bad_key",
    "duplicate",
    "fail",
    "handle",
    "ok",
    "order_row",
    "rate_limit",
]

PUBLIC_PREFIX = "/v5/market/"
INTERVALS = {
    "1": 1,
    "3": 3,
    "5": 5,
    "15": 15,
    "30": 30,
    "60": 60,
    "120": 120,
    "240": 240,
    "360": 360,
    "720": 720,
    "D": 1440,
    "W": 10080,
    "M": 43200,
}


def rate_limit(ctx):
    """retCode 10006 with the reset header Bybit sends."""
    reset = ctx.engine.now_ms() + 1000
    return reply(
        10006,
        "Too many visits!",
        headers={
            "X-Bapi-Limit": "10",
            "X-Bapi-Limit-Status": "0",
            "X-Bapi-Limit-Reset-Timestamp": str(reset),
        },
    )


def bad_key(ctx):
    """retCode 10003."""
    return fail(10003, "API key is invalid.")


def duplicate(ctx):
    """retCode 110072."""
    return fail(*REJECTS["duplicate"])


def authenticate(ctx) -> tuple[Account | None, object | None]:
    """Verify key, recv window and the HMAC over the raw query or body; (account, error reply)."""
    key = ctx.headers.get("X-BAPI-API-KEY", "")
    stamp = ctx.headers.get("X-BAPI-TIMESTAMP", "")
    sign = ctx.headers.get("X-BAPI-SIGN", "")
    recv = ctx.headers.get("X-BAPI-RECV-WINDOW", "5000")
    account = ctx.engine.account("bybit", key)
    if account is None or not sign:
        return None, bad_key(ctx)
    server = ctx.engine.now_ms()
    try:
        in_window = server - int(recv) <= int(stamp) < server + 1000
    except ValueError:
        in_window = False
    if not in_window:
        return None, fail(
            10002,
            (
                "invalid request, please check your server timestamp or recv_window param. "
                f"req_timestamp[{stamp}],server_timestamp[{server}],recv_window[{recv}]"
            ),
        )
    payload = ctx.raw_query.encode() if ctx.method == "GET" else ctx.raw_body
    origin = f"{stamp}{key}{recv}".encode() + payload
    expected = hmac.new(account.secret.encode(), origin, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, sign):
        return None, fail(10004, f"error sign! origin_string[{origin.decode(errors='replace')}]")
    return account, None


def handle(ctx):
    """Route one request."""
    route = ROUTES.get((ctx.method, ctx.path))
    if route is None:
        return Reply(404, {"retCode": 10017, "retMsg": "route not found"})
    account = None
    if not ctx.path.startswith(PUBLIC_PREFIX):
        account, failure = authenticate(ctx)
        if failure is not None:
            return failure
    args = {**ctx.query, **(ctx.body or {})}
    if args.get("category", "linear") != "linear" and ctx.path != "/v5/account/wallet-balance":
        return fail(10001, "category only support linear here")
    try:
        return route(ctx, account, args)
    except Reject as exc:
        return fail(*REJECTS.get(exc.kind, (10001, exc.message)))
    except (InvalidOperation, ValueError, KeyError, TypeError) as exc:
        return fail(10001, f"params error: {exc}")


def _time(ctx, account, args):
    ns = int(ctx.engine.clock() * 1e9)
    return ok({"timeSecond": str(ns // 10**9), "timeNano": str(ns)})


def _kline(ctx, account, args):
    symbol = listed_symbol(ctx, args)
    minutes = INTERVALS[args["interval"]]
    limit = int(args.get("limit", 200))
    if not 1 <= limit <= 1000:
        raise Reject("limit", "limit must be in [1, 1000]")
    start = int(args["start"]) if "start" in args else None
    end = int(args["end"]) if "end" in args else None
    candles = ctx.market.candles(symbol, minutes, start, end, limit)
    rows = [
        [
            str(c.ts_ms),
            str(c.open),
            str(c.high),
            str(c.low),
            str(c.close),
            str(c.volume),
            str(c.volume * c.close),
        ]
        for c in reversed(candles)
    ]
    return ok({"symbol": symbol, "category": "linear", "list": rows})


def _instruments(ctx, account, args):
    symbols = [listed_symbol(ctx, args)] if args.get("symbol") else ctx.market.symbols()
    rows = []
    for symbol in symbols:
        rules = ctx.market.rules(symbol)
        rows.append(
            {
                "symbol": symbol,
                "contractType": "LinearPerpetual",
                "status": "Trading",
                "baseCoin": symbol.removesuffix("USDT"),
                "quoteCoin": "USDT",
                "settleCoin": "USDT",
                "priceScale": "2",
                "leverageFilter": {
                    "minLeverage": "1",
                    "maxLeverage": str(rules.max_leverage),
                    "leverageStep": "0.01",
                },
                "priceFilter": {
                    "minPrice": str(rules.tick_size),
                    "maxPrice": "1999999.8",
                    "tickSize": str(rules.tick_size),
                },
                "lotSizeFilter": {
                    "maxOrderQty": str(rules.max_qty),
                    "maxMktOrderQty": str(rules.max_qty),
                    "minOrderQty": str(rules.min_qty),
                    "qtyStep": str(rules.qty_step),
                    "minNotionalValue": str(rules.min_notional),
                },
            }
        )
    return ok({"category": "linear", "list": rows, "nextPageCursor": ""})


def _tickers(ctx, account, args):
    symbol = listed_symbol(ctx, args)
    bid, ask = ctx.market.touch(symbol)
    price = str(ctx.market.price(symbol))
    row = {
        "symbol": symbol,
        "bid1Price": str(bid),
        "ask1Price": str(ask),
        "lastPrice": price,
        "markPrice": price,
        "indexPrice": price,
    }
    return ok({"category": "linear", "list": [row]})


def _position_row(ctx, account: Account, symbol: str, side: str) -> dict:
    engine, rules = ctx.engine, ctx.market.rules(symbol)
    pos = account.position(symbol, side)
    mark = ctx.market.price(symbol)
    margin = engine.position_margin(account, symbol, side)
    hedged = account.hedged.get(symbol, False)
    return {
        "positionIdx": SIDE_IDX[side] if hedged else 0,
        "symbol": symbol,
        "side": ("Buy" if side == LONG else "Sell") if pos.size else "",
        "size": str(pos.size),
        "avgPrice": str(pos.entry),
        "positionValue": str(pos.size * pos.entry),
        "leverage": str(account.lev(symbol, side)),
        "markPrice": str(mark),
        "liqPrice": "",
        "positionIM": str(margin),
        "positionMM": str(pos.size * mark * rules.maint_margin_rate),
        "positionBalance": str(margin),
        "unrealisedPnl": str(engine.upnl(account, symbol, side)),
        "cumRealisedPnl": str(pos.realised),
        "positionStatus": "Normal",
        "tradeMode": 0,
        "createdTime": "0",
        "updatedTime": str(engine.now_ms()),
    }


def _positions(ctx, account, args):
    if args.get("symbol"):
        symbols, only_open = [listed_symbol(ctx, args)], False
    elif args.get("settleCoin") == "USDT":
        symbols, only_open = ctx.market.symbols(), True
    else:
        raise Reject("params", "symbol or settleCoin is required")
    rows = [
        _position_row(ctx, account, symbol, side)
        for symbol in symbols
        for side in (LONG, SHORT)
        if not only_open or account.position(symbol, side).size > 0
    ]
    return ok({"category": "linear", "list": rows, "nextPageCursor": ""})


def _set_leverage(ctx, account, args):
    symbol = listed_symbol(ctx, args)
    buy, sell = Decimal(args["buyLeverage"]), Decimal(args["sellLeverage"])
    limit = ctx.market.rules(symbol).max_leverage
    if not (1 <= buy <= limit and 1 <= sell <= limit):
        return fail(10001, "leverage invalid")
    if account.lev(symbol, LONG) == buy and account.lev(symbol, SHORT) == sell:
        return fail(110043, "Set leverage not modified")
    account.leverage[(symbol, LONG)], account.leverage[(symbol, SHORT)] = buy, sell
    return ok({})


def _switch_mode(ctx, account, args):
    symbol = listed_symbol(ctx, args)
    hedged = int(args["mode"]) == 3
    if account.hedged.get(symbol, False) == hedged:
        return fail(110025, "Position mode is not modified")
    if any(account.position(symbol, side).size for side in (LONG, SHORT)):
        return fail(110024, "You have an existing position, so position mode cannot be switched")
    account.hedged[symbol] = hedged
    return ok({})


def _wallet(ctx, account, args):
    if args.get("accountType") != "UNIFIED":
        return fail(10001, "accountType only support UNIFIED")
    engine = ctx.engine
    position_im = sum(
        (engine.position_margin(account, s, side) for (s, side) in account.positions), Decimal(0)
    )
    upnl = sum((engine.upnl(account, s, side) for (s, side) in account.positions), Decimal(0))
    used = engine.used_margin(account)
    coin = {
        "coin": "USDT",
        "walletBalance": str(account.balance),
        "equity": str(account.balance + upnl),
        "unrealisedPnl": str(upnl),
        "totalPositionIM": str(position_im),
        "totalOrderIM": str(used - position_im),
        "locked": "0",
    }
    row = {
        "accountType": "UNIFIED",
        "totalWalletBalance": str(account.balance),
        "totalEquity": str(account.balance + upnl),
        "totalInitialMargin": str(used),
        "totalAvailableBalance": str(account.balance - used),
        "coin": [coin],
    }
    return ok({"list": [row]})


def _query_api(ctx, account, args):
    """GET /v5/user/query-api: the calling key's own information (bybit-exchange.github.io/docs/
    v5/user/apikey-info): readOnly 0/1, permissions by group, ips ["*"] when not whitelisted."""
    every_group = (
        "ContractTrade", "Spot", "Wallet", "Options", "Derivatives", "CopyTrading",
        "BlockTrade", "Exchange", "NFT", "Affiliate", "Earn",
    )  # fmt: skip
    permissions = {group: list(account.key_permissions.get(group, [])) for group in every_group}
    now = ctx.engine.now_ms()
    result = {
        "id": str(abs(hash(account.api_key)) % 10**8),
        "note": "dcabot",
        "apiKey": account.api_key,
        "readOnly": 1 if account.key_read_only else 0,
        "secret": "",
        "permissions": permissions,
        "ips": list(account.key_ips),
        "type": 1,
        "deadlineDay": 90,
        "expiredAt": "",
        "createdAt": str(now),
        "unified": 0,
        "uta": 1,
        "userID": 24617703,
        "inviterID": 0,
        "vipLevel": "No VIP",
        "mktMakerLevel": "0",
        "affiliateID": 0,
        "rsaPublicKey": "",
        "isMaster": True,
        "parentUid": "0",
        "kycLevel": "LEVEL_DEFAULT",
        "kycRegion": "",
    }
    return ok(result)


ROUTES = {
    ("GET", "/v5/user/query-api"): _query_api,
    ("GET", "/v5/market/time"): _time,
    ("GET", "/v5/market/kline"): _kline,
    ("GET", "/v5/market/instruments-info"): _instruments,
    ("GET", "/v5/market/tickers"): _tickers,
    ("GET", "/v5/position/list"): _positions,
    ("POST", "/v5/position/set-leverage"): _set_leverage,
    ("POST", "/v5/position/switch-mode"): _switch_mode,
    ("POST", "/v5/order/create"): create,
    ("GET", "/v5/order/realtime"): realtime,
    ("GET", "/v5/order/history"): history,
    ("POST", "/v5/order/cancel"): cancel,
    ("GET", "/v5/account/wallet-balance"): _wallet,
}
