"""IDOR matrix: every route with an id in its URL, every method, as anonymous, owner and stranger.

The routes come from ``app.url_map``: a rule with an id argument (``id`` or ``*_id``) must be in
ROUTES, so a new route cannot ship untested. For each one:
- anonymous: a redirect to the login page;
- the owner: the page works (no 404, no error);
- another user: a 404, and the owner's rows are exactly as before (a dump compared before and
  after), also when the stranger posts the owner's ids in form fields of their own objects, or
  mixes their own ids with the owner's in one URL.
Later issues add their JSON and CSV endpoints to ROUTES. The REST API (``api.*``) answers
tokens, not logins: its matrix is tests/saas/api/test_api_idor.py, and a test here checks that
every API route with an id is in it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import inspect, or_, select

from saas.models import (
    ApiToken,
    AuditLog,
    Backtest,
    Bot,
    BotLog,
    BotRun,
    NotificationDelivery,
    NotificationOutbox,
    NotificationSetting,
    Order,
    PaperAccount,
    Trade,
    TradingPair,
    User,
    WebhookEndpoint,
)
from tests.fixtures.bots import pair_form

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
SKIPPED_METHODS = {"HEAD", "OPTIONS"}
# Form fields a stranger might smuggle the owner's ids into.
HIDDEN_ID_FIELDS = ("id", "bot_id", "pair_id", "user_id", "order_id", "trade_id", "run_id")


@dataclass(frozen=True)
class Tenant:
    """One user's objects, by id."""

    user: int
    bot: int
    pair: int
    order: int
    trade: int
    run: int
    log: int
    backtest: int
    endpoint: int
    delivery: int
    api_token: int


@dataclass(frozen=True)
class Route:
    """How to call one endpoint on a tenant's objects and what its owner's POST does."""

    url_args: Callable[[Tenant], dict]
    methods: tuple[str, ...] = ("GET", "POST")
    form: dict = field(default_factory=dict)
    # Whether the owner's POST changes the owner's rows (proves the form above is real).
    changes: bool = True
    # The bot's status before the request (pause needs a running bot).
    status: str = "stopped"


def bot_args(t: Tenant) -> dict:
    """URL arguments of a bot route."""
    return {"bot_id": t.bot}


def pair_args(t: Tenant) -> dict:
    """URL arguments of a pair route."""
    return {"bot_id": t.bot, "pair_id": t.pair}


def pair_only_args(t: Tenant) -> dict:
    """URL arguments of a route that names the pair alone."""
    return {"pair_id": t.pair}


def backtest_args(t: Tenant) -> dict:
    """URL arguments of a backtest route."""
    return {"backtest_id": t.backtest}


def endpoint_args(t: Tenant) -> dict:
    """URL arguments of a webhook endpoint route."""
    return {"endpoint_id": t.endpoint}


def delivery_args(t: Tenant) -> dict:
    """URL arguments of a notification delivery route."""
    return {"delivery_id": t.delivery}


def token_args(t: Tenant) -> dict:
    """URL arguments of an API token route."""
    return {"token_id": t.api_token}


