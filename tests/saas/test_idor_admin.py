"""The IDOR matrix of the admin pages: every admin route, for each role.

The routes come from ``app.url_map`` (every rule of the admin blueprint must be in ADMIN_ROUTES),
each called on another tenant's objects:
- anonymous: the login page;
- a ``user``: a 404 (the admin pages do not exist for them) and nothing of the tenant changes;
- ``support``: reads work (200), writes are refused (403) and change nothing;
- ``admin``: reads and writes work, and a write that should change the tenant's rows does.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from sqlalchemy import select

from saas.models import AuditLog, User
from tests.saas.test_idor import call, dump, make_tenant, url_for_route

READS = {"GET"}


@dataclass(frozen=True)
class AdminRoute:
    """How to call one admin endpoint on the tenant, and what an admin's POST does."""

    url_args: callable = lambda t: {}
    methods: tuple[str, ...] = ("GET",)
    form: dict = field(default_factory=dict)
    changes: bool = True
    admin_status: tuple[int, ...] = (200, 302)
    setup: callable = None  # (site, tenant) -> None, before the request


def user_args(t):
    """URL arguments of a user route."""
    return {"user_id": t.user}


def bot_args(t):
    """URL arguments of a bot route."""
    return {"bot_id": t.bot}


def suspended(site, t):
    """The tenant's account is suspended."""
    _set_user(site, t.user, status="suspended", suspended_reason="test")


def overridden(site, t):
    """The tenant has a plan override."""
    _set_user(site, t.user, plan_override="pro", plan_override_until=None)


def unconfirmed(site, t):
    """The tenant's address is not confirmed."""
    _set_user(site, t.user, email_verified=False)


def running(site, t):
    """The tenant's bot runs."""
    site.bot_status(t.bot, "running")


def in_error(site, t):
    """The tenant's bot is in error."""
    site.bot_status(t.bot, "error")


def _set_user(site, user_id, **values):
    """Change columns of a user."""
    from saas.extensions import db

    with site.app.app_context():
        user = db.session.get(User, user_id)
        for name, value in values.items():
            setattr(user, name, value)
        db.session.commit()


ADMIN_ROUTES: dict[str, AdminRoute] = {
    "admin.index": AdminRoute(),
    "admin.users": AdminRoute(),
    "admin.user_detail": AdminRoute(user_args),
    "admin.user_suspend": AdminRoute(user_args, ("POST",), {"reason": "spam"}),
    "admin.user_unsuspend": AdminRoute(user_args, ("POST",), setup=suspended),
    "admin.user_password_reset": AdminRoute(user_args, ("POST",)),
    # Without two-factor on, the admin's form is shown again with the reason (400).
    "admin.user_two_factor_off": AdminRoute(
        user_args,
        ("POST",),
        {"identity_note": "called them", "confirm_email": "owner@example.com", "password": "x"},
        changes=False,
        admin_status=(400,),
    ),
    "admin.user_plan": AdminRoute(user_args, ("POST",), {"plan": "pro"}),
    "admin.user_plan_override_end": AdminRoute(user_args, ("POST",), setup=overridden),
    "admin.user_resend_confirmation": AdminRoute(user_args, ("POST",), setup=unconfirmed),
    "admin.impersonate_start": AdminRoute(user_args, ("POST",)),
    # Leaving a view nobody started: nothing to leave, for every role.
    "admin.impersonate_stop": AdminRoute(methods=("POST",), changes=False, admin_status=(404,)),
    "admin.bots": AdminRoute(),
    "admin.bot_detail": AdminRoute(bot_args),
    "admin.bot_stop": AdminRoute(bot_args, ("POST",), setup=running),
    "admin.bot_pause": AdminRoute(bot_args, ("POST",), {"reason": "abuse"}, setup=running),
    "admin.bot_run_now": AdminRoute(bot_args, ("POST",), setup=running),
    "admin.bot_clear_error": AdminRoute(bot_args, ("POST",), setup=in_error),
    "admin.system": AdminRoute(),
    "admin.revenue": AdminRoute(),
    "admin.audit": AdminRoute(),
    "admin.plans": AdminRoute(
        methods=("GET", "POST"), form={"email": "owner@example.com", "plan": "pro"}
    ),
}


def full_dump(site, t) -> dict:
    """The tenant's rows, plus audit rows about their account."""
    dumped = dump(site, t)
    rows = site.query(
        select(AuditLog)
        .where(AuditLog.target_type == "user", AuditLog.target_id == t.user)
        .order_by(AuditLog.id)
    )
    dumped["audit_about_user"] = [(r.id, r.action) for (r,) in rows]
    return dumped


def cases(methods=None) -> list:
    """(endpoint, method) pairs, each as a test id."""
    return [
        pytest.param(endpoint, method, id=f"{endpoint}-{method}")
        for endpoint, route in ADMIN_ROUTES.items()
        for method in route.methods
        if methods is None or method in methods
    ]


