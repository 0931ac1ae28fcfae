"""Admin on every bot: the filtered list, the last execution, and audited actions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from saas.models import AuditLog, Bot, BotLog, BotRun, Order


def test_actions_are_audited_with_before_and_after(site, staff):
    uid = site.user("owner@example.com")
    bot = site.bot(uid, status="running")
    site.pair(bot)
    admin = site.client(staff["admin"])
    assert admin.post(f"/admin/bots/{bot}/run-now").status_code == 302
    assert admin.post(f"/admin/bots/{bot}/pause", {"reason": "abuse report"}).status_code == 302
    assert site.get(Bot, bot).last_error == "Paused by an administrator: abuse report"
    assert admin.post(f"/admin/bots/{bot}/clear-error").status_code == 302
    assert (site.get(Bot, bot).status, site.get(Bot, bot).last_error) == ("stopped", None)
    rows = [
        r
        for (r,) in site.query(
            select(AuditLog).where(AuditLog.action.like("admin.bot_%")).order_by(AuditLog.id)
        )
    ]
    assert [r.action for r in rows] == [
        "admin.bot_run_now",
        "admin.bot_paused",
        "admin.bot_error_cleared",
    ]
    assert rows[1].before["status"] == "running" and rows[1].after["status"] == "paused"
    assert rows[2].before["status"] == "paused" and rows[2].after["status"] == "stopped"
    assert all(r.user_id == staff["admin"] and r.target_id == bot for r in rows)
    assert all("key" not in str(r.before) + str(r.after) for r in rows)
    refused = admin.post(f"/admin/bots/{bot}/stop", follow_redirects=True)
    assert "already stopped" in refused.get_data(as_text=True)


def test_the_list_filters_failing_streaks_and_overdue_bots(site, staff):
    now = datetime.now(UTC)
    uid = site.user("owner@example.com")
    failing = site.bot(uid, name="failing", status="running")
    healthy = site.bot(uid, name="healthy", status="running")
    # An older failure before the good run does not count; a locked run neither breaks nor adds.
    runs = (
        (40, "error"),
        (30, "ok"),
        (20, "error"),
        (15, "locked"),
        (10, "error"),
        (5, "auth_error"),
    )
    for minutes, outcome in runs:
        site.add(
            BotRun(bot_id=failing, started_at=now - timedelta(minutes=minutes), outcome=outcome)
        )
    site.add(BotRun(bot_id=healthy, started_at=now - timedelta(minutes=5), outcome="ok"))
    from saas.extensions import db

    with site.app.app_context():
        db.session.get(Bot, failing).last_outcome = "auth_error"
        db.session.get(Bot, healthy).next_run_at = now - timedelta(minutes=30)
        db.session.commit()
    admin = site.client(staff["admin"])
    three = admin.get("/admin/bots?failures=3").get_data(as_text=True)
    assert ">failing<" in three and ">healthy<" not in three
    assert ">failing<" not in admin.get("/admin/bots?failures=4").get_data(as_text=True)
    overdue = admin.get("/admin/bots?overdue=yes").get_data(as_text=True)
    assert ">healthy<" in overdue and ">failing<" not in overdue


def test_the_bot_page_shows_the_last_execution(site, staff):
    uid = site.user("owner@example.com")
    bot = site.bot(uid, status="running")
    pair = site.pair(bot)
    now = datetime.now(UTC)
    run = site.add(
        BotRun(bot_id=bot, started_at=now, outcome="ok", conclusions={str(pair): "bought the dip"})
    )
    site.add(BotLog(bot_id=bot, run_id=run, level="info", message="placing OPEN", created_at=now))
    site.add(
        Order(
            bot_id=bot,
            pair_id=pair,
            run_id=run,
            client_order_id=f"b{bot}-p{pair}-{run}-1",
            symbol="BTCUSDT",
            side="Long",
            action="OPEN",
            order_side="Buy",
            qty=Decimal("0.01"),
            price=Decimal(30000),
            status="open",
            created_at=now,
        )
    )
    page = site.client(staff["support"]).get(f"/admin/bots/{bot}").get_data(as_text=True)
    section = page[page.index('id="last-execution"') :]
    assert "bought the dip" in section and "placing OPEN" in section
    assert f"b{bot}-p{pair}-{run}-1" in section
    assert f"b{bot}-p{pair}-{run}-1" in page[page.index('id="open-orders"') :]


def test_users_see_their_own_trail_and_no_one_elses(site, staff):
    uid = site.user("owner@example.com")
    other = site.user("other@example.com")
    site.client(staff["admin"]).post(f"/admin/users/{uid}/suspend", {"reason": "check"})
    site.client(staff["admin"]).post(f"/admin/users/{uid}/unsuspend")
    site.client(staff["admin"]).post(f"/admin/users/{other}/suspend", {"reason": "secret"})
    page = site.client(uid).get("/account/activity").get_data(as_text=True)
    assert "admin: user suspended" in page and "an admin" in page
    assert "admin@example.com" not in page and "secret" not in page
    audit = (
        site.client(staff["support"])
        .get("/admin/audit?action=admin.user_susp")
        .get_data(as_text=True)
    )
    assert audit.count("admin.user_suspended") == 2