ROUTES: dict[str, Route] = {
    "account.revoke_api_token": Route(token_args, ("POST",)),
    "bots.detail": Route(bot_args, ("GET",), changes=False),
    "bots.edit": Route(
        bot_args, form={"name": "Renamed", "testnet": "y", "run_interval_minutes": "10"}
    ),
    "bots.keys": Route(bot_args, form={"api_key": "NEW-KEY-0001", "api_secret": "NEW-SECRET-0002"}),
    "bots.test_connection": Route(bot_args, ("POST",), changes=False),
    "bots.delete": Route(bot_args),
    "bots.start": Route(bot_args, ("POST",)),
    "bots.pause": Route(bot_args, ("POST",), status="running"),
    "bots.stop": Route(bot_args, ("POST",), status="running"),
    "bots.pair_create": Route(bot_args, form=pair_form(side="Short")),
    "bots.pair_edit": Route(pair_args, form=pair_form(leverage="7", ema_interval="5")),
    "bots.pair_delete": Route(pair_args),
    "dashboard.bot": Route(bot_args, ("GET",), changes=False),
    "dashboard.bot_status": Route(bot_args, ("GET",), changes=False),
    "dashboard.bot_charts": Route(bot_args, ("GET",), changes=False),
    "dashboard.bot_drift": Route(bot_args, ("GET",), changes=False),
    "dashboard.ladder": Route(pair_only_args, ("GET",), changes=False),
    "dashboard.ladder_data": Route(pair_only_args, ("GET",), changes=False),
    "dashboard.backtest": Route(backtest_args, ("GET",), changes=False),
    "dashboard.backtest_status": Route(backtest_args, ("GET",), changes=False),
    "dashboard.backtest_report": Route(backtest_args, ("GET",), changes=False),
    "notifications.delete_webhook": Route(endpoint_args, ("POST",)),
    "notifications.enable_webhook": Route(endpoint_args, ("POST",)),
    "notifications.test_webhook": Route(endpoint_args, ("POST",)),
    "notifications.resend": Route(delivery_args, ("POST",)),
}


def id_endpoints(app) -> dict[str, set[str]]:
    """Endpoint -> methods, for every tenant rule with an id argument.

    Admin routes are cross-tenant by design; tests/saas/test_idor_admin.py holds their matrix
    (every admin route for anonymous, user, support and admin).
    """
    found: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api."):
            continue  # token-authenticated: tests/saas/api/test_api_idor.py
        if rule.endpoint.startswith("admin."):
            continue
        if any(arg == "id" or arg.endswith("_id") for arg in rule.arguments):
            found.setdefault(rule.endpoint, set()).update(rule.methods - SKIPPED_METHODS)
    return found


def make_tenant(site, name: str, status: str) -> Tenant:
    """A user with a Bybit testnet bot, a pair, an order, a trade, a run and a log line."""
    user = site.user(f"{name}@example.com")
    bot = site.bot(user, name=f"{name}'s bot", exchange="bybit", status="stopped")
    pair = site.pair(bot)
    site.bot_status(bot, status)
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
            status="filled",
            created_at=NOW,
        )
    )
    trade = site.add(
        Trade(
            bot_id=bot,
            pair_id=pair,
            order_id=order,
            client_order_id=cid,
            time=NOW,
            symbol="BTCUSDT",
            side="Long",
            action="OPEN",
            qty=Decimal(1),
            price=Decimal(30000),
        )
    )
    run = site.add(BotRun(bot_id=bot, started_at=NOW, outcome="ok", conclusions={}))
    log = site.add(BotLog(bot_id=bot, run_id=run, level="info", message="hi", created_at=NOW))
    backtest = site.add(
        Backtest(
            user_id=user,
            pair_id=pair,
            symbol="BTCUSDT",
            side="Long",
            balance=Decimal(1000),
            leverage=Decimal(10),
            start_at=NOW - timedelta(days=30),
            end_at=NOW,
            status="done",
            created_at=NOW,
        )
    )
    reports = Path(site.app.config["BACKTEST_REPORT_DIR"])
    reports.mkdir(parents=True, exist_ok=True)
    (reports / f"backtest-{backtest}.html").write_text(f"<p>{name}'s report</p>")
    endpoint = site.add(
        WebhookEndpoint(
            user_id=user, url="https://hooks.example.com/x", enabled=False, created_at=NOW
        )
    )
    event = site.add(
        NotificationOutbox(
            event_id=f"{name}-event",
            user_id=user,
            bot_id=bot,
            kind="position_opened",
            fields={},
            created_at=NOW,
            dispatched_at=NOW,
        )
    )
    delivery = site.add(
        NotificationDelivery(
            outbox_id=event,
            user_id=user,
            channel="webhook",
            endpoint_id=endpoint,
            status="dead",
            attempts=3,
            next_attempt_at=NOW,
            created_at=NOW,
        )
    )
    token = site.add(
        ApiToken(user_id=user, name="script", prefix="dcab_x", token_hash=f"{name:0>64}"[:64])
    )
    return Tenant(user, bot, pair, order, trade, run, log, backtest, endpoint, delivery, token)


