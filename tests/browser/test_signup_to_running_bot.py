"""From sign-up to a running paper bot in headless Chromium, against a real server on loopback.

Register, confirm the address with the link the loopback SMTP server received, log in, create a
paper bot with one pair, start it and see it running. Screenshots of the bot at desktop and phone
width go to tests/artifacts/. The browser console must stay clean: a CSP violation (an inline
script or style) shows there as an error.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from saas.models import Bot, TradingPair
from tests.fixtures.browser import ARTIFACTS, console_errors, serving

EMAIL = "trader@example.com"
PASSWORD = "a quiet violet harbour at dawn"
DESKTOP, PHONE = (1280, 1000), (390, 844)
WAIT_S = 10

pytestmark = pytest.mark.browser


@pytest.fixture
def live_server(app, smtp_server):
    """The app served on a free loopback port, mailing the SMTP server."""
    app.config.update(smtp_server.mail_settings())
    with serving(app) as base_url:
        app.config.update(BASE_URL=base_url, PAPER_PRICES="simulated")
        yield base_url


class Page:
    """Small helpers over the driver: fill a field, press a button, wait for text."""

    def __init__(self, driver, base_url: str):
        from selenium.webdriver.common.by import By  # noqa: PLC0415
        from selenium.webdriver.support.ui import WebDriverWait  # noqa: PLC0415

        self.driver, self.base_url, self.by = driver, base_url, By
        self.wait = WebDriverWait(driver, WAIT_S)

    def open(self, path: str) -> None:
        """Go to a path of the site."""
        self.driver.get(self.base_url + path)

    def fill(self, name: str, value: str) -> None:
        """Type into the input called ``name``."""
        field = self.driver.find_element(self.by.NAME, name)
        field.clear()
        field.send_keys(value)

    def press(self, text: str) -> None:
        """Click the submit button (or link) showing ``text`` and wait for the next page."""
        old = self.driver.find_element(self.by.TAG_NAME, "html")
        # Buttons of the page's content first: the header has a "Log in" link too.
        for xpath in (
            f"//main//button[normalize-space()='{text}']",
            f"//main//input[@type='submit' and @value='{text}']",
            f"//main//a[normalize-space()='{text}']",
        ):
            found = self.driver.find_elements(self.by.XPATH, xpath)
            if found:
                found[0].click()
                break
        else:
            raise AssertionError(f"no button or link {text!r} on {self.driver.current_url}")
        self.wait.until(lambda d: old.id != d.find_element(self.by.TAG_NAME, "html").id)

    def shows(self, text: str) -> None:
        """Wait until the page's text contains ``text``."""
        self.wait.until(lambda d: text in d.find_element(self.by.TAG_NAME, "body").text)

    def screenshot(self, name: str, size: tuple[int, int]) -> Path:
        """A full-width screenshot at this window size under tests/artifacts/."""
        self.driver.set_window_size(*size)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / name
        self.driver.save_screenshot(str(path))
        return path


def verification_link(smtp_server) -> str:
    """The confirmation link of the first mail the SMTP server received."""
    [message] = smtp_server.wait_for(1)
    assert message["To"] == EMAIL
    body = message.get_body(("plain",)).get_content()
    found = re.search(r"https?://\S+/auth/verify/\S+", body)
    assert found, f"no confirmation link in the mail: {body!r}"
    return found.group(0)


def test_a_new_user_gets_from_sign_up_to_a_running_paper_bot(
    live_server, browser, smtp_server, app
):
    page = Page(browser, live_server)
    page.open("/auth/register")
    page.fill("email", EMAIL)
    page.fill("password", PASSWORD)
    page.fill("confirm", PASSWORD)
    page.press("Create account")

    browser.get(verification_link(smtp_server))
    page.press(f"Confirm {EMAIL}")

    page.open("/auth/login")
    page.fill("email", EMAIL)
    page.fill("password", PASSWORD)
    page.press("Log in")
    page.shows("Dashboard")  # a new user starts on their (empty) dashboard
    page.open("/bots/")
    page.shows("Your bots")

    page.press("New bot")
    page.fill("name", "My paper bot")
    page.press("Create bot")
    page.shows("Step 2 of 2")
    page.fill("symbol", "BTCUSDT")
    page.fill("leverage", "5")
    page.press("Save pair")
    page.shows("BTCUSDT Long")
    page.press("Start")
    page.shows("Bot started")
    status = browser.find_element(page.by.CSS_SELECTOR, ".page-header .status").text
    assert status == "running"

    desktop = page.screenshot("bot_running_desktop.png", DESKTOP)
    phone = page.screenshot("bot_running_phone.png", PHONE)
    assert desktop.stat().st_size > 10_000 and phone.stat().st_size > 10_000
    # At phone width the page must not scroll sideways.
    width = browser.execute_script("return document.documentElement.scrollWidth")
    assert width <= PHONE[0] + 1

    page.open("/bots/")
    page.shows("My paper bot")
    page.screenshot("bots_list_phone.png", PHONE)

    errors = console_errors(browser)
    assert errors == [], errors

    from saas.extensions import db  # noqa: PLC0415

    with app.app_context():
        bot = db.session.query(Bot).one()
        assert (bot.name, bot.exchange, bot.status) == ("My paper bot", "paper", "running")
        assert bot.next_run_at is not None and bot.user.email_verified
        pair = db.session.query(TradingPair).one()
        assert (pair.symbol, pair.side, str(pair.leverage)) == ("BTCUSDT", "Long", "5")
