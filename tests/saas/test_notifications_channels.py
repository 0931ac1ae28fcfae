"""E-mail through a real SMTP server, Telegram linking via the fake Bot API, the journal hook."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

from saas.extensions import db
from saas.models import NotificationOutbox, NotificationSetting, Trade
from saas.services.notifications import telegram_link
from saas.services.notifications.command import poll_telegram
from saas.services.notifications.worker import deliver_pass
from saas.services.runs.journal import DatabaseJournal
from tests.fixtures.database import gen_bot, gen_pair, gen_user
from tests.saas.notify_helpers import NOW, add_settings, context, deliveries, emit
from workflows.journal import TradeRecord


def test_mail_has_text_and_html_parts_and_a_one_click_unsubscribe_per_kind(
    app, client, user_factory, smtp_server
):
    app.config.update(smtp_server.mail_settings())
    user = user_factory(email_verified=True)
    add_settings(app, user.id, email_enabled=True)
    emit(
        app,
        user.id,
        "margin_warning",
        {"symbol": "ETHUSDT", "side": "Short", "margin_level": "1.3"},
    )
    assert deliver_pass(context(app), NOW)["sent"] == 1
    [mail] = smtp_server.wait_for(1)
    assert mail["To"] == user.email and "Margin warning" in mail["Subject"]
    text = mail.get_body(preferencelist=("plain",)).get_content()
    html = mail.get_body(preferencelist=("html",)).get_content()
    assert "ETHUSDT" in text and "1.3" in text and "<html>" in html and "ETHUSDT" in html
    link = re.search(r"<(http[^>]+)>", mail["List-Unsubscribe"]).group(1)
    assert link in text
    page = client.get(link.removeprefix("http://127.0.0.1:8000"))
    assert page.status_code == 200 and "Margin warning" in page.get_data(as_text=True)
    emit(app, user.id, "margin_warning")
    emit(app, user.id, "bot_paused", {"reason": "keys"})  # other kinds still come
    deliver_pass(context(app), NOW + timedelta(minutes=1))
    mails = smtp_server.wait_for(2)
    assert "Bot paused" in mails[1]["Subject"] and len(smtp_server.messages) == 2
    assert client.get("/account/notifications/unsubscribe/forged").status_code == 404


def test_the_digest_sends_at_most_one_mail_per_interval(app, user_factory, smtp_server):
    app.config.update(smtp_server.mail_settings())
    user = user_factory(email_verified=True)
    add_settings(app, user.id, email_enabled=True, email_digest_minutes=30)
    emit(app, user.id, "margin_warning", count=3)
    deliver_pass(context(app), NOW)
    [first] = smtp_server.wait_for(1)
    assert first["Subject"] == "[dcabot] 3 notifications"
    emit(app, user.id, "bot_paused", {"reason": "x"}, now=NOW + timedelta(minutes=1), count=2)
    deliver_pass(context(app), NOW + timedelta(minutes=5))
    assert len(smtp_server.messages) == 1  # waits for the interval
    deliver_pass(context(app), NOW + timedelta(minutes=31))
    second = smtp_server.wait_for(2)[1]
    assert second["Subject"] == "[dcabot] 2 notifications"


def test_get_updates_polling_links_the_chat_of_a_start_message_once(
    app, user_factory, telegram_server
):
    app.config.update(
        TELEGRAM_BOT_TOKEN="platform",
        TELEGRAM_BOT_USERNAME="dcabot_test_bot",
        TELEGRAM_API_BASE=telegram_server.url,
    )
    user = user_factory(email_verified=True, plan="pro")
    with app.app_context():
        link = telegram_link.start_link(
            db.session, user.id, bot_username="dcabot_test_bot", now=NOW
        )
        db.session.commit()
    assert link.startswith("https://t.me/dcabot_test_bot?start=")
    token = link.rsplit("=", 1)[1]
    telegram_server.push_message(4711, "/start wrong-token")
    telegram_server.push_message(4711, f"/start {token}")
    assert poll_telegram(context(app), NOW) == 1
    assert poll_telegram(context(app), NOW) == 0  # acknowledged: not handled twice
    with app.app_context():
        setting = db.session.query(NotificationSetting).filter_by(user_id=user.id).one()
        assert (setting.telegram_chat_id, setting.telegram_enabled) == ("4711", True)
    assert [m["chat_id"] for m in telegram_server.messages] == ["4711"]  # the confirmation
    emit(app, user.id, "test_message", {"channel": "telegram"})
    deliver_pass(context(app), NOW)
    assert telegram_server.messages[-1]["chat_id"] == "4711"


def test_an_expired_link_does_not_link(app, user_factory):
    user = user_factory(email_verified=True, plan="pro")
    with app.app_context():
        link = telegram_link.start_link(db.session, user.id, bot_username="b", now=NOW)
        update = {"message": {"text": f"/start {link.rsplit('=', 1)[1]}", "chat": {"id": 5}}}
        later = NOW + telegram_link.LINK_LIFETIME
        assert telegram_link.handle_update(db.session, update, now=later) is None


def test_a_fill_and_its_event_are_written_in_one_transaction(app, user_factory):
    user = user_factory(email_verified=True)
    with app.app_context():
        bot = gen_bot(db.session, db.session.merge(user))
        pair = gen_pair(db.session, bot)
        db.session.commit()
        journal = DatabaseJournal(db.engine, bot.id, clock=lambda: NOW)
        trade = TradeRecord(
            time=NOW,
            pair_key=str(pair.id),
            symbol="BTCUSDT",
            side="Long",
            action="OPEN",
            qty=Decimal("0.01"),
            price=Decimal("30000"),
            fee=Decimal("0.1"),
            realised_pnl=Decimal(0),
            client_order_id=f"b{bot.id}-p{pair.id}-1-1",
            position_size=Decimal("0.01"),
            position_value=Decimal("30"),
            balance=Decimal(1000),
        )
        assert journal.record_trade(trade)
        assert not journal.record_trade(trade)  # the same fill again: no trade, no event
        [event] = db.session.query(NotificationOutbox).all()
        assert (event.kind, event.bot_id, event.user_id) == ("position_opened", bot.id, user.id)
        assert event.fields["client_order_id"] == trade.client_order_id
        assert event.fields["qty"] == "0.01" and db.session.query(Trade).count() == 1
    assert deliveries(app) == []  # nothing is sent by the run itself


def test_booking_a_fill_writes_its_event_once_and_a_refusal_once(db_engine, db_session):
    """book_fill (status and trade in one transaction) carries the event in that transaction."""
    from dataclasses import replace  # noqa: PLC0415

    from tests.saas.test_journal import fill_trade, intent  # noqa: PLC0415
    from workflows import journal as j  # noqa: PLC0415

    user = gen_user(db_session)
    bot = gen_bot(db_session, user)
    pair = gen_pair(db_session, bot)
    db_session.commit()
    journal = DatabaseJournal(db_engine, bot.id, clock=lambda: NOW)
    run_id = journal.start_run(NOW)
    filled, refused = intent(pair.id, run_id, 1), intent(pair.id, run_id, 2)
    journal.record_intent(filled)
    journal.record_intent(refused)
    filled = replace(filled, status=j.FILLED, filled_qty=Decimal("0.012"), avg_price=Decimal(3))
    assert journal.book_fill(filled, fill_trade(filled))
    assert not journal.book_fill(filled, fill_trade(filled))
    refused = replace(refused, status=j.REJECTED, error="price out of band")
    journal.update_order(refused)
    journal.update_order(refused)
    db_session.expire_all()
    events = db_session.query(NotificationOutbox).order_by(NotificationOutbox.id).all()
    assert [(e.kind, e.fields["client_order_id"]) for e in events] == [
        ("position_opened", filled.client_order_id),
        ("order_refused", refused.client_order_id),
    ]
    assert events[1].fields["message"] == "price out of band"
