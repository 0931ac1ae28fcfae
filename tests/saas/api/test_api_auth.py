"""Tokens at the door: expiry, suspended owners, plans, rate limits, cookies and CSRF."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from saas.models import ApiToken, AuditLog, Bot, User
from tests.fake_exchange import DEFAULT_CREDENTIALS
from tests.fixtures.web import login


def _set(site, model, object_id, **values):
    """Change columns of a row directly."""

    def make(session):
        row = session.get(model, object_id)
        for name, value in values.items():
            setattr(row, name, value)
        return row

    site._write(make)


def test_an_expired_token_is_refused(api_site):
    uid = api_site.plan_user()
    token = api_site.token(uid, "read", expires_at=datetime.now(UTC) + timedelta(seconds=1))
    assert api_site.api(token).get("/bots").status_code == 200
    (row,) = api_site.query(select(ApiToken))
    _set(api_site, ApiToken, row[0].id, expires_at=datetime.now(UTC) - timedelta(seconds=1))
    response = api_site.api(token).get("/bots")
    assert response.status_code == 401 and "expired" in response.get_json()["detail"]


def test_a_suspended_users_token_stops_working(api_site):
    uid = api_site.plan_user()
    token = api_site.token(uid, "read")
    _set(api_site, User, uid, status="suspended")
    assert api_site.api(token).get("/bots").status_code == 401


def test_pro_reads_but_may_not_write_even_with_an_admin_token(api_site):
    uid = api_site.plan_user("pro")
    token = api_site.token(uid, "admin")
    assert api_site.api(token).get("/bots").status_code == 200
    response = api_site.api(token).post("/bots", {"name": "x", "exchange": "paper"})
    assert response.status_code == 403 and "read calls only" in response.get_json()["detail"]
    assert api_site.query(select(Bot)) == []


def test_a_lapsed_plan_loses_api_access(api_site):
    uid = api_site.plan_user("enterprise")
    token = api_site.token(uid, "read")
    _set(api_site, User, uid, plan_status="canceled")
    assert api_site.api(token).get("/bots").status_code == 403


def test_each_token_has_its_plans_rate_limit(api_site):
    api_site.app.config["API_ACCESS"] = {"enterprise": ("admin", "3 per minute")}
    uid = api_site.plan_user()
    first, second = api_site.token(uid, "read"), api_site.token(uid, "read")
    codes = [api_site.api(first).get("/bots").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    spent = api_site.api(first).get("/bots")
    assert spent.mimetype == "application/problem+json"
    assert int(spent.headers["Retry-After"]) >= 1
    assert api_site.api(second).get("/bots").status_code == 200  # counted per token


def test_a_logged_in_browser_without_a_token_gets_nothing(api_site):
    uid = api_site.plan_user()
    bid = api_site.bot(uid)
    client = api_site.app.test_client()
    login(client, uid)
    assert client.get("/api/v1/bots").status_code == 401
    assert client.post(f"/api/v1/bots/{bid}/start").status_code == 401
    assert api_site.get(Bot, bid).status == "stopped"


def test_token_requests_need_no_csrf_token_while_the_pages_still_do(api_site):
    uid = api_site.plan_user()
    bid = api_site.bot(uid)
    api_site.pair(bid)
    page = api_site.client(uid).post(f"/bots/{bid}/start", csrf=False)
    assert page.status_code == 400 and api_site.get(Bot, bid).status == "stopped"
    api = api_site.api(api_site.token(uid, "trade")).post(f"/bots/{bid}/start")
    assert api.status_code == 200 and api_site.get(Bot, bid).status == "running"


def test_telegram_over_the_api_needs_a_plan_with_telegram(api_site):
    """The API applies the preferences page's plan gate: no Telegram on the Free plan."""
    api_site.app.config["API_ACCESS"] = {"free": ("admin", "100 per minute")}
    uid = api_site.plan_user("free")
    api = api_site.api(api_site.token(uid, "admin"))
    response = api.patch(
        "/notification-settings", {"telegram_enabled": True, "telegram_chat_id": "12345"}
    )
    assert response.status_code == 422, response.get_json()
    assert "not part of the Free plan" in response.get_json()["detail"]
    assert api.get("/notification-settings").get_json()["telegram_enabled"] is False


