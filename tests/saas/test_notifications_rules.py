"""Who gets what: kinds per channel, quiet hours, muted bots, operator alerts, summaries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy.exc import OperationalError

from notifications.base import Event
from saas.extensions import db
from saas.models import BotRun, Trade
from saas.services.notifications import ops
from saas.services.notifications.outbox import OutboxNotifier
from saas.services.notifications.summaries import daily_summaries
from saas.services.notifications.worker import deliver_pass
from tests.fixtures.database import gen_bot, gen_pair
from tests.fixtures.web import csrf_post, login, mail_outbox
from tests.saas.notify_helpers import NOW, add_settings, context, deliveries, emit, outbox


def test_each_kind_goes_only_to_the_channels_chosen_for_it(app, user_factory, webhook_receiver):
    user = user_factory(email_verified=True)
    add_settings(
        app,
        user.id,
        email_enabled=True,
        kind_channels={"position_opened": [], "margin_warning": ["email"]},
    )
    emit(app, user.id, "position_opened")
    emit(app, user.id, "margin_warning")
    deliver_pass(context(app), NOW)
    assert [(d.channel, d.status) for d in deliveries(app)] == [("email", "sent")]
    [mail] = mail_outbox(app)
    assert "Margin warning" in mail["Subject"]


def test_quiet_hours_hold_routine_events_but_not_critical_ones(app, user_factory):
    user = user_factory(email_verified=True)
    add_settings(app, user.id, email_enabled=True, quiet_start_hour=22, quiet_end_hour=7)
    night = datetime(2026, 12, 4, 23, 30, tzinfo=UTC)
    emit(app, user.id, "bot_paused", {"reason": "keys"}, now=night)  # critical: now
    emit(app, user.id, "order_refused", {"symbol": "BTCUSDT"}, now=night)  # warning: waits
    deliver_pass(context(app), night)
    assert [m["Subject"] for m in mail_outbox(app)] == ["[dcabot] Bot paused · reason keys"]
    deliver_pass(context(app), night + timedelta(hours=2))
    assert len(mail_outbox(app)) == 1
    deliver_pass(context(app), datetime(2026, 12, 5, 7, 0, tzinfo=UTC))
    assert "Order refused" in mail_outbox(app)[1]["Subject"]


def test_a_muted_bot_reaches_the_bell_but_no_channel(app, client, user_factory):
    user = user_factory(email_verified=True)
    with app.app_context():
        bot = gen_bot(db.session, db.session.merge(user))
        db.session.commit()
        bot_id = bot.id
    login(client, user)
    saved = csrf_post(
        client,
        "/account/notifications",
        {"email_enabled": "1", "kind-margin_warning-email": "1", "muted_bot": str(bot_id)},
    )
    assert saved.status_code == 302
    with app.app_context():
        OutboxNotifier(_sessions(app), bot_id, lambda: NOW).send(
            Event("margin_warning", {"symbol": "BTCUSDT", "side": "Long"})
        )
    deliver_pass(context(app), NOW)
    assert deliveries(app) == [] and mail_outbox(app) == []
    assert 'id="unread-count">1<' in client.get("/account/notifications").get_data(as_text=True)


def _sessions(app):
    """A session factory on the app's engine."""
    from saas.db import make_session_factory  # noqa: PLC0415

    with app.app_context():
        return make_session_factory(db.engine)


def test_the_run_notifier_drops_booked_fills_and_names_a_vanished_position(app, user_factory):
    user = user_factory(email_verified=True)
    with app.app_context():
        bot_id = gen_bot(db.session, db.session.merge(user)).id
        db.session.commit()
    notifier = OutboxNotifier(_sessions(app), bot_id, lambda: NOW)
    notifier.send(Event("position_opened", {"symbol": "BTCUSDT", "qty": Decimal("0.1")}))
    notifier.send(Event("position_closed", {"symbol": "BTCUSDT", "reason": "closed outside"}))
    notifier.send(Event("margin_warning", {"symbol": "BTCUSDT", "margin_level": Decimal("1.2")}))
    rows = outbox(app)
    assert [r.kind for r in rows] == ["position_gone", "margin_warning"]
    assert rows[1].fields["margin_level"] == "1.2" and rows[1].severity == "critical"


