"""Bots and their pairs over the API: the same services as the pages, a token for the login."""

from __future__ import annotations

from decimal import Decimal

from flask import jsonify

from saas.api import schemas
from saas.api.auth import api_user, client_ip
from saas.api.common import boolean, integer, invalid, json_body, now, string
from saas.api.registry import api_route
from saas.api.schemas import BOT_CREATE, BOT_UPDATE, PAIR_BODY, list_of, ref
from saas.bots.helpers import client_env, key_permissions, key_ring, plan_table, sync_cron
from saas.extensions import db
from saas.services.bots import edit as bot_service
from saas.services.bots import exchange_checks
from saas.services.bots import pairs as pair_service
from saas.services.bots.edit import BotSettings, NewBot
from saas.services.bots.pairs import PairInput
from strategies import DEFAULT_STRATEGY

BOT = "/bots/<int:bot_id>"
PAIR = "/bots/<int:bot_id>/pairs/<int:pair_id>"


@api_route(
    "/bots", "GET", summary="List your bots", scope="read", tag="bots", response=list_of("Bot")
)
def list_bots():
    """Every bot of the token's user, in creation order, with pair counts."""
    rows = bot_service.list_bots(db.session, api_user())
    return jsonify(items=[schemas.bot_json(r.bot, r.pairs, r.active_pairs) for r in rows])


@api_route(
    "/bots",
    "POST",
    summary="Create a bot (stopped)",
    scope="trade",
    tag="bots",
    body=BOT_CREATE,
    response=ref("Bot"),
    status=201,
)
def create_bot():
    """Keys of a real-exchange bot are encrypted at once and never returned."""
    body = json_body()
    exchange = string(body, "exchange", "")
    data = NewBot(
        string(body, "name", ""),
        exchange,
        boolean(body, "testnet", True),
        string(body, "api_key", ""),
        string(body, "api_secret", ""),
    )
    ring = key_ring() if exchange != "paper" else None
    check = None
    if exchange != "paper" and data.api_key.strip() and data.api_secret.strip():
        # The page's rule: a key that can withdraw or transfer is never stored.
        check = key_permissions(exchange, data.testnet, data.api_key, data.api_secret)
        if check is not None and check.refused:
            raise invalid("api_key", check.messages[0])
    bot = bot_service.create_user_bot(
        db.session,
        api_user(),
        data,
        ring=ring,
        ip=client_ip(),
        plans=plan_table(),
        key_check=check.as_dict() if check else None,
    )
    db.session.commit()
    return jsonify(schemas.bot_json(bot)), 201


@api_route(BOT, "GET", summary="Get a bot", scope="read", tag="bots", response=ref("Bot"))
def get_bot(bot_id: int):
    """A bot of the token's user; another user's bot is a 404."""
    return jsonify(schemas.bot_json(bot_service.owned_bot(db.session, api_user(), bot_id)))


@api_route(
    BOT,
    "PATCH",
    summary="Change a bot's settings",
    scope="trade",
    tag="bots",
    body=BOT_UPDATE,
    response=ref("Bot"),
)
def update_bot(bot_id: int):
    """Rename, switch testnet or change the interval; absent fields keep their value."""
    bot = bot_service.owned_bot(db.session, api_user(), bot_id)
    body = json_body()
    data = BotSettings(
        string(body, "name", bot.name),
        boolean(body, "testnet", bot.testnet),
        integer(body, "run_interval_minutes", bot.run_interval_minutes),
    )
    bot = bot_service.update_bot_settings(
        db.session, api_user(), bot.id, data, now=now(), ip=client_ip(), plans=plan_table()
    )
    db.session.commit()
    return jsonify(schemas.bot_json(bot))


@api_route(
    BOT, "DELETE", summary="Delete a bot and its history", scope="admin", tag="bots", status=204
)
def delete_bot(bot_id: int):
    """Delete the bot with its pairs, orders, trades, runs and logs (the audit row stays)."""
    bot_service.delete_user_bot(db.session, api_user(), bot_id, ip=client_ip())
    db.session.commit()
    sync_cron()
    return "", 204


def _lifecycle(bot_id: int, service, **extra):
    """Run a start / pause / stop service and answer with the bot."""
    bot = service(db.session, api_user(), bot_id, now=now(), ip=client_ip(), **extra)
    db.session.commit()
    sync_cron()
    return jsonify(schemas.bot_json(bot))


@api_route(
    BOT + "/start",
    "POST",
    summary="Start (or resume) a bot",
    scope="trade",
    tag="bots",
    response=ref("Bot"),
)
def start_bot(bot_id: int):
    """Refused (422) without an active pair, keys or room in the plan."""
    return _lifecycle(bot_id, bot_service.start_user_bot, plans=plan_table())


