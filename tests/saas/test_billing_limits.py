"""Plan limits hold: on the bots pages, under parallel requests, on downgrades and lapses."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from flask import url_for
from sqlalchemy import func, select

from saas.models import AuditLog, Bot, TradingPair, User
from saas.plans import load_plans
from tests.fixtures.bots import pair_form
from tests.fixtures.stripe import BillingWorld
from tests.fixtures.web import mail_outbox

PAPER_BOT = {"name": "paper bot", "exchange": "paper", "testnet": "y", "submit": "Create bot"}


def bot_count(world, uid: int) -> int:
    """How many bots the user has."""
    return world.query(select(func.count(Bot.id)).where(Bot.user_id == uid))[0][0]


def url(world, endpoint: str, **values) -> str:
    """A URL of the app."""
    with world.app.test_request_context():
        return url_for(endpoint, **values)


def test_the_bots_pages_read_the_plan_table(billing):
    assert billing.app.config["PLAN_LIMITS"] == load_plans({}).limits_table()


def test_a_starter_user_gets_one_bot_and_testnet_only(billing):
    client = billing.client(billing.user(plan="starter", plan_status="active"))
    assert client.post("/bots/new", PAPER_BOT).status_code == 302
    second = client.post("/bots/new", PAPER_BOT | {"name": "second"})
    assert "The starter plan allows 1 bot" in second.get_data(as_text=True)
    mainnet = billing.client(billing.user(plan="starter"))
    refused = mainnet.post(
        "/bots/new",
        {
            "name": "real money",
            "exchange": "bybit",
            "api_key": "k" * 18,
            "api_secret": "s" * 36,
            "submit": "Create bot",
        },
    )
    assert "trades on testnet and paper only" in refused.get_data(as_text=True)


def test_enterprise_has_no_pair_limit(billing):
    uid = billing.user(plan="enterprise", plan_status="active")
    bid = billing.bot(uid)
    client = billing.client(uid)
    symbols = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT", "DOGEUSDT", "ADAUSDT"]
    for symbol in symbols:
        for side in ("Long", "Short"):
            response = client.post(
                url(billing, "bots.pair_create", bot_id=bid), pair_form(symbol=symbol, side=side)
            )
            assert response.status_code == 302, response.get_data(as_text=True)
    count = billing.query(select(func.count(TradingPair.id)).where(TradingPair.bot_id == bid))
    assert count[0][0] == 12  # more than Pro's 10


@pytest.mark.postgres
def test_two_bot_creations_at_once_leave_exactly_the_limit(pg_billing_app, stripe_server):
    """Pro allows 5; with 4 made, two requests race for the fifth: one wins, one is refused."""
    world = BillingWorld(pg_billing_app, stripe_server)
    uid = world.user(plan="pro", plan_status="active")
    for i in range(4):
        world.bot(uid, name=f"existing {i}")
    clients = [world.client(uid) for _ in range(2)]
    for client in clients:
        client.token()  # fetched before the race, as a browser has its page
    barrier, answers = threading.Barrier(2), []

    def create(client, name):
        barrier.wait()
        answers.append(client.post("/bots/new", PAPER_BOT | {"name": name}))

    threads = [
        threading.Thread(target=create, args=(c, f"racer {i}")) for i, c in enumerate(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(a.status_code for a in answers) == [200, 302]
    assert bot_count(world, uid) == 5


def test_a_downgrade_by_the_admin_pauses_bots_over_the_limit_and_is_audited(billing):
    admin = billing.user(role="admin")
    uid = billing.user(email="owner@example.com", plan="pro")
    bots = [billing.bot(uid, status="running", name=f"b{i}") for i in range(3)]
    for bot_id in bots:
        billing.pair(bot_id)
    response = billing.client(admin).post(
        "/admin/plans", {"email": "Owner@Example.com ", "plan": "free"}
    )
    assert response.status_code == 302
    assert billing.get(User, uid).plan == "free"
    assert [billing.get(Bot, b).status for b in bots] == ["running", "paused", "paused"]
    (audit,) = [
        row
        for (row,) in billing.query(select(AuditLog).where(AuditLog.action == "billing.plan_set"))
    ]
    assert (audit.user_id, audit.target_type, audit.target_id) == (admin, "user", uid)
    assert audit.before["plan"] == "pro" and audit.after == {"plan": "free", "paused_bots": 2}
    assert any("paused" in m["Subject"] for m in mail_outbox(billing.app))


def test_the_admin_form_is_for_admins_only(billing):
    uid = billing.user(plan="free")
    response = billing.client(uid).post(
        "/admin/plans", {"email": "x@example.com", "plan": "enterprise"}
    )
    assert response.status_code == 404
    anonymous = billing.app.test_client().get("/admin/plans")
    assert anonymous.status_code == 302 and "/auth/login" in anonymous.headers["Location"]
    assert billing.get(User, uid).plan == "free"


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({"email": "nobody@example.com", "plan": "pro"}, "There is no user with that e-mail."),
        ({"email": "owner@example.com", "plan": "platinum"}, "Not a valid choice"),
        ({"email": "not-an-address", "plan": "pro"}, "Enter a valid e-mail address."),
    ],
)
def test_the_admin_form_explains_what_it_cannot_do(billing, form, error):
    admin = billing.user(role="admin")
    billing.user(email="owner@example.com")
    page = billing.client(admin).post("/admin/plans", form)
    assert page.status_code == 200 and error in page.get_data(as_text=True)


def test_an_overdue_grace_period_lapses_on_the_users_next_request(billing):
    past = datetime.now(UTC) - timedelta(minutes=1)
    uid = billing.user(plan="pro", plan_status="past_due", plan_grace_until=past)
    bots = [billing.bot(uid, status="running") for _ in range(2)]
    for bot_id in bots:
        billing.pair(bot_id)
    page = billing.client(uid).get("/bots/", follow_redirects=True)
    assert "grace period has ended" in page.get_data(as_text=True)
    assert billing.get(User, uid).plan == "free"
    assert [billing.get(Bot, b).status for b in bots] == ["running", "paused"]
    assert any(
        m["Subject"] == "dcabot: your plan has lapsed to Free" for m in mail_outbox(billing.app)
    )


def test_the_lapse_command_lapses_every_overdue_plan(billing):
    now = datetime.now(UTC)
    overdue = billing.user(
        plan="pro", plan_status="past_due", plan_grace_until=now - timedelta(hours=1)
    )
    in_grace = billing.user(
        plan="pro", plan_status="past_due", plan_grace_until=now + timedelta(days=1)
    )
    extra = [billing.bot(overdue, status="running") for _ in range(2)]
    result = billing.app.test_cli_runner().invoke(args=["billing", "lapse"])
    assert result.exit_code == 0 and "1 plan(s) lapsed, 1 bot(s) paused" in result.output
    assert (billing.get(User, overdue).plan, billing.get(User, in_grace).plan) == ("free", "pro")
    assert billing.get(Bot, extra[1]).status == "paused"


def test_a_late_retry_of_the_failed_invoice_does_not_undo_a_lapse(billing):
    uid = billing.user()
    sub = billing.subscribe(uid, "pro")
    billing.deliver(billing.stripe.fail_payment(sub))
    with billing.app.app_context():
        from saas.extensions import db  # noqa: PLC0415

        db.session.get(User, uid).plan_grace_until = datetime.now(UTC) - timedelta(seconds=1)
        db.session.commit()
    billing.app.test_cli_runner().invoke(args=["billing", "lapse"])
    assert billing.deliver(billing.stripe.fail_payment(sub)).status_code == 200
    assert billing.get(User, uid).plan == "free"
    assert billing.deliver(billing.stripe.pay_invoice(sub)).status_code == 200
    assert billing.get(User, uid).plan == "pro"  # paying brings the plan back


def test_set_plan_from_the_command_line(billing):
    uid = billing.user(email="cli@example.com")
    runner = billing.app.test_cli_runner()
    assert runner.invoke(args=["billing", "set-plan", "cli@example.com", "pro"]).exit_code == 0
    assert billing.get(User, uid).plan == "pro"
    refused = runner.invoke(args=["billing", "set-plan", "cli@example.com", "gold"])
    assert refused.exit_code != 0 and "unknown plan 'gold'" in refused.output


def test_locking_the_user_serialises_check_then_write_on_both_databases(db_url):
    """What limits need from a lock: two check-then-create transactions end at the limit.

    On SQLite the count would otherwise run before either transaction held the write lock.
    """
    from saas.db import make_engine, make_session_factory  # noqa: PLC0415
    from saas.services.billing.subscriptions import lock_user  # noqa: PLC0415
    from tests.fixtures.database import gen_bot, gen_user  # noqa: PLC0415

    engine = make_engine(db_url)
    sessions = make_session_factory(engine)
    with sessions() as session:
        uid = gen_user(session).id
        session.commit()
    barrier, errors = threading.Barrier(2), []

    def create(name: str) -> None:
        try:
            with sessions() as session:
                barrier.wait()
                user = lock_user(session, uid)
                count = session.scalar(select(func.count(Bot.id)).where(Bot.user_id == uid))
                if count < 1:
                    gen_bot(session, user, name=name)
                session.commit()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    try:
        threads = [threading.Thread(target=create, args=(f"bot {i}",)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        with sessions() as session:
            assert session.scalar(select(func.count(Bot.id))) == 1
        assert errors == []
    finally:
        engine.dispose()