def test_operator_alerts_reach_the_ops_mailbox_at_most_once_per_window(app, user_factory):
    app.config.update(OPS_ALERT_EMAIL="ops@example.com", RUN_OVERDUE_MINUTES=10)
    user = user_factory(email_verified=True)
    with app.app_context():
        for _ in range(2):
            gen_bot(db.session, db.session.merge(user), next_run_at=NOW - timedelta(minutes=30))
        db.session.commit()
    deliver_pass(context(app), NOW)
    deliver_pass(context(app), NOW + timedelta(minutes=5))  # same window: no second alert
    ops_mails = [m for m in mail_outbox(app) if m["To"] == "ops@example.com"]
    assert len(ops_mails) == 1 and "Runner overdue" in ops_mails[0]["Subject"]
    overdue = outbox(app, kind="run_overdue")
    assert len(overdue) == 2 and {r.user_id for r in overdue} == {user.id}  # owners told once
    deliver_pass(context(app), NOW + timedelta(minutes=31))
    assert len([m for m in mail_outbox(app) if m["To"] == "ops@example.com"]) == 2


def test_failures_across_many_bots_raise_one_operator_alert(app, user_factory):
    app.config.update(OPS_ALERT_EMAIL="ops@example.com", OPS_FAILING_BOTS=3)
    user = user_factory(email_verified=True)
    with app.app_context():
        for _ in range(3):
            bot = gen_bot(db.session, db.session.merge(user), status="stopped")
            db.session.add(
                BotRun(
                    bot_id=bot.id,
                    started_at=NOW - timedelta(minutes=5),
                    outcome="error",
                    conclusions={},
                )
            )
        db.session.commit()
    deliver_pass(context(app), NOW)
    [alert] = outbox(app, kind="ops_repeated_failures")
    assert alert.user_id is None and alert.fields["failing_bots"] == 3
    assert any("Repeated failures" in m["Subject"] for m in mail_outbox(app))


def test_a_failed_payment_alerts_the_operators_once(billing):
    billing.app.config["OPS_ALERT_EMAIL"] = "ops@example.com"
    uid = billing.user()
    sub = billing.subscribe(uid, "pro")
    assert billing.deliver(billing.stripe.fail_payment(sub)).status_code == 200
    assert billing.deliver(billing.stripe.fail_payment(sub)).status_code == 200
    [alert] = outbox(billing.app, kind="ops_payment_failed")
    assert alert.fields["user_id"] == uid and alert.user_id is None


def test_a_database_error_is_mailed_directly_and_rate_limited():
    sent, clock = [], [0.0]
    alarm = ops.DatabaseErrorAlarm(sent.append, window_minutes=30, clock=lambda: clock[0])
    error = OperationalError("SELECT 1", {}, Exception("server closed the connection"))
    assert alarm(error) and not alarm(error)
    clock[0] = 31 * 60
    assert alarm(error)
    assert [e.kind for e in sent] == ["ops_database_error"] * 2
    assert sent[0].fields == {"error": "OperationalError"}  # no connection details


def test_yesterdays_fills_become_one_summary_per_user(app, user_factory):
    user = user_factory(email_verified=True)
    midnight = datetime(2026, 12, 5, 0, 5, tzinfo=UTC)
    with app.app_context():
        bot = gen_bot(db.session, db.session.merge(user))
        pair = gen_pair(db.session, bot)
        for n, pnl in enumerate(("1.5", "-0.5")):
            db.session.add(
                Trade(
                    bot_id=bot.id,
                    pair_id=pair.id,
                    client_order_id=f"c{n}",
                    time=midnight - timedelta(hours=3),
                    symbol="BTCUSDT",
                    side="Long",
                    action="REDUCE",
                    qty=Decimal(1),
                    price=Decimal(1),
                    pnl=Decimal(pnl),
                    fee=Decimal("0.1"),
                )
            )
        db.session.commit()
        assert daily_summaries(db.session, midnight) == 1
        assert daily_summaries(db.session, midnight + timedelta(minutes=1)) == 0
        assert daily_summaries(db.session, midnight + timedelta(hours=5)) == 0
        db.session.commit()
    [summary] = outbox(app, kind="daily_summary")
    assert summary.fields["trades"] == 2 and Decimal(summary.fields["realised_pnl"]) == 1
    assert summary.fields["day"] == "2026-12-04"