def _plain(row) -> dict:
    """A row's columns as a dict."""
    return {c.key: getattr(row, c.key) for c in inspect(row).mapper.column_attrs}


def dump(site, t: Tenant) -> dict:
    """Every row of the tenant's, plus audit rows by or about them."""
    bots = select(Bot.id).where(Bot.user_id == t.user)
    tables = {
        "users": select(User).where(User.id == t.user),
        "bots": select(Bot).where(Bot.user_id == t.user),
        "notification_settings": select(NotificationSetting).where(
            NotificationSetting.user_id == t.user
        ),
        "backtests": select(Backtest).where(Backtest.user_id == t.user),
        "webhook_endpoints": select(WebhookEndpoint).where(WebhookEndpoint.user_id == t.user),
        "notification_outbox": select(NotificationOutbox).where(
            NotificationOutbox.user_id == t.user
        ),
        "notification_deliveries": select(NotificationDelivery).where(
            NotificationDelivery.user_id == t.user
        ),
        "api_tokens": select(ApiToken).where(ApiToken.user_id == t.user),
        "audit_logs": select(AuditLog).where(
            or_(
                AuditLog.user_id == t.user,
                (AuditLog.target_type == "bot") & AuditLog.target_id.in_(bots),
            )
        ),
    }
    for model in (TradingPair, Order, Trade, BotRun, BotLog, PaperAccount):
        tables[model.__tablename__] = select(model).where(model.bot_id.in_(bots))
    dumped = {}
    for name, query in tables.items():
        rows = [_plain(row) for (row,) in site.query(query.order_by(query.selected_columns[0]))]
        for row in rows:
            row.pop("last_login_at", None)  # logging in is not the request under test
        dumped[name] = rows
    return dumped


def cases() -> list:
    """(endpoint, method) pairs of the table, each as a test id."""
    return [
        pytest.param(endpoint, method, id=f"{endpoint}-{method}")
        for endpoint, route in ROUTES.items()
        for method in route.methods
    ]


@pytest.fixture
def world(site, tmp_path):
    """The owner and a stranger, each with a full set of objects."""
    site.app.config["BACKTEST_REPORT_DIR"] = str(tmp_path / "backtest-reports")
    return site, make_tenant(site, "owner", "stopped"), make_tenant(site, "stranger", "stopped")


def url_for_route(site, endpoint: str, args: dict) -> str:
    """The URL of an endpoint with these arguments."""
    from flask import url_for

    with site.app.test_request_context():
        return url_for(endpoint, **args)


def call(client, method: str, url: str, form: dict | None = None):
    """One request, read and closed (file responses hold their file open until then)."""
    response = client.open(url, method=method, data=form if method == "POST" else None)
    response.get_data()
    response.close()
    return response


def test_every_api_route_with_an_id_is_in_the_api_matrix(site):
    from tests.saas.api.world import CALLS  # noqa: PLC0415

    api = {
        rule.endpoint
        for rule in site.app.url_map.iter_rules()
        if rule.endpoint.startswith("api.") and any(a.endswith("_id") for a in rule.arguments)
    }
    covered = {endpoint for endpoint, spec in CALLS.items() if spec.has_id}
    assert api <= covered, f"add to tests/saas/api/world.py CALLS: {sorted(api - covered)}"


def test_every_route_with_an_id_is_in_the_table(site):
    found = id_endpoints(site.app)
    missing = sorted(set(found) - set(ROUTES))
    assert not missing, f"add these endpoints to ROUTES in tests/saas/test_idor.py: {missing}"
    for endpoint, methods in found.items():
        listed = set(ROUTES[endpoint].methods)
        assert methods == listed, f"{endpoint} answers {sorted(methods)}, not {sorted(listed)}"


@pytest.mark.parametrize(("endpoint", "method"), cases())
def test_anonymous_callers_go_to_the_login_page(world, endpoint, method):
    site, owner, _ = world
    route = ROUTES[endpoint]
    before = dump(site, owner)
    response = call(
        site.client(), method, url_for_route(site, endpoint, route.url_args(owner)), route.form
    )
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    assert dump(site, owner) == before


