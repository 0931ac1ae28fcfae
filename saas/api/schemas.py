"""JSON shapes of the API: the JSON Schemas the OpenAPI document lists, and the serialisers."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

STRING = {"type": "string"}
BOOLEAN = {"type": "boolean"}
INTEGER = {"type": "integer"}
DECIMAL = {"type": "string", "description": "A decimal number as text (no float rounding)."}
TIME = {"type": ["string", "null"], "format": "date-time"}
NULLABLE_STRING = {"type": ["string", "null"]}


def obj(properties: dict, required: tuple = ()) -> dict:
    """An object schema."""
    schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    return schema


def ref(name: str) -> dict:
    """A reference to a component schema."""
    return {"$ref": f"#/components/schemas/{name}"}


def list_of(name: str, extra: dict | None = None) -> dict:
    """``{"items": [<name>...]}`` plus extra members."""
    return obj({"items": {"type": "array", "items": ref(name)}, **(extra or {})}, ("items",))


COMPONENTS = {
    "Bot": obj(
        {
            "id": INTEGER,
            "name": STRING,
            "exchange": {"type": "string", "enum": ["phemex", "bybit", "paper"]},
            "testnet": BOOLEAN,
            "status": {"type": "string", "enum": ["stopped", "running", "paused", "error"]},
            "run_interval_minutes": INTEGER,
            "keys_stored": BOOLEAN,
            "pairs": INTEGER,
            "active_pairs": INTEGER,
            "last_run_at": TIME,
            "next_run_at": TIME,
            "last_outcome": NULLABLE_STRING,
            "last_error": NULLABLE_STRING,
            "created_at": TIME,
        },
        ("id", "name", "exchange", "testnet", "status"),
    ),
    "Pair": obj(
        {
            "id": INTEGER,
            "bot_id": INTEGER,
            "symbol": STRING,
            "side": {"type": "string", "enum": ["Long", "Short"]},
            "leverage": DECIMAL,
            "ema_interval": INTEGER,
            "automatic_mode": BOOLEAN,
            "is_active": BOOLEAN,
            "strategy": STRING,
            "params": {"type": "object"},
        },
        ("id", "bot_id", "symbol", "side"),
    ),
    "Position": obj(
        {
            "pair_id": {"type": ["integer", "null"]},
            "symbol": STRING,
            "side": STRING,
            "size": DECIMAL,
            "margin": DECIMAL,
            "unrealised_pnl": DECIMAL,
            "margin_level": {"type": ["string", "null"]},
            "price": DECIMAL,
            "time": TIME,
        }
    ),
    "Order": obj(
        {
            "id": INTEGER,
            "pair_id": {"type": ["integer", "null"]},
            "client_order_id": STRING,
            "symbol": STRING,
            "side": STRING,
            "action": STRING,
            "order_side": STRING,
            "qty": DECIMAL,
            "price": {"type": ["string", "null"]},
            "status": STRING,
            "created_at": TIME,
        }
    ),
    "Trade": obj(
        {
            "id": INTEGER,
            "bot_id": INTEGER,
            "bot_name": STRING,
            "pair_id": {"type": ["integer", "null"]},
            "time": TIME,
            "symbol": STRING,
            "side": STRING,
            "action": STRING,
            "qty": DECIMAL,
            "price": DECIMAL,
            "fee": DECIMAL,
            "pnl": DECIMAL,
            "position_size": DECIMAL,
            "client_order_id": STRING,
        }
    ),
    "Stats": obj(
        {
            "trades": INTEGER,
            "closes": INTEGER,
            "wins": INTEGER,
            "losses": INTEGER,
            "realised_pnl": DECIMAL,
            "fees": DECIMAL,
            "net_pnl": DECIMAL,
            "win_rate": {"type": ["string", "null"]},
            "max_drawdown_pct": DECIMAL,
        }
    ),
    "Backtest": obj(
        {
            "id": INTEGER,
            "symbol": STRING,
            "side": STRING,
            "strategy": STRING,
            "status": {"type": "string", "enum": ["queued", "running", "done", "error"]},
            "progress": {"type": "integer", "description": "Per mille done."},
            "message": STRING,
            "created_at": TIME,
            "finished_at": TIME,
        }
    ),
    "NotificationSettings": obj(
        {
            "telegram_enabled": BOOLEAN,
            "telegram_chat_id": NULLABLE_STRING,
            "telegram_bot_token_set": BOOLEAN,
            "email_enabled": BOOLEAN,
        }
    ),
    "Problem": obj(
        {
            "type": STRING,
            "title": STRING,
            "status": INTEGER,
            "detail": STRING,
            "invalid_params": {
                "type": "array",
                "items": obj({"name": STRING, "reason": STRING}),
            },
        },
        ("type", "title", "status"),
    ),
}

BOT_CREATE = obj(
    {
        "name": STRING,
        "exchange": {"type": "string", "enum": ["phemex", "bybit", "paper"]},
        "testnet": BOOLEAN,
        "api_key": {"type": "string", "writeOnly": True},
        "api_secret": {"type": "string", "writeOnly": True},
    },
    ("name", "exchange"),
)
BOT_UPDATE = obj({"name": STRING, "testnet": BOOLEAN, "run_interval_minutes": INTEGER})
PAIR_BODY = obj(
    {
        "symbol": STRING,
        "side": {"type": "string", "enum": ["Long", "Short"]},
        "leverage": {"type": ["string", "number"]},
        "ema_interval": INTEGER,
        "automatic_mode": BOOLEAN,
        "is_active": BOOLEAN,
        "strategy": STRING,
        "params": {"type": "object", "description": "Strategy parameter overrides by name."},
    }
)
BACKTEST_BODY = obj(
    {
        "symbol": STRING,
        "side": {"type": "string", "enum": ["Long", "Short"]},
        "start": {"type": "string", "format": "date"},
        "end": {"type": "string", "format": "date"},
        "strategy": STRING,
        "params": {"type": "object"},
        "balance": {"type": ["string", "number"]},
        "leverage": {"type": ["string", "number"]},
        "interval_minutes": INTEGER,
    },
    ("symbol", "side", "start", "end"),
)
SETTINGS_BODY = obj(
    {
        "telegram_enabled": BOOLEAN,
        "telegram_chat_id": STRING,
        "telegram_bot_token": {"type": "string", "writeOnly": True},
        "email_enabled": BOOLEAN,
    }
)


def text(value) -> str | None:
    """Money and other Decimals as text; None stays None."""
    if value is None:
        return None
    return format(value, "f") if isinstance(value, Decimal) else str(value)


def when(value: datetime | None) -> str | None:
    """An ISO 8601 UTC time."""
    return value.isoformat() if value is not None else None


def bot_json(bot, pairs: int | None = None, active: int | None = None) -> dict:
    """A bot as the API shows it: settings and schedule, never its keys."""
    all_pairs = list(bot.pairs) if pairs is None else None
    return {
        "id": bot.id,
        "name": bot.name,
        "exchange": bot.exchange,
        "testnet": bot.testnet,
        "status": bot.status,
        "run_interval_minutes": bot.run_interval_minutes,
        "keys_stored": bool(bot.api_key_encrypted and bot.api_secret_encrypted),
        "pairs": len(all_pairs) if all_pairs is not None else pairs,
        "active_pairs": (
            sum(1 for p in all_pairs if p.is_active) if all_pairs is not None else active
        ),
        "last_run_at": when(bot.last_run_at),
        "next_run_at": when(bot.next_run_at),
        "last_outcome": bot.last_outcome,
        "last_error": bot.last_error,
        "created_at": when(bot.created_at),
    }


def pair_json(pair) -> dict:
    """A trading pair."""
    return {
        "id": pair.id,
        "bot_id": pair.bot_id,
        "symbol": pair.symbol,
        "side": pair.side,
        "leverage": text(pair.leverage),
        "ema_interval": pair.ema_interval,
        "automatic_mode": pair.automatic_mode,
        "is_active": pair.is_active,
        "strategy": pair.strategy,
        "params": dict(pair.strategy_params or {}),
    }


def position_json(p) -> dict:
    """An open position (saas.dashboard.figures.OpenPosition)."""
    return {
        "pair_id": p.pair_id,
        "symbol": p.symbol,
        "side": p.side,
        "size": text(p.size),
        "margin": text(p.margin),
        "unrealised_pnl": text(p.upnl),
        "margin_level": text(p.margin_level),
        "price": text(p.price),
        "time": when(p.time),
    }


def order_json(o) -> dict:
    """An order the bot placed."""
    return {
        "id": o.id,
        "pair_id": o.pair_id,
        "client_order_id": o.client_order_id,
        "symbol": o.symbol,
        "side": o.side,
        "action": o.action,
        "order_side": o.order_side,
        "qty": text(o.qty),
        "price": text(o.price),
        "status": o.status,
        "created_at": when(o.created_at),
    }


def trade_json(t, bot_name: str) -> dict:
    """A fill."""
    return {
        "id": t.id,
        "bot_id": t.bot_id,
        "bot_name": bot_name,
        "pair_id": t.pair_id,
        "time": when(t.time),
        "symbol": t.symbol,
        "side": t.side,
        "action": t.action,
        "qty": text(t.qty),
        "price": text(t.price),
        "fee": text(t.fee),
        "pnl": text(t.pnl),
        "position_size": text(t.position_size),
        "client_order_id": t.client_order_id,
    }


def backtest_json(job) -> dict:
    """A backtest's state (its metrics come from the result endpoint)."""
    return {
        "id": job.id,
        "symbol": job.symbol,
        "side": job.side,
        "strategy": job.strategy,
        "status": job.status,
        "progress": job.progress,
        "message": job.message,
        "created_at": when(job.created_at),
        "finished_at": when(job.finished_at),
    }
