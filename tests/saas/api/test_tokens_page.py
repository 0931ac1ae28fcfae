"""Account → API tokens: a token is shown once, stored hashed, limited by plan, and revocable."""

from __future__ import annotations

import re

from sqlalchemy import select

from saas.models import ApiToken, AuditLog
from saas.services.accounts.api_tokens import hash_token

TOKEN = re.compile(r"dcab_[A-Za-z0-9_-]{40,}")


def test_a_new_token_is_shown_once_and_stored_only_as_its_hash(api_site):
    uid = api_site.plan_user()
    browser = api_site.client(uid)
    page = browser.post(
        "/account/api-tokens", {"name": "cron job", "scope": "trade", "expires": "2099-01-01"}
    ).get_data(as_text=True)
    (token,) = TOKEN.findall(page)
    (row,) = [r for (r,) in api_site.query(select(ApiToken))]
    assert row.token_hash == hash_token(token) and token not in row.token_hash
    assert row.scope == "trade" and row.expires_at.year == 2099
    assert token not in browser.get("/account/api-tokens").get_data(as_text=True)
    (audit,) = [r for (r,) in api_site.query(select(AuditLog))]
    assert audit.action == "api_token.create" and token not in str(audit.after)
    assert api_site.api(token).get("/bots").status_code == 200


def test_the_plan_decides_which_scopes_may_be_made(api_site):
    free, pro = api_site.plan_user("free"), api_site.plan_user("pro")
    page = api_site.client(free).post("/account/api-tokens", {"name": "x", "scope": "read"})
    assert page.status_code == 400 and "Pro plan" in page.get_data(as_text=True)
    page = api_site.client(pro).post("/account/api-tokens", {"name": "x", "scope": "trade"})
    assert page.status_code == 400 and "needs Enterprise" in page.get_data(as_text=True)
    page = api_site.client(pro).post("/account/api-tokens", {"name": "x", "scope": "read"})
    assert page.status_code == 200 and TOKEN.search(page.get_data(as_text=True))
    assert len(api_site.query(select(ApiToken))) == 1


def test_revoking_stops_the_token_at_once(api_site):
    uid = api_site.plan_user()
    token = api_site.token(uid, "read")
    (row,) = [r for (r,) in api_site.query(select(ApiToken))]
    response = api_site.client(uid).post(f"/account/api-tokens/{row.id}/revoke")
    assert response.status_code == 302
    assert api_site.api(token).get("/bots").status_code == 401
    assert "read token" not in api_site.client(uid).get("/account/api-tokens").get_data(
        as_text=True
    )


def test_another_users_token_cannot_be_revoked(api_site):
    owner, stranger = api_site.plan_user(), api_site.plan_user()
    token = api_site.token(owner, "read")
    (row,) = [r for (r,) in api_site.query(select(ApiToken))]
    response = api_site.client(stranger).post(f"/account/api-tokens/{row.id}/revoke")
    assert response.status_code == 404
    assert api_site.api(token).get("/bots").status_code == 200
