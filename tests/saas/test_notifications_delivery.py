"""The delivery worker against real receivers: signed webhooks, retries, disabling, crashes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from saas.extensions import db
from saas.models import NotificationSetting, WebhookEndpoint
from saas.services.notifications.worker import deliver_pass
from tests.fixtures.web import mail_outbox
from tests.saas.notify_helpers import (
    NOW,
    add_endpoint,
    add_settings,
    context,
    deliveries,
    emit,
    outbox,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def app(db_app):
    """Every test here runs on SQLite and on PostgreSQL (claims lock rows there)."""
    return db_app


def test_a_webhook_delivery_is_signed_and_verifies_with_the_documented_snippet(
    app, user_factory, webhook_receiver
):
    user = user_factory(email_verified=True, plan="enterprise")
    _, secret = add_endpoint(app, user, webhook_receiver.url)
    webhook_receiver.secret = secret
    [event_id] = emit(
        app, user.id, "margin_warning", {"symbol": "BTCUSDT", "side": "Long", "margin_level": "1.4"}
    )
    summary = deliver_pass(context(app), NOW)
    assert summary["sent"] == 1
    [got] = webhook_receiver.wait_for(1)
    assert got["verified"] is True
    assert got["event_id_header"] == event_id == got["body"]["id"]
    body = got["body"]
    assert body["type"] == "margin_warning" and body["pair"] == {
        "symbol": "BTCUSDT",
        "side": "Long",
    }
    assert body["data"]["margin_level"] == "1.4" and body["created"].startswith("2026-12-04T12")
    webhook_receiver.secret = "whsec_wrong"  # the snippet really checks
    emit(app, user.id, "margin_warning")
    deliver_pass(context(app), NOW)
    assert webhook_receiver.wait_for(2)[1]["verified"] is False


def test_a_receiver_down_for_a_while_gets_every_event_after_it_recovers(
    app, user_factory, webhook_receiver
):
    user = user_factory(email_verified=True, plan="enterprise")
    _, webhook_receiver.secret = add_endpoint(app, user, webhook_receiver.url)
    ids = emit(app, user.id, "position_opened", count=3)
    webhook_receiver.down()
    assert deliver_pass(context(app), NOW)["retry"] == 3
    webhook_receiver.up()
    assert deliver_pass(context(app), NOW + timedelta(seconds=10)).get("sent", 0) == 0  # backoff
    # Two more hours of outage would only space the tries; after recovery all arrive once.
    summary = deliver_pass(context(app), NOW + timedelta(seconds=31))
    assert summary["sent"] == 3
    ok = [r for r in webhook_receiver.received if r["status"] == 200]
    assert sorted(r["body"]["id"] for r in ok) == sorted(ids)
    assert all(r["verified"] for r in ok)
    assert {d.status for d in deliveries(app)} == {"sent"}


def test_a_receiver_that_always_fails_is_disabled_after_the_retry_window_and_its_owner_told(
    app, user_factory, webhook_receiver
):
    user = user_factory(email_verified=True, plan="enterprise")
    endpoint_id, webhook_receiver.secret = add_endpoint(app, user, webhook_receiver.url)
    emit(app, user.id, "position_opened")
    webhook_receiver.down(500)
    now = NOW
    while now < NOW + timedelta(hours=23):
        deliver_pass(context(app), now)
        now += timedelta(hours=1)
    with app.app_context():
        assert db.session.get(WebhookEndpoint, endpoint_id).enabled  # still inside the window
    deliver_pass(context(app), NOW + timedelta(hours=24, minutes=1))
    with app.app_context():
        endpoint = db.session.get(WebhookEndpoint, endpoint_id)
        assert not endpoint.enabled and "failed since" in endpoint.disabled_reason
    hooks = [d for d in deliveries(app) if d.channel == "webhook"]
    assert [d.status for d in hooks] == ["dead"]
    [notice] = outbox(app, kind="webhook_disabled")
    assert notice.user_id == user.id and webhook_receiver.url in notice.fields["url"]
    [mail] = mail_outbox(app)
    assert mail["To"] == user.email and "Webhook disabled" in mail["Subject"]
    tries = len(webhook_receiver.received)
    emit(app, user.id, "position_opened")
    deliver_pass(context(app), NOW + timedelta(hours=25))
    assert len(webhook_receiver.received) == tries  # a disabled endpoint gets nothing


def test_a_worker_killed_between_send_and_mark_resends_once_with_the_same_event_id(
    app, user_factory, webhook_receiver, db_url, encryption_key
):
    user = user_factory(email_verified=True, plan="enterprise")
    _, webhook_receiver.secret = add_endpoint(app, user, webhook_receiver.url)
    started = datetime.now(UTC)
    [event_id] = emit(app, user.id, "position_closed", now=started)
    webhook_receiver.hold()  # the body arrives; the answer (and so the mark) never does
    env = {
        "PATH": os.environ["PATH"],
        "DATABASE_URL": db_url,
        "ENCRYPTION_KEY": encryption_key,
        "SECRET_KEY": "test",
        "DCABOT_ENV": "test",
    }
    worker = subprocess.Popen(
        [sys.executable, str(ROOT / "main.py"), "deliver"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        webhook_receiver.wait_for(1, timeout=30)
        os.kill(worker.pid, signal.SIGKILL)
    finally:
        worker.wait(timeout=10)
    webhook_receiver.release()
    [delivery] = deliveries(app)
    assert delivery.status == "pending" and delivery.lease_until is not None
    # Inside the lease nobody sends it again; after it, exactly once more.
    deliver_pass(context(app), started + timedelta(seconds=5))
    assert len(webhook_receiver.received) == 1
    deliver_pass(context(app), started + timedelta(minutes=2))
    deliver_pass(context(app), started + timedelta(minutes=3))
    assert webhook_receiver.event_ids == [event_id, event_id]
    assert all(r["verified"] for r in webhook_receiver.received)
    [delivery] = deliveries(app)
    assert delivery.status == "sent"


def test_a_downgrade_stops_telegram_deliveries_with_one_notice(app, user_factory, telegram_server):
    app.config.update(TELEGRAM_BOT_TOKEN="platform", TELEGRAM_API_BASE=telegram_server.url)
    user = user_factory(email_verified=True, plan="pro")
    add_settings(app, user.id, telegram_enabled=True, telegram_chat_id="31337")
    emit(app, user.id, "margin_warning")
    deliver_pass(context(app), NOW)
    assert [m["chat_id"] for m in telegram_server.messages] == ["31337"]
    with app.app_context():
        db.session.merge(user).plan = "free"
        db.session.commit()
    emit(app, user.id, "margin_warning", count=2)
    deliver_pass(context(app), NOW + timedelta(minutes=1))
    emit(app, user.id, "margin_warning")
    deliver_pass(context(app), NOW + timedelta(minutes=2))
    assert len(telegram_server.messages) == 1  # nothing after the downgrade
    [notice] = outbox(app, kind="channel_stopped")
    assert "Telegram" in notice.fields["reason"]
    [mail] = mail_outbox(app)
    assert "Notification channel stopped" in mail["Subject"]
    with app.app_context():
        setting = db.session.query(NotificationSetting).filter_by(user_id=user.id).one()
        assert not setting.telegram_enabled and setting.telegram_chat_id == "31337"