@pytest.mark.parametrize(("endpoint", "method"), cases())
def test_another_user_gets_a_404_and_changes_nothing(world, endpoint, method):
    site, owner, stranger = world
    route = ROUTES[endpoint]
    site.bot_status(owner.bot, route.status)
    before = dump(site, owner)
    client = site.client(stranger.user)
    response = call(
        client, method, url_for_route(site, endpoint, route.url_args(owner)), route.form
    )
    assert response.status_code == 404
    assert dump(site, owner) == before


@pytest.mark.parametrize(("endpoint", "method"), cases())
def test_the_owner_gets_the_page(world, endpoint, method):
    site, owner, _ = world
    route = ROUTES[endpoint]
    site.bot_status(owner.bot, route.status)
    before = dump(site, owner)
    response = call(
        site.client(owner.user),
        method,
        url_for_route(site, endpoint, route.url_args(owner)),
        route.form,
    )
    assert response.status_code in (200, 302)
    if method == "POST" and route.changes:
        assert dump(site, owner) != before, f"the owner's POST to {endpoint} changed nothing"


@pytest.mark.parametrize(("endpoint", "method"), [c for c in cases() if c.values[1] == "POST"])
def test_owner_ids_in_form_fields_of_ones_own_objects_change_nothing_of_theirs(
    world, endpoint, method
):
    site, owner, stranger = world
    route = ROUTES[endpoint]
    site.bot_status(owner.bot, route.status)
    site.bot_status(stranger.bot, route.status)
    smuggled = {name: str(owner.bot) for name in HIDDEN_ID_FIELDS}
    smuggled.update(
        pair_id=str(owner.pair),
        user_id=str(owner.user),
        order_id=str(owner.order),
        trade_id=str(owner.trade),
        run_id=str(owner.run),
    )
    before = dump(site, owner)
    response = call(
        site.client(stranger.user),
        method,
        url_for_route(site, endpoint, route.url_args(stranger)),
        route.form | smuggled,
    )
    assert response.status_code in (200, 302)
    assert dump(site, owner) == before


PAIR_ROUTES = [e for e, r in ROUTES.items() if r.url_args is pair_args]


@pytest.mark.parametrize("endpoint", PAIR_ROUTES)
@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("mix", ["own bot, their pair", "their bot, own pair"])
def test_mixing_ones_own_ids_with_the_owners_is_a_404(world, endpoint, method, mix):
    site, owner, stranger = world
    route = ROUTES[endpoint]
    args = (
        {"bot_id": stranger.bot, "pair_id": owner.pair}
        if mix.startswith("own bot")
        else {"bot_id": owner.bot, "pair_id": stranger.pair}
    )
    before = (dump(site, owner), dump(site, stranger))
    response = call(
        site.client(stranger.user), method, url_for_route(site, endpoint, args), route.form
    )
    assert response.status_code == 404
    assert (dump(site, owner), dump(site, stranger)) == before


# Routes that take an owned id in the query string (filters, prefilled forms), not the path.
QUERY_ROUTES: dict[str, Callable[[Tenant], dict]] = {
    "dashboard.trades": lambda t: {"bot": t.bot},
    "dashboard.trades_csv": lambda t: {"bot": t.bot},
    "dashboard.analytics": lambda t: {"bot": t.bot},
    "dashboard.analytics_data": lambda t: {"bot": t.bot},
    "dashboard.backtests": lambda t: {"pair": t.pair},
}


@pytest.mark.parametrize("endpoint", sorted(QUERY_ROUTES))
def test_an_id_in_the_query_string_is_scoped_too(world, endpoint):
    site, owner, stranger = world
    if endpoint not in site.app.view_functions:
        pytest.skip(f"{endpoint} is not installed in this app")
    url = url_for_route(site, endpoint, QUERY_ROUTES[endpoint](owner))
    before = dump(site, owner)
    assert call(site.client(stranger.user), "GET", url).status_code == 404
    assert call(site.client(owner.user), "GET", url).status_code == 200
    assert dump(site, owner) == before
