"""Buying a plan and downgrading it in headless Chromium, against a real server on loopback.

The user logs in, opens the pricing page and presses Pro / Monthly: the browser follows the
redirect to the Stripe stand-in's hosted page (which proves the CSP lets the form lead there). The
stand-in's payment is replaced by a signed checkout.session.completed posted to our webhook; back
on the site the billing page shows Pro. A downgrade to Starter in the "portal" (again a signed
event) pauses the second running bot, and the bots page says why. Screenshots go to
tests/artifacts/; the console must stay free of errors (a CSP violation shows there).
"""

from __future__ import annotations

import pytest

from saas.models import Bot, User
from tests.fixtures.browser import ARTIFACTS, console_errors, serving
from tests.fixtures.database import DEFAULT_PASSWORD
from tests.fixtures.stripe import BillingWorld

EMAIL = "subscriber@example.com"
WAIT_S = 10

pytestmark = pytest.mark.browser


@pytest.fixture
def live(billing_app, stripe_server):
    """The billing app served on a free loopback port; (base URL, world)."""
    with serving(billing_app) as base_url:
        billing_app.config.update(BASE_URL=base_url, PAPER_PRICES="simulated")
        yield base_url, BillingWorld(billing_app, stripe_server)


class Tab:
    """The driver with waits: open a path, click by id, wait for a URL or for text."""

    def __init__(self, driver, base_url: str):
        from selenium.webdriver.common.by import By  # noqa: PLC0415
        from selenium.webdriver.support.ui import WebDriverWait  # noqa: PLC0415

        self.driver, self.base_url, self.by = driver, base_url, By
        self.wait = WebDriverWait(driver, WAIT_S)

    def open(self, path: str) -> None:
        """Go to a path of the site."""
        self.driver.get(self.base_url + path)

    def click(self, element_id: str) -> None:
        """Click an element and wait for the next page to load."""
        old = self.driver.find_element(self.by.TAG_NAME, "html")
        self.driver.find_element(self.by.ID, element_id).click()
        self.wait.until(lambda d: old.id != d.find_element(self.by.TAG_NAME, "html").id)

    def text_of(self, element_id: str) -> str:
        """The visible text of an element."""
        return self.driver.find_element(self.by.ID, element_id).text

    def shows(self, text: str) -> None:
        """Wait until the page's text contains ``text``."""
        self.wait.until(lambda d: text in d.find_element(self.by.TAG_NAME, "body").text)

    def screenshot(self, name: str) -> None:
        """A screenshot under tests/artifacts/."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.driver.save_screenshot(str(ARTIFACTS / name))

    def console_errors(self) -> list[str]:
        """Console messages logged as errors so far."""
        return console_errors(self.driver)


def post_to_webhook(base_url: str, world: BillingWorld, event: dict) -> int:
    """Stripe's delivery of a signed event, over HTTP to the live server."""
    import requests  # noqa: PLC0415

    body, headers = world.stripe.signed(event)
    with requests.Session() as http:
        return http.post(
            f"{base_url}/billing/webhook", data=body, headers=headers, timeout=10
        ).status_code


def test_buying_pro_and_downgrading_to_starter_pauses_the_second_bot(live, browser):
    base_url, world = live
    uid = world.user(EMAIL)
    first = world.bot(uid, name="Alpha", status="running")
    world.pair(first)
    tab = Tab(browser, base_url)

    tab.open("/auth/login")
    tab.driver.find_element(tab.by.NAME, "email").send_keys(EMAIL)
    tab.driver.find_element(tab.by.NAME, "password").send_keys(DEFAULT_PASSWORD)
    tab.click("submit")
    tab.open("/billing/pricing")
    tab.shows("Enterprise")
    tab.screenshot("billing-pricing.png")

    tab.click("buy-pro-month")  # our POST, then Stripe's (stand-in's) hosted page
    assert tab.driver.current_url.startswith(f"{world.stripe.url}/pay/cs_test_")
    tab.shows("Stripe stand-in: pay")
    session_id = tab.driver.current_url.rsplit("/", 1)[-1]
    assert world.get(User, uid).plan == "free"  # being on Stripe's page grants nothing
    assert post_to_webhook(base_url, world, world.stripe.complete_checkout(session_id)) == 200

    tab.click("back")
    assert tab.driver.current_url.startswith(f"{base_url}/billing/success?session_id=")
    tab.open("/billing/")
    assert tab.text_of("plan-name") == "Pro"
    tab.shows("Renews on")
    tab.screenshot("billing-pro.png")

    second = world.bot(uid, name="Beta", status="running")
    world.pair(second)
    tab.click("portal")
    tab.shows("Stripe stand-in: portal")
    subscription = world.get(User, uid).stripe_subscription_id
    downgrade = world.stripe.update_subscription(subscription, price="price_starter_month")
    assert post_to_webhook(base_url, world, downgrade) == 200
    tab.click("back")
    assert tab.text_of("plan-name") == "Starter"

    tab.open("/bots/")
    tab.shows("Paused by your plan: the Starter plan runs 1 bot at a time")
    tab.screenshot("billing-downgrade-bots.png")
    assert (world.get(Bot, first).status, world.get(Bot, second).status) == ("running", "paused")
    assert tab.console_errors() == []
