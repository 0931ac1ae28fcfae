"""Linking Telegram in two clicks, in headless Chromium against a live server on loopback.

Log in, press "Link Telegram", read the one-time deep link, let the fake Bot API deliver the
"/start <token>" update to our webhook endpoint (with the secret token header), see the chat
shown as linked, press "Send test" and find the message at the fake Bot API.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import requests

from saas.services.notifications.worker import deliver_pass
from tests.browser.test_signup_to_running_bot import Page
from tests.fixtures.browser import console_errors, serving
from tests.fixtures.database import DEFAULT_PASSWORD
from tests.saas.notify_helpers import context

pytestmark = pytest.mark.browser
SECRET = "webhook-secret-token"


def test_a_pro_user_links_telegram_with_the_deep_link_and_gets_the_test_message(
    app, browser, telegram_server, user_factory
):
    app.config.update(
        TELEGRAM_BOT_TOKEN="platform-token",
        TELEGRAM_BOT_USERNAME="dcabot_test_bot",
        TELEGRAM_API_BASE=telegram_server.url,
        TELEGRAM_WEBHOOK_SECRET=SECRET,
    )
    user = user_factory(email="pro@example.com", email_verified=True, plan="pro")
    with serving(app) as base_url:
        page = Page(browser, base_url)
        page.open("/auth/login")
        page.fill("email", user.email)
        page.fill("password", DEFAULT_PASSWORD)
        page.press("Log in")
        page.open("/account/notifications")
        page.shows("Not linked.")
        page.press("Link Telegram")
        link = browser.find_element(page.by.ID, "telegram-deep-link").get_attribute("href")
        assert link.startswith("https://t.me/dcabot_test_bot?start=")

        # The user presses Start in Telegram; Telegram posts the update to our webhook.
        update = telegram_server.push_message(8080, f"/start {link.rsplit('=', 1)[1]}")
        answer = requests.post(
            f"{base_url}/telegram/webhook",
            json=update,
            headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
            timeout=10,
        )
        assert answer.status_code == 200 and answer.json()["chat_id"] == "8080"

        page.open("/account/notifications")
        page.shows("Linked to chat 8080")
        page.press("Send test")
        page.shows("A test message is on its way")
        deliver_pass(context(app), datetime.now(UTC))
        [message] = telegram_server.messages
        assert message["chat_id"] == "8080" and "test" in message["text"].lower()
        assert console_errors(browser) == []
