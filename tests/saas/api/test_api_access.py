"""Every API call as its owner, another tenant, a bad token, a revoked token and a narrow scope.

The table in tests/saas/api/world.py lists each call; a test fails when the API gains an
operation the table does not cover, so no endpoint ships untested.
"""

from __future__ import annotations

import pytest

from saas.api.registry import OPERATIONS
from saas.models import Bot
from tests.saas.api.world import CALLS, LOWER_SCOPE, make_tenant

PROBLEM = "application/problem+json"


@pytest.fixture
def world(api_site, tmp_path):
    """The owner and a stranger, each with bots, pairs, orders, trades and a backtest."""
    api_site.app.config["BACKTEST_DATA_DIR"] = str(tmp_path / "candles")
    api_site.app.config["BACKTEST_REPORT_DIR"] = str(tmp_path / "reports")
    return api_site, make_tenant(api_site, "owner"), make_tenant(api_site, "stranger")


def call(site, token, endpoint, tenant):
    """Make the table's call for ``endpoint`` on ``tenant``'s objects with ``token``."""
    spec = CALLS[endpoint]
    site.bot_status(tenant.bot, spec.status)
    return site.api(token).open(spec.method, spec.path(tenant), spec.body)


def test_every_operation_with_a_scope_is_in_the_table():
    operations = {op.endpoint: op for op in OPERATIONS if op.scope is not None}
    assert set(operations) == set(CALLS)
    for endpoint, op in operations.items():
        assert CALLS[endpoint].scope == op.scope, endpoint
        assert CALLS[endpoint].method.lower() == op.method, endpoint


@pytest.mark.parametrize("endpoint", sorted(CALLS))
def test_the_owner_gets_the_answer(world, endpoint):
    site, owner, _ = world
    response = call(site, owner.token, endpoint, owner)
    assert response.status_code == CALLS[endpoint].owner_status, response.get_data(as_text=True)
    if response.status_code != 204:
        assert response.mimetype == "application/json"


@pytest.mark.parametrize("endpoint", sorted(e for e, c in CALLS.items() if c.has_id))
def test_another_tenant_gets_a_404_problem(world, endpoint):
    site, owner, stranger = world
    response = call(site, stranger.token, endpoint, owner)
    assert response.status_code == 404
    assert response.mimetype == PROBLEM and response.get_json()["status"] == 404


@pytest.mark.parametrize("endpoint", sorted(e for e, c in CALLS.items() if not c.has_id))
def test_calls_without_ids_only_ever_see_the_callers_own_objects(world, endpoint):
    site, owner, stranger = world
    response = call(site, stranger.token, endpoint, stranger)
    assert response.status_code == CALLS[endpoint].owner_status
    body = response.get_data(as_text=True)
    assert "owner@example.com" not in body and "owner's bot" not in body


@pytest.mark.parametrize("endpoint", sorted(CALLS))
@pytest.mark.parametrize("token", [None, "dcab_not-a-real-token", "Bearer-less", ""])
def test_a_missing_or_bad_token_is_a_401_problem(world, endpoint, token):
    site, owner, _ = world
    response = call(site, token, endpoint, owner)
    assert response.status_code == 401 and response.mimetype == PROBLEM
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert site.get(Bot, owner.bot) is not None


@pytest.mark.parametrize("endpoint", sorted(CALLS))
def test_a_revoked_token_is_a_401_problem(world, endpoint):
    site, owner, _ = world
    token = site.token(owner.user, "admin")
    site.revoke(token)
    response = call(site, token, endpoint, owner)
    assert response.status_code == 401
    assert "revoked" in response.get_json()["detail"]


@pytest.mark.parametrize("endpoint", sorted(e for e, c in CALLS.items() if c.scope != "read"))
def test_a_token_of_a_narrower_scope_is_a_403_problem(world, endpoint):
    site, owner, _ = world
    token = site.token(owner.user, LOWER_SCOPE[CALLS[endpoint].scope])
    before = site.get(Bot, owner.bot)
    response = call(site, token, endpoint, owner)
    assert response.status_code == 403 and response.mimetype == PROBLEM
    assert CALLS[endpoint].scope in response.get_json()["detail"]
    after = site.get(Bot, owner.bot)
    assert (after.name, after.run_interval_minutes) == (before.name, before.run_interval_minutes)


@pytest.mark.parametrize("endpoint", sorted(e for e, c in CALLS.items() if c.scope == "read"))
def test_read_calls_need_a_plan_with_api_access(world, endpoint):
    site, owner, _ = world
    token = site.token(owner.user, "read")
    _set_plan(site, owner.user, "starter")
    response = call(site, token, endpoint, owner)
    assert response.status_code == 403
    assert "Pro and Enterprise" in response.get_json()["detail"]


def _set_plan(site, user_id: int, plan: str) -> None:
    """Move a user to another plan directly."""
    from saas.models import User  # noqa: PLC0415

    def make(session):
        user = session.get(User, user_id)
        user.plan = plan
        return user

    site._write(make)
