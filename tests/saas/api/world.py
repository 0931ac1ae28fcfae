"""Two tenants with a full set of objects each, and every API call described against them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from saas.models import Backtest, Order, Trade
from tests.saas.api.conftest import NOW


@dataclass(frozen=True)
class Tenant:
    """One enterprise user's objects, by id, and an admin token."""

    user: int
    bot: int
    pair: int
    order: int
    trade: int
    backtest: int
    token: str


@dataclass(frozen=True)
class Call:
    """One API call: how to make it on a tenant's objects and what the owner gets."""

    method: str
    path: Callable[[Tenant], str]
    scope: str
    owner_status: int
    body: dict | None = None
    status: str = "stopped"  # the bot's status before the call
    has_id: bool = True
    extra: dict = field(default_factory=dict)


def make_tenant(site, name: str) -> Tenant:
    """A user on Enterprise with a paper bot, a pair, an open order, a trade and a backtest."""
    user = site.plan_user("enterprise", email=f"{name}@example.com")
    bot = site.bot(user, name=f"{name}'s bot")
    pair = site.pair(bot)
    cid = f"b{bot}-p{pair}-1-1"
    order = site.add(
        Order(
            bot_id=bot,
            pair_id=pair,
            client_order_id=cid,
            symbol="BTCUSDT",
            side="Long",
            action="OPEN",
            order_side="Buy",
            qty=Decimal(1),
            price=Decimal(30000),
            status="open",
            created_at=NOW,
        )
    )
    trade = site.add(
        Trade(
            bot_id=bot,
            pair_id=pair,
            client_order_id=f"{cid}-t",
            time=NOW,
            symbol="BTCUSDT",
            side="Long",
            action="OPEN",
            qty=Decimal(1),
            price=Decimal(30000),
            position_size=Decimal(1),
            position_value=Decimal(30000),
            margin_level=Decimal(3),
            balance_after=Decimal(1000),
        )
    )
    backtest = site.add(
        Backtest(
            user_id=user,
            symbol="BTCUSDT",
            side="Long",
            balance=Decimal(1000),
            leverage=Decimal(10),
            start_at=NOW - timedelta(days=30),
            end_at=NOW,
            status="done",
            metrics={"trades": 3},
            created_at=NOW,
        )
    )
    return Tenant(user, bot, pair, order, trade, backtest, site.token(user, "admin"))


def bot_path(suffix: str = "") -> Callable[[Tenant], str]:
    """/bots/<id><suffix>."""
    return lambda t: f"/bots/{t.bot}{suffix}"


def pair_path(t: Tenant) -> str:
    """/bots/<id>/pairs/<id>."""
    return f"/bots/{t.bot}/pairs/{t.pair}"


def fixed(path: str) -> Callable[[Tenant], str]:
    """A path without ids."""
    return lambda _t: path


BACKTEST_BODY = {"symbol": "BTCUSDT", "side": "Long", "start": "2026-01-01", "end": "2026-01-10"}

# endpoint -> the call; every API operation with a scope must be here (a test checks).
CALLS: dict[str, Call] = {
    "api.list_bots": Call("GET", fixed("/bots"), "read", 200, has_id=False),
    "api.create_bot": Call(
        "POST", fixed("/bots"), "trade", 201, {"name": "New", "exchange": "paper"}, has_id=False
    ),
    "api.get_bot": Call("GET", bot_path(), "read", 200),
    "api.update_bot": Call("PATCH", bot_path(), "trade", 200, {"run_interval_minutes": 15}),
    "api.delete_bot": Call("DELETE", bot_path(), "admin", 204),
    "api.start_bot": Call("POST", bot_path("/start"), "trade", 200),
    "api.pause_bot": Call("POST", bot_path("/pause"), "trade", 200, status="running"),
    "api.stop_bot": Call("POST", bot_path("/stop"), "trade", 200, status="running"),
    "api.list_pairs": Call("GET", bot_path("/pairs"), "read", 200),
    "api.create_pair": Call(
        "POST", bot_path("/pairs"), "trade", 201, {"symbol": "BTCUSDT", "side": "Short"}
    ),
    "api.get_pair": Call("GET", pair_path, "read", 200),
    "api.update_pair": Call("PATCH", pair_path, "trade", 200, {"leverage": "7"}),
    "api.delete_pair": Call("DELETE", pair_path, "trade", 204),
    "api.list_positions": Call("GET", bot_path("/positions"), "read", 200),
    "api.list_open_orders": Call("GET", bot_path("/orders"), "read", 200),
    "api.list_trades": Call("GET", lambda t: f"/trades?bot_id={t.bot}", "read", 200),
    "api.bot_stats": Call("GET", bot_path("/stats"), "read", 200),
    "api.list_backtests": Call("GET", fixed("/backtests"), "read", 200, has_id=False),
    "api.submit_backtest": Call(
        "POST", fixed("/backtests"), "trade", 202, BACKTEST_BODY, has_id=False
    ),
    "api.get_backtest": Call("GET", lambda t: f"/backtests/{t.backtest}", "read", 200),
    "api.backtest_result": Call("GET", lambda t: f"/backtests/{t.backtest}/result", "read", 200),
    "api.get_notification_settings": Call(
        "GET", fixed("/notification-settings"), "read", 200, has_id=False
    ),
    "api.update_notification_settings": Call(
        "PATCH",
        fixed("/notification-settings"),
        "admin",
        200,
        {"telegram_enabled": True, "telegram_chat_id": "12345"},
        has_id=False,
    ),
}
LOWER_SCOPE = {"trade": "read", "admin": "trade"}