@pytest.fixture
def world(site, tmp_path):
    """A tenant with a full set of objects, and a user, a support member and an admin."""
    site.app.config["BACKTEST_REPORT_DIR"] = str(tmp_path / "backtest-reports")
    tenant = make_tenant(site, "owner", "stopped")
    roles = {
        "user": site.user("plain@example.com"),
        "support": site.user("support@example.com", role="support"),
        "admin": site.user("admin@example.com", role="admin"),
    }
    return site, tenant, roles


def _request(site, tenant, endpoint, method, user_id=None):
    """Set up the route's state and call it as ``user_id`` (anonymous when None)."""
    route = ADMIN_ROUTES[endpoint]
    if route.setup is not None:
        route.setup(site, tenant)
    before = full_dump(site, tenant)
    url = url_for_route(site, endpoint, route.url_args(tenant))
    response = call(site.client(user_id), method, url, route.form)
    return response, before


def test_every_admin_route_is_in_the_table(site):
    found = {}
    for rule in site.app.url_map.iter_rules():
        if rule.endpoint.startswith("admin."):
            found.setdefault(rule.endpoint, set()).update(rule.methods - {"HEAD", "OPTIONS"})
    missing = sorted(set(found) - set(ADMIN_ROUTES))
    assert not missing, f"add these endpoints to ADMIN_ROUTES: {missing}"
    for endpoint, methods in found.items():
        assert methods == set(ADMIN_ROUTES[endpoint].methods), endpoint


@pytest.mark.parametrize(("endpoint", "method"), cases())
def test_anonymous_callers_go_to_the_login_page(world, endpoint, method):
    site, tenant, _ = world
    response, before = _request(site, tenant, endpoint, method)
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    assert full_dump(site, tenant) == before


@pytest.mark.parametrize(("endpoint", "method"), cases())
def test_a_user_gets_a_404_and_changes_nothing(world, endpoint, method):
    site, tenant, roles = world
    response, before = _request(site, tenant, endpoint, method, roles["user"])
    assert response.status_code == 404
    assert full_dump(site, tenant) == before


@pytest.mark.parametrize(("endpoint", "method"), cases())
def test_the_tenant_themselves_gets_a_404_too(world, endpoint, method):
    site, tenant, _ = world
    response, before = _request(site, tenant, endpoint, method, tenant.user)
    if ADMIN_ROUTES[endpoint].setup is suspended:  # a suspended account is logged out
        assert "/auth/login" in response.headers["Location"]
    else:
        assert response.status_code == 404
    assert full_dump(site, tenant) == before


@pytest.mark.parametrize(("endpoint", "method"), cases(READS))
def test_support_reads_every_admin_page(world, endpoint, method):
    site, tenant, roles = world
    response, before = _request(site, tenant, endpoint, method, roles["support"])
    assert response.status_code in (200, 302)
    assert full_dump(site, tenant) == before


@pytest.mark.parametrize(
    ("endpoint", "method"), [c for c in cases({"POST"}) if c.values[0] != "admin.impersonate_start"]
)
def test_support_cannot_write(world, endpoint, method):
    site, tenant, roles = world
    response, before = _request(site, tenant, endpoint, method, roles["support"])
    expected = 404 if endpoint == "admin.impersonate_stop" else 403
    assert response.status_code == expected
    assert full_dump(site, tenant) == before


def test_support_may_start_a_read_only_view(world):
    site, tenant, roles = world
    response, before = _request(site, tenant, "admin.impersonate_start", "POST", roles["support"])
    assert response.status_code == 302
    after = full_dump(site, tenant)
    assert after["audit_about_user"][len(before["audit_about_user"]) :][0][1] == (
        "admin.impersonation_started"
    )
    after.pop("audit_about_user"), before.pop("audit_about_user")
    assert after == before


@pytest.mark.parametrize(("endpoint", "method"), cases())
def test_an_admin_reads_and_acts(world, endpoint, method):
    site, tenant, roles = world
    route = ADMIN_ROUTES[endpoint]
    response, before = _request(site, tenant, endpoint, method, roles["admin"])
    expected = route.admin_status if method == "POST" else (200, 302)
    assert response.status_code in expected
    if method == "POST" and route.changes:
        assert full_dump(site, tenant) != before, f"the admin's POST to {endpoint} changed nothing"


def test_hostile_ids_are_404s_not_errors(world):
    site, _, roles = world
    client = site.client(roles["admin"])
    for url in ("/admin/users/2147483648", "/admin/bots/99999999999999999999", "/admin/users/0"):
        assert call(client, "GET", url).status_code == 404
    for url in (
        "/admin/users?page=²",
        "/admin/bots?failures=x&user=99999999999",
        "/admin/audit?target_id=-1&from=nope",
    ):
        assert call(client, "GET", url).status_code == 200
