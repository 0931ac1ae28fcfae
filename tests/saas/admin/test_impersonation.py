"""Viewing as a user: a banner on every page, read-only, audited start and end, no keys."""

from __future__ import annotations

from sqlalchemy import select

from saas.models import AuditLog, Bot
from tests.fake_exchange import DEFAULT_CREDENTIALS


def start(site, staff_id: int, user_id: int):
    """A client of the staff member, viewing as the user."""
    client = site.client(staff_id)
    response = client.post(f"/admin/users/{user_id}/view-as")
    assert response.status_code == 302
    return client


def actions(site) -> list[tuple]:
    """(action, actor, target) of the impersonation audit rows."""
    rows = site.query(
        select(AuditLog).where(AuditLog.action.like("admin.impersonation%")).order_by(AuditLog.id)
    )
    return [(r.action, r.user_id, r.target_id) for (r,) in rows]


def test_the_banner_is_on_every_page_and_pages_are_the_users(site, staff):
    uid = site.user("owner@example.com")
    bot = site.bot(uid, name="Owner's only bot")
    client = start(site, staff["support"], uid)
    for url in ("/bots/", f"/bots/{bot}", "/dashboard/", "/billing/", "/account/settings"):
        page = client.get(url, follow_redirects=True)
        text = page.get_data(as_text=True)
        assert page.status_code == 200, url
        assert 'id="viewing-as"' in text and "owner@example.com" in text, url
    assert "Owner&#39;s only bot" in client.get("/bots/").get_data(as_text=True)


def test_writes_are_refused_while_viewing(site, staff):
    uid = site.user("owner@example.com")
    bot = site.bot(uid, status="stopped")
    site.pair(bot)
    client = start(site, staff["admin"], uid)  # even an admin views read-only
    for url, form in (
        (f"/bots/{bot}/start", {}),
        (f"/bots/{bot}/edit", {"name": "Hijacked", "run_interval_minutes": "5"}),
        ("/account/password", {"current_password": "x", "new_password": "y" * 12}),
    ):
        assert client.post(url, form).status_code == 403, url
    stored = site.get(Bot, bot)
    assert (stored.status, stored.name) != ("running", "Hijacked")


def test_start_and_end_are_audited_and_leaving_restores_the_staff_member(site, staff):
    uid = site.user("owner@example.com")
    client = start(site, staff["support"], uid)
    assert client.get("/admin/users").status_code == 403  # only the user's pages while viewing
    left = client.post("/admin/view-as/leave")
    assert left.status_code == 302 and left.headers["Location"].endswith(f"/admin/users/{uid}")
    assert client.get("/admin/users").status_code == 200
    assert 'id="viewing-as"' not in client.get("/bots/").get_data(as_text=True)
    assert actions(site) == [
        ("admin.impersonation_started", staff["support"], uid),
        ("admin.impersonation_ended", staff["support"], uid),
    ]


def test_logging_out_ends_the_view_and_audits_it(site, staff):
    uid = site.user("owner@example.com")
    client = start(site, staff["support"], uid)
    assert client.post("/auth/logout").status_code == 302
    assert [a[0] for a in actions(site)][-1] == "admin.impersonation_ended"
    logouts = site.query(select(AuditLog.user_id).where(AuditLog.action == "logout"))
    assert [row[0] for row in logouts] == [staff["support"]]  # not the viewed user's logout


def test_no_key_material_is_reachable(site, staff):
    uid = site.user("owner@example.com")
    bot = site.bot(uid, exchange="bybit")
    key, secret = DEFAULT_CREDENTIALS["bybit"]
    client = start(site, staff["admin"], uid)
    for url in (
        f"/bots/{bot}/keys",
        "/account/two-factor",
        "/account/recovery-codes",
        "/account/export",
    ):
        assert client.get(url).status_code == 403, url
    pages = "".join(
        client.get(url, follow_redirects=True).get_data(as_text=True)
        for url in ("/bots/", f"/bots/{bot}", "/dashboard/", f"/dashboard/bots/{bot}")
    )
    assert key not in pages and secret not in pages
    admin_page = site.client(staff["admin"]).get(f"/admin/bots/{bot}").get_data(as_text=True)
    assert key not in admin_page and secret not in admin_page
    assert "stored (never shown)" in admin_page


def test_support_cannot_view_as_an_admin(site, staff):
    response = site.client(staff["support"]).post(
        f"/admin/users/{staff['admin']}/view-as", follow_redirects=True
    )
    assert "Support cannot view as another member of staff." in response.get_data(as_text=True)
    assert actions(site) == []