@api_route(
    BOT + "/pause",
    "POST",
    summary="Pause a running bot",
    scope="trade",
    tag="bots",
    response=ref("Bot"),
)
def pause_bot(bot_id: int):
    """The bot keeps its pairs and positions and runs no more until started."""
    return _lifecycle(bot_id, bot_service.pause_user_bot)


@api_route(
    BOT + "/stop", "POST", summary="Stop a bot", scope="trade", tag="bots", response=ref("Bot")
)
def stop_bot(bot_id: int):
    """Open positions stay on the exchange as they are."""
    return _lifecycle(bot_id, bot_service.stop_user_bot)


# -- pairs -------------------------------------------------------------------------------------


def _params(body: dict) -> dict[str, str]:
    """Strategy parameters as the service reads them (texts by name, as a form sends them)."""
    raw = body.get("params") or {}
    if not isinstance(raw, dict):
        raise invalid("params", "params must be an object of parameter names and values.")
    texts = {}
    for name, value in raw.items():
        texts[str(name)] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return texts


def _pair_input(body: dict, symbol: str, side: str, current=None) -> PairInput:
    """The service input of a pair body; absent fields keep the current pair's values."""
    leverage = body.get("leverage", current.leverage if current else Decimal(10))
    if isinstance(leverage, float | int) and not isinstance(leverage, bool):
        leverage = str(leverage)  # through text: no float reaches the pair
    params = _params(body) if "params" in body or current is None else None
    return PairInput(
        symbol,
        side,
        leverage,
        integer(body, "ema_interval", current.ema_interval if current else 1),
        boolean(body, "automatic_mode", current.automatic_mode if current else True),
        boolean(body, "is_active", current.is_active if current else True),
        string(body, "strategy", current.strategy if current else DEFAULT_STRATEGY),
        params if params is not None else pair_service.param_texts(current.strategy_params),
    )


def _rules(bot, symbol: str):
    """The symbol's rules from the bot's exchange (None when unreachable); 422 when unknown."""
    try:
        return exchange_checks.lookup_instrument(
            bot.exchange, symbol, testnet=bot.testnet, env=client_env()
        ).rules
    except exchange_checks.UnknownSymbolError as exc:
        raise invalid("symbol", str(exc)) from None


@api_route(
    BOT + "/pairs",
    "GET",
    summary="List a bot's pairs",
    scope="read",
    tag="pairs",
    response=list_of("Pair"),
)
def list_pairs(bot_id: int):
    """The bot's pairs in creation order."""
    bot = bot_service.owned_bot(db.session, api_user(), bot_id)
    return jsonify(items=[schemas.pair_json(p) for p in bot.pairs])


@api_route(
    BOT + "/pairs",
    "POST",
    summary="Add a pair",
    scope="trade",
    tag="pairs",
    body=PAIR_BODY,
    response=ref("Pair"),
    status=201,
)
def create_pair(bot_id: int):
    """One pair per (symbol, side), within the plan's pair limit; the symbol is checked."""
    bot = bot_service.owned_bot(db.session, api_user(), bot_id)
    body = json_body()
    symbol = (string(body, "symbol", "") or "").strip().upper()
    data = _pair_input(body, symbol, string(body, "side", "") or "")
    rules = _rules(bot, symbol) if symbol else None
    pair = pair_service.add_pair(
        db.session, api_user(), bot.id, data, rules=rules, ip=client_ip(), plans=plan_table()
    )
    db.session.commit()
    return jsonify(schemas.pair_json(pair)), 201


@api_route(PAIR, "GET", summary="Get a pair", scope="read", tag="pairs", response=ref("Pair"))
def get_pair(bot_id: int, pair_id: int):
    """A pair of one of the user's bots."""
    _bot, pair = pair_service.owned_pair(db.session, api_user(), bot_id, pair_id)
    return jsonify(schemas.pair_json(pair))


@api_route(
    PAIR,
    "PATCH",
    summary="Change a pair",
    scope="trade",
    tag="pairs",
    body=PAIR_BODY,
    response=ref("Pair"),
)
def update_pair(bot_id: int, pair_id: int):
    """Leverage, interval, modes, strategy and parameters; symbol and side are fixed."""
    bot, pair = pair_service.owned_pair(db.session, api_user(), bot_id, pair_id)
    data = _pair_input(json_body(), pair.symbol, pair.side, pair)
    pair = pair_service.update_pair(
        db.session, api_user(), bot.id, pair.id, data, rules=None, ip=client_ip()
    )
    db.session.commit()
    return jsonify(schemas.pair_json(pair))


@api_route(PAIR, "DELETE", summary="Remove a pair", scope="trade", tag="pairs", status=204)
def delete_pair(bot_id: int, pair_id: int):
    """Its orders and trades stay in the history."""
    pair_service.delete_pair(db.session, api_user(), bot_id, pair_id, ip=client_ip())
    db.session.commit()
    return "", 204
