"""The notifications pages: plan gating, the secret shown once, Telegram updates, the bell, 404s."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from saas.extensions import db
from saas.models import NotificationSetting, WebhookEndpoint
from tests.fixtures.web import csrf_post, login
from tests.saas.notify_helpers import add_endpoint, emit

PAGE = "/account/notifications"


def test_a_free_user_cannot_enable_webhooks_or_add_an_endpoint(app, client, user_factory):
    user = user_factory(email_verified=True)
    login(client, user)
    refused = csrf_post(client, PAGE, {"webhooks_enabled": "1", "email_enabled": "1"})
    assert refused.status_code == 400
    assert "Webhooks are not part of the Free plan" in refused.get_data(as_text=True)
    added = csrf_post(client, f"{PAGE}/webhooks", {"url": "http://127.0.0.1:9/x"})
    assert added.status_code == 400
    with app.app_context():
        assert db.session.query(WebhookEndpoint).count() == 0
        setting = db.session.query(NotificationSetting).filter_by(user_id=user.id).first()
        assert setting is None or not (setting.webhooks_enabled or setting.email_enabled)


def test_a_free_user_cannot_turn_telegram_on(client, user_factory):
    login(client, user_factory(email_verified=True))
    refused = csrf_post(client, PAGE, {"telegram_enabled": "1"})
    assert refused.status_code == 400 and "Telegram" in refused.get_data(as_text=True)


def test_preferences_are_saved_per_kind_with_quiet_hours(app, client, user_factory):
    user = user_factory(email_verified=True, plan="enterprise")
    login(client, user)
    saved = csrf_post(
        client,
        PAGE,
        {
            "email_enabled": "1",
            "webhooks_enabled": "1",
            "kind-margin_warning-email": "1",
            "kind-position_opened-webhook": "1",
            "quiet_start_hour": "22",
            "quiet_end_hour": "6",
        },
    )
    assert saved.status_code == 302
    with app.app_context():
        setting = db.session.query(NotificationSetting).filter_by(user_id=user.id).one()
        assert setting.kind_channels["margin_warning"] == ["email"]
        assert setting.kind_channels["position_opened"] == ["webhook"]
        assert setting.kind_channels["bot_paused"] == []
        assert (setting.quiet_start_hour, setting.quiet_end_hour) == (22, 6)
    bad = csrf_post(client, PAGE, {"quiet_start_hour": "25", "quiet_end_hour": "3"})
    assert bad.status_code == 400 and "0 to 23" in bad.get_data(as_text=True)


def test_an_endpoint_secret_is_shown_once_and_stored_encrypted(app, client, user_factory):
    user = user_factory(email_verified=True, plan="enterprise")
    login(client, user)
    added = csrf_post(client, f"{PAGE}/webhooks", {"url": "http://127.0.0.1:9/hook"})
    page = added.get_data(as_text=True)
    assert added.status_code == 201
    secret = page.split('id="webhook-secret">', 1)[1].split("<", 1)[0]
    assert secret.startswith("whsec_")
    assert secret not in client.get(PAGE).get_data(as_text=True)
    with app.app_context():
        [endpoint] = db.session.query(WebhookEndpoint).all()
        assert secret not in endpoint.secret_encrypted


def test_a_production_server_refuses_a_private_webhook_url(app, client, user_factory):
    app.config["ENV"] = "production"
    login(client, user_factory(email_verified=True, plan="enterprise"))
    refused = csrf_post(client, f"{PAGE}/webhooks", {"url": "https://10.0.0.5/hook"})
    assert refused.status_code == 400
    assert "private, loopback or link-local" in refused.get_data(as_text=True)


def test_another_users_endpoint_and_delivery_are_404(app, client, user_factory):
    owner = user_factory(email_verified=True, plan="enterprise")
    endpoint_id, _ = add_endpoint(app, owner, "http://127.0.0.1:9/hook")
    login(client, user_factory(email_verified=True, plan="enterprise"))
    for action in ("delete", "enable", "test"):
        url = f"{PAGE}/webhooks/{endpoint_id}/{action}"
        assert csrf_post(client, url, token_from=PAGE).status_code == 404
    emit(app, owner.id, "position_opened")
    from saas.services.notifications.worker import deliver_pass  # noqa: PLC0415
    from tests.saas.notify_helpers import NOW, context  # noqa: PLC0415

    deliver_pass(context(app), NOW)
    assert csrf_post(client, f"{PAGE}/deliveries/1/resend", token_from=PAGE).status_code == 404


def test_the_telegram_webhook_needs_the_secret_token_and_links_on_start(app, client, user_factory):
    app.config.update(TELEGRAM_WEBHOOK_SECRET="s3cret", TELEGRAM_BOT_USERNAME="dcabot_test_bot")
    user = user_factory(email_verified=True, plan="pro")
    login(client, user)
    page = csrf_post(client, f"{PAGE}/telegram/link").get_data(as_text=True)
    token = page.split("?start=", 1)[1].split('"', 1)[0]
    update = {"update_id": 1, "message": {"text": f"/start {token}", "chat": {"id": 99}}}
    anon = app.test_client()
    assert anon.post("/telegram/webhook", json=update).status_code == 403
    wrong = {"X-Telegram-Bot-Api-Secret-Token": "nope"}
    assert anon.post("/telegram/webhook", json=update, headers=wrong).status_code == 403
    good = {"X-Telegram-Bot-Api-Secret-Token": "s3cret"}
    answer = anon.post("/telegram/webhook", json=update, headers=good)
    assert answer.status_code == 200 and answer.json["method"] == "sendMessage"
    assert answer.json["chat_id"] == "99"
    assert "Linked to chat <strong>99</strong>" in client.get(PAGE).get_data(as_text=True)


def test_the_bell_counts_unread_events_until_the_list_is_opened(app, client, user_factory):
    user = user_factory(email_verified=True)
    login(client, user)
    emit(app, user.id, "position_opened", count=3)
    page = client.get(PAGE).get_data(as_text=True)
    assert 'id="unread-count">3<' in page
    listing = client.get(f"{PAGE}/inbox").get_data(as_text=True)
    assert listing.count("Position opened") == 3
    assert 'id="unread-count"' not in client.get(PAGE).get_data(as_text=True)


def test_the_delivery_log_lists_attempts_and_resends_with_the_same_event_id(
    app, client, user_factory, webhook_receiver
):
    from saas.services.notifications.worker import deliver_pass  # noqa: PLC0415
    from tests.saas.notify_helpers import NOW, context  # noqa: PLC0415

    user = user_factory(email_verified=True, plan="enterprise")
    _, webhook_receiver.secret = add_endpoint(app, user, webhook_receiver.url)
    [event_id] = emit(app, user.id, "position_opened")
    deliver_pass(context(app), NOW)
    login(client, user)
    log = client.get(f"{PAGE}/log").get_data(as_text=True)
    assert event_id in log and "ok" in log and "200" in log and " ms" in log
    delivery_id = int(log.split("/deliveries/", 1)[1].split("/", 1)[0])
    assert (
        csrf_post(client, f"{PAGE}/deliveries/{delivery_id}/resend", token_from=PAGE).status_code
        == 302
    )
    deliver_pass(context(app), datetime.now(UTC) + timedelta(seconds=1))  # queued "now"
    assert webhook_receiver.event_ids == [event_id, event_id]
    assert client.get(f"{PAGE}/log").get_data(as_text=True).count(event_id) == 2


def test_a_user_may_use_their_own_bot_token_stored_encrypted(
    app, client, user_factory, telegram_server
):
    from saas.services.notifications.worker import deliver_pass  # noqa: PLC0415
    from tests.saas.notify_helpers import NOW, context  # noqa: PLC0415

    app.config["TELEGRAM_API_BASE"] = telegram_server.url
    user = user_factory(email_verified=True, plan="pro")
    login(client, user)
    bad = csrf_post(client, f"{PAGE}/telegram/own", {"bot_token": "nope", "chat_id": "1"})
    assert bad.status_code == 400 and "BotFather" in bad.get_data(as_text=True)
    token = "123456:OWN-bot-token"
    saved = csrf_post(client, f"{PAGE}/telegram/own", {"bot_token": token, "chat_id": "-100"})
    assert saved.status_code == 302
    with app.app_context():
        setting = db.session.query(NotificationSetting).filter_by(user_id=user.id).one()
        assert token not in (setting.telegram_bot_token_encrypted or "")
    assert csrf_post(client, f"{PAGE}/test/telegram", token_from=PAGE).status_code == 302
    deliver_pass(context(app), NOW)
    [request] = [r for r in telegram_server.requests if r.path.endswith("/sendMessage")]
    assert request.token == token and request.body["chat_id"] == "-100"
    assert token not in client.get(PAGE).get_data(as_text=True)