def test_a_key_that_can_withdraw_is_refused_over_the_api_too(api_site, seeded_exchange):
    """The page's key-permission rule holds for API-created bots: nothing is saved."""
    uid = api_site.plan_user()
    api = api_site.api(api_site.token(uid, "admin"))
    key, secret = DEFAULT_CREDENTIALS["bybit"]
    seeded_exchange.set_key_permissions("bybit", key, {"Wallet": ["AccountTransfer", "Withdraw"]})
    response = api.post(
        "/bots", {"name": "Live", "exchange": "bybit", "api_key": key, "api_secret": secret}
    )
    assert response.status_code == 422, response.get_json()
    assert "withdraw" in response.get_json()["detail"].lower()
    assert api_site.query(select(Bot)) == []


def test_api_writes_are_audited_with_the_same_actions_as_the_pages(api_site):
    uid = api_site.plan_user()
    api = api_site.api(api_site.token(uid, "admin"))
    key, secret = DEFAULT_CREDENTIALS["bybit"]
    created = api.post(
        "/bots", {"name": "Live", "exchange": "bybit", "api_key": key, "api_secret": secret}
    ).get_json()
    bid = created["id"]
    api.post(f"/bots/{bid}/pairs", {"symbol": "BTCUSDT", "side": "Long", "leverage": 5})
    api.patch(f"/bots/{bid}", {"name": "Live 2"})
    api.post(f"/bots/{bid}/start")
    api.post(f"/bots/{bid}/stop")
    api.patch("/notification-settings", {"email_enabled": True})
    api.delete(f"/bots/{bid}")
    actions = [row.action for (row,) in api_site.query(select(AuditLog).order_by(AuditLog.id))]
    assert [a for a in actions if not a.startswith("api_token")] == [
        "bot.create",
        "pair.create",
        "bot.update",
        "bot.start",
        "bot.stop",
        "notifications.update",
        "bot.delete",
    ]


def test_keys_never_come_back_in_responses_or_the_audit_trail(api_site):
    uid = api_site.plan_user()
    api = api_site.api(api_site.token(uid, "admin"))
    key, secret = "KEY-abcdef-123456", "SECRET-ghijkl-7890"
    created = api.post(
        "/bots", {"name": "Live", "exchange": "bybit", "api_key": key, "api_secret": secret}
    )
    assert created.status_code == 201 and created.get_json()["keys_stored"] is True
    texts = [created.get_data(as_text=True)]
    texts.append(api.get(f"/bots/{created.get_json()['id']}").get_data(as_text=True))
    texts += [str(row.after) for (row,) in api_site.query(select(AuditLog))]
    assert not any(key in t or secret in t for t in texts)


def test_a_refused_change_is_a_422_problem_naming_the_field(api_site):
    uid = api_site.plan_user()
    api = api_site.api(api_site.token(uid, "trade"))
    response = api.post("/bots", {"name": "", "exchange": "paper"})
    assert response.status_code == 422
    body = response.get_json()
    assert body["invalid_params"][0]["name"] == "name" and body["title"]
    assert api.post("/bots", None).status_code in (400, 422)
    not_json = api.open("POST", "/bots", data="name=x", headers={"Content-Type": "text/plain"})
    assert not_json.status_code == 400


def test_starting_without_an_active_pair_is_refused_like_on_the_page(api_site):
    uid = api_site.plan_user()
    bid = api_site.bot(uid)
    response = api_site.api(api_site.token(uid, "trade")).post(f"/bots/{bid}/start")
    assert response.status_code == 422 and api_site.get(Bot, bid).status == "stopped"
