"""The dashboards in headless Chromium: charts drawn, no console errors, a backtest from the page.

The app is served on a free loopback port by werkzeug in a thread; the browser logs in through
the real form. Screenshots at desktop and phone width go to tests/artifacts/.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from saas.models import BotRun, User
from tests.fixtures.browser import ARTIFACTS, console_errors, open_chromium, serving
from tests.fixtures.dashboard import write_candles
from tests.fixtures.database import DEFAULT_PASSWORD

DESKTOP, PHONE = (1366, 2600), (390, 3200)
WAIT = 30

pytestmark = pytest.mark.browser


@pytest.fixture
def chromium(tmp_path):
    """Headless Chromium at desktop size, tall enough for a whole page in one screenshot."""
    with open_chromium(tmp_path, DESKTOP) as driver:
        yield driver


@pytest.fixture
def live(dash_sqlite):
    """The app on a free loopback port, with a user, two bots with history, and candles."""
    dash = dash_sqlite
    dash.app.config["DASHBOARD_POLL_SECONDS"] = 1
    uid = dash.user(email="trader@example.com")
    bots = []
    for n, name in enumerate(("Scalper", "Swinger"), start=1):
        bid = dash.bot(
            uid,
            name=name,
            last_run_at=datetime.now(UTC) - timedelta(minutes=3),
            next_run_at=datetime.now(UTC) + timedelta(minutes=2),
            last_outcome="ok",
        )
        pid = dash.pair(bid, "BTCUSDT", "Long")
        dash.pair(bid, "ETHUSDT", "Short", leverage=Decimal(5))
        dash.history(bid, days=90, per_day=10, seed=n)
        dash.add(
            BotRun(
                bot_id=bid,
                started_at=datetime.now(UTC) - timedelta(minutes=3),
                outcome="ok",
                conclusions={str(pid): "Waiting for dip"},
            )
        )
        bots.append((bid, pid))
    write_candles(
        dash.data_dir / "BTCUSDT-PERP-5m-2026-01_2026-01.csv",
        25,
        start=datetime(2026, 1, 1, tzinfo=UTC),
    )
    with serving(dash.app) as base_url:
        yield dash, base_url, uid, bots


def log_in(driver, base: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(f"{base}/auth/login")
    driver.find_element(By.NAME, "email").send_keys("trader@example.com")
    driver.find_element(By.NAME, "password").send_keys(DEFAULT_PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "main form [type=submit]").click()
    WebDriverWait(driver, WAIT).until(lambda d: "/auth/login" not in d.current_url)


def charts_drawn(driver) -> list[str]:
    """Wait until every chart of the page is drawn (or shows its empty state); their states."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def settled(d):
        states = [
            el.get_attribute("data-drawn")
            for el in d.find_elements(By.CSS_SELECTOR, "[data-chart]")
        ]
        return states if states and all(states) else False

    return WebDriverWait(driver, WAIT).until(settled)


def screenshots(driver, name: str) -> None:
    """The page at desktop and at phone width."""
    ARTIFACTS.mkdir(exist_ok=True)
    for label, (width, height) in (("desktop", DESKTOP), ("phone", PHONE)):
        driver.set_window_size(width, height)
        driver.execute_script("window.dispatchEvent(new Event('resize'))")
        shot = ARTIFACTS / f"dashboard_{name}_{label}.png"
        assert driver.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
    driver.set_window_size(*DESKTOP)


def test_the_overview_and_a_bot_page_draw_their_charts_without_console_errors(chromium, live):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    dash, base, uid, bots = live
    log_in(chromium, base)
    chromium.get(f"{base}/dashboard/")
    assert charts_drawn(chromium) == ["chart"] * 3
    assert len(chromium.find_elements(By.CSS_SELECTOR, ".dash-chart .main-svg")) >= 3
    assert "Scalper" in chromium.find_element(By.CSS_SELECTOR, ".dash-bot-cards").text
    assert console_errors(chromium) == []
    screenshots(chromium, "overview")

    bid, _ = bots[0]
    chromium.get(f"{base}/dashboard/bots/{bid}")
    assert charts_drawn(chromium) == ["chart"] * 5
    assert "Waiting for dip" in chromium.find_element(By.CSS_SELECTOR, ".dash-pairs").text
    # The status area refreshes itself: pause the bot behind the page's back.
    from saas.extensions import db
    from saas.models import Bot

    with dash.app.app_context():
        db.session.get(Bot, bid).status = "paused"
        db.session.commit()
    badge = '.dash-panel [data-status-field="status"]'
    WebDriverWait(chromium, WAIT).until(
        lambda d: d.find_element(By.CSS_SELECTOR, badge).text == "paused"
    )
    assert console_errors(chromium) == []
    screenshots(chromium, "bot")


def test_a_backtest_started_from_a_pair_finishes_and_shows_its_report(chromium, live):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    dash, base, uid, bots = live
    log_in(chromium, base)
    bid, pid = bots[0]
    chromium.get(f"{base}/dashboard/bots/{bid}")
    chromium.find_element(By.CSS_SELECTOR, f'a[href="/dashboard/backtests?pair={pid}"]').click()
    assert chromium.find_element(By.NAME, "pair_id").get_attribute("value") == str(pid)
    for name, value in (("start", "2026-01-08"), ("end", "2026-01-20")):
        field = chromium.find_element(By.NAME, name)
        chromium.execute_script("arguments[0].value = arguments[1]", field, value)
    chromium.find_element(By.ID, "start-backtest").click()
    WebDriverWait(chromium, WAIT).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "iframe.dash-report")
    )
    assert "Max drawdown" in chromium.find_element(By.TAG_NAME, "main").text
    frame = chromium.find_element(By.CSS_SELECTOR, "iframe.dash-report")
    chromium.switch_to.frame(frame)
    WebDriverWait(chromium, WAIT).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, ".plotly .main-svg .scatterlayer .trace")
    )
    assert "Backtest BTCUSDT Long" in chromium.find_element(By.TAG_NAME, "h1").text
    chromium.switch_to.default_content()
    assert console_errors(chromium) == []
    chromium.execute_script("arguments[0].scrollIntoView()", frame)
    screenshots(chromium, "backtest")
    with dash.app.app_context():
        from saas.extensions import db

        assert db.session.get(User, uid) is not None
