"""Admin actions on accounts: suspension, roles, password reset, two-factor off, plans."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyotp
from sqlalchemy import select

from saas.models import AuditLog, Bot, User
from saas.security import KeyRing
from saas.services.accounts import totp
from tests.fake_exchange import DEFAULT_CREDENTIALS
from tests.fixtures.database import DEFAULT_PASSWORD, open_market
from tests.fixtures.web import login_with_form, mail_outbox
from tests.saas.test_billing_runner import bybit_requests_with, run_bot


def audit_rows(site, action: str) -> list:
    """Audit rows of one action, oldest first."""
    return [r for (r,) in site.query(select(AuditLog).where(AuditLog.action == action))]


def suspend(site, admin: int, user_id: int, reason: str = "Chargeback on the last invoice"):
    """Suspend through the page; the response."""
    return site.client(admin).post(f"/admin/users/{user_id}/suspend", {"reason": reason})


def test_suspension_refuses_login_with_the_reason_pauses_bots_and_the_runner_never_calls(
    app, site, staff, seeded_exchange, encryption_key
):
    fx = open_market(seeded_exchange)
    uid = site.user("owner@example.com")
    running = site.bot(uid, exchange="bybit", status="running", name="runs")
    site.pair(running)
    stopped = site.bot(uid, exchange="paper", status="stopped", name="rests")
    assert suspend(site, staff["admin"], uid).status_code == 302

    user = site.get(User, uid)
    assert (user.status, user.suspended_reason) == ("suspended", "Chargeback on the last invoice")
    assert site.get(Bot, running).status == "paused" and site.get(Bot, stopped).status == "stopped"
    page = login_with_form(site.app.test_client(), "owner@example.com", DEFAULT_PASSWORD)
    text = page.get_data(as_text=True)
    assert page.status_code == 400
    assert "This account is suspended. Reason: Chargeback on the last invoice" in text
    wrong = login_with_form(site.app.test_client(), "owner@example.com", "not the password")
    assert "suspended" not in wrong.get_data(as_text=True)  # strangers learn nothing

    # Even made due by hand, the runner's bot process refuses before any exchange call.
    site.bot_status(running, "running")
    result = run_bot(app.config["SQLALCHEMY_DATABASE_URI"], encryption_key, fx, running)
    assert result.returncode == 2 and "belongs to a suspended user" in result.stdout + result.stderr
    assert bybit_requests_with(fx, DEFAULT_CREDENTIALS["bybit"][0]) == []
    (row,) = audit_rows(site, "admin.user_suspended")
    assert (row.user_id, row.target_id, row.after["paused_bots"]) == (
        staff["admin"],
        uid,
        [running],
    )


def test_unsuspending_restores_the_previous_state(site, staff):
    uid = site.user("owner@example.com")
    was_running = site.bot(uid, status="running", name="a")
    site.pair(was_running)
    was_paused = site.bot(uid, status="running", name="b")
    site.pair(was_paused)
    site.bot_status(was_paused, "paused")
    suspend(site, staff["admin"], uid)
    response = site.client(staff["admin"]).post(f"/admin/users/{uid}/unsuspend")
    assert response.status_code == 302
    user = site.get(User, uid)
    assert (user.status, user.suspended_reason, user.suspended_at) == ("active", None, None)
    assert site.get(Bot, was_running).status == "running"
    assert site.get(Bot, was_paused).status == "paused"  # paused before: stays paused
    page = login_with_form(site.app.test_client(), "owner@example.com", DEFAULT_PASSWORD)
    assert page.status_code == 302
    (row,) = audit_rows(site, "admin.user_unsuspended")
    assert row.after["resumed_bots"] == [was_running]


def test_a_suspended_users_open_session_ends(site, staff):
    uid = site.user("owner@example.com")
    client = site.client(uid)
    assert client.get("/bots/").status_code == 200
    suspend(site, staff["admin"], uid)
    assert "/auth/login" in client.get("/bots/").headers["Location"]


def test_a_suspension_needs_a_reason_and_never_the_admin_themself(site, staff):
    uid = site.user("owner@example.com")
    assert suspend(site, staff["admin"], uid, reason="").status_code == 400
    assert site.get(User, uid).status == "active"
    page = site.client(staff["admin"]).post(
        f"/admin/users/{staff['admin']}/suspend", {"reason": "oops"}, follow_redirects=True
    )
    assert "You cannot suspend your own account." in page.get_data(as_text=True)
    assert site.get(User, staff["admin"]).status == "active"


def test_a_forced_password_reset_ends_the_password_and_mails_a_link(site, staff):
    uid = site.user("owner@example.com")
    client = site.client(uid)
    response = site.client(staff["admin"]).post(f"/admin/users/{uid}/password-reset")
    assert response.status_code == 302
    assert login_with_form(site.app.test_client(), "owner@example.com").status_code == 400
    assert "/auth/login" in client.get("/bots/").headers["Location"]
    assert any("/auth/reset/" in m.get_content() for m in mail_outbox(site.app))
    (row,) = audit_rows(site, "admin.password_reset_forced")
    assert row.target_id == uid and "hash" not in str(row.after)


def _with_two_factor(site, uid: int) -> None:
    """Turn two-factor on for a user."""
    from saas.extensions import db

    ring = KeyRing.from_string(site.app.config["ENCRYPTION_KEY"])
    with site.app.app_context():
        user = db.session.get(User, uid)
        secret = pyotp.random_base32()
        totp.enable(user, ring, secret, pyotp.TOTP(secret).now(), datetime.now(UTC))
        db.session.commit()


def test_two_factor_off_needs_an_identity_note_the_address_and_the_admins_password(site, staff):
    uid = site.user("owner@example.com")
    _with_two_factor(site, uid)
    url = f"/admin/users/{uid}/two-factor-off"
    admin = site.client(staff["admin"])
    good = {
        "identity_note": "Replied from their address with the last invoice number",
        "confirm_email": "owner@example.com",
        "password": DEFAULT_PASSWORD,
    }
    for wrong, message in (
        ({"identity_note": "ok"}, "at least 10 characters"),
        ({"confirm_email": "other@example.com"}, "Type the user"),
        ({"password": "not mine"}, "Your own password is not right."),
    ):
        page = admin.post(url, good | wrong)
        assert page.status_code == 400 and message in page.get_data(as_text=True)
        assert site.get(User, uid).totp_secret_encrypted is not None
    assert admin.post(url, good).status_code == 302
    assert site.get(User, uid).totp_secret_encrypted is None
    (row,) = audit_rows(site, "admin.two_factor_disabled")
    assert row.after == {
        "totp_enabled": False,
        "identity_check": "Replied from their address with the last invoice number",
    }


def test_a_plan_override_with_an_end_date_lasts_until_then(site, staff):
    uid = site.user("owner@example.com")
    until = (datetime.now(UTC) + timedelta(days=10)).date()
    response = site.client(staff["admin"]).post(
        f"/admin/users/{uid}/plan", {"plan": "pro", "until": until.isoformat()}
    )
    assert response.status_code == 302
    user = site.get(User, uid)
    assert (user.plan, user.plan_override) == ("free", "pro")
    billing = site.client(uid).get("/billing/").get_data(as_text=True)
    assert 'id="plan-name">Pro<' in billing and 'id="plan-override"' in billing
    assert f">{until:%Y-%m-%d}</time>" in billing
    from saas.plans import effective_plan, load_plans

    plans = load_plans({})
    assert effective_plan(user, plans, datetime.now(UTC)).key == "pro"
    later = datetime.combine(until, datetime.min.time(), tzinfo=UTC) + timedelta(seconds=1)
    assert effective_plan(user, plans, later).key == "free"
    (row,) = audit_rows(site, "admin.plan_override")
    assert row.after["plan_override"] == "pro"


def test_a_past_end_date_is_refused(site, staff):
    uid = site.user("owner@example.com")
    page = site.client(staff["admin"]).post(
        f"/admin/users/{uid}/plan", {"plan": "pro", "until": "2001-01-01"}
    )
    assert page.status_code == 400 and "must be in the future" in page.get_data(as_text=True)


def test_resend_confirmation_mails_the_link_and_is_audited(site, staff):
    uid = site.user("new@example.com", email_verified=False)
    response = site.client(staff["admin"]).post(f"/admin/users/{uid}/resend-confirmation")
    assert response.status_code == 302
    assert any("/auth/verify/" in m.get_content() for m in mail_outbox(site.app))
    assert audit_rows(site, "admin.confirmation_resent")


def test_set_role_command(site):
    site.user("helper@example.com")
    runner = site.app.test_cli_runner()
    result = runner.invoke(args=["set-role", "Helper@Example.com", "support"])
    assert result.exit_code == 0 and "helper@example.com is support now" in result.output
    bad = runner.invoke(args=["set-role", "helper@example.com", "king"])
    assert bad.exit_code != 0 and "unknown role 'king'" in bad.output
    missing = runner.invoke(args=["set-role", "nobody@example.com", "admin"])
    assert missing.exit_code != 0 and "there is no user" in missing.output
    (row,) = audit_rows(site, "admin.role_set")
    assert row.before == {"role": "user"} and row.after == {"role": "support"}


def test_the_make_run_admin_is_on_a_real_plan_and_the_pages_agree(site):
    from saas.demo import first_start
    from saas.extensions import db

    with site.app.app_context():
        start = first_start(db.session, {}, now=datetime.now(UTC))
        db.session.commit()
        admin_id = db.session.scalar(select(User.id).where(User.email == start.admin_email))
    billing = site.client(admin_id).get("/billing/").get_data(as_text=True)
    admin_page = site.client(admin_id).get(f"/admin/users/{admin_id}").get_data(as_text=True)
    assert 'id="plan-name">Enterprise<' in billing
    assert 'id="plan-in-effect">Enterprise<' in admin_page
    assert "not in the plan table" not in admin_page
