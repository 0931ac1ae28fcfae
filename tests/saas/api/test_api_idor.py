"""The IDOR matrix for /api/v1/: another tenant's ids, in the URL or in the body, change nothing.

The same tenant dump as the pages' matrix (tests/saas/test_idor.py) is compared before and
after each call made with the stranger's own admin token.
"""

from __future__ import annotations

import pytest

from tests.saas.api.world import CALLS, make_tenant
from tests.saas.test_idor import dump

ID_CALLS = sorted(e for e, c in CALLS.items() if c.has_id)
WRITE_CALLS = sorted(e for e, c in CALLS.items() if c.method != "GET")


@pytest.fixture
def world(api_site, tmp_path):
    """The owner and a stranger with full sets of objects."""
    api_site.app.config["BACKTEST_DATA_DIR"] = str(tmp_path / "candles")
    api_site.app.config["BACKTEST_REPORT_DIR"] = str(tmp_path / "reports")
    return api_site, make_tenant(api_site, "owner"), make_tenant(api_site, "stranger")


@pytest.mark.parametrize("endpoint", ID_CALLS)
def test_the_owners_ids_in_the_url_are_a_404_and_change_nothing(world, endpoint):
    site, owner, stranger = world
    spec = CALLS[endpoint]
    site.bot_status(owner.bot, spec.status)
    before = dump(site, owner)
    response = site.api(stranger.token).open(spec.method, spec.path(owner), spec.body)
    assert response.status_code == 404
    assert dump(site, owner) == before


@pytest.mark.parametrize("endpoint", WRITE_CALLS)
def test_the_owners_ids_in_the_body_of_ones_own_call_change_nothing_of_theirs(world, endpoint):
    site, owner, stranger = world
    spec = CALLS[endpoint]
    site.bot_status(owner.bot, spec.status)
    site.bot_status(stranger.bot, spec.status)
    smuggled = {
        "id": owner.bot,
        "bot_id": owner.bot,
        "pair_id": owner.pair,
        "user_id": owner.user,
        "order_id": owner.order,
        "trade_id": owner.trade,
    }
    before = dump(site, owner)
    body = (
        None if spec.body is None and spec.method == "DELETE" else {**(spec.body or {}), **smuggled}
    )
    response = site.api(stranger.token).open(spec.method, spec.path(stranger), body)
    assert response.status_code < 500
    assert dump(site, owner) == before


def test_mixing_ones_own_bot_with_the_owners_pair_is_a_404(world):
    site, owner, stranger = world
    api = site.api(stranger.token)
    for method, body in (("GET", None), ("PATCH", {"leverage": "3"}), ("DELETE", None)):
        response = api.open(method, f"/bots/{stranger.bot}/pairs/{owner.pair}", body)
        assert response.status_code == 404
