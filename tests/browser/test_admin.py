"""The admin pages in headless Chromium at 1366 px with thousands of users and bots.

Screenshots land in tests/artifacts/admin-*.png (git-ignored) for a person to look at; the test
checks each page renders its main table or figures with no console error (the CSP holds).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, update

from saas.models import Bot, User
from tests.fixtures.admin import fill_install
from tests.fixtures.browser import ARTIFACTS, console_errors, open_chromium, serving
from tests.fixtures.database import DEFAULT_PASSWORD, default_password_hash

WIDTH = 1366
USERS, BOTS = 3_000, 6_000


@pytest.fixture
def install(app):
    """The app over a realistic install; the first user is an admin we can log in as."""
    from saas.extensions import db

    fill_install(db_engine(app), users=USERS, bots=BOTS, now=datetime.now(UTC))
    with app.app_context():
        db.session.execute(
            update(User)
            .where(User.id == 1)
            .values(role="admin", password_hash=default_password_hash(), status="active")
        )
        db.session.commit()
        assert db.session.scalar(select(func.count(Bot.id))) == BOTS
        email = db.session.get(User, 1).email
    return app, email


def db_engine(app):
    """The app's engine."""
    from saas.extensions import db

    with app.app_context():
        return db.engine


PAGES = (
    ("users", "/admin/users", "#users"),
    ("users-filtered", "/admin/users?plan=pro&two_factor=yes&sort=email&dir=asc", "#users"),
    ("user", "/admin/users/2", "#user-bots"),
    ("bots", "/admin/bots", "#bots"),
    ("bots-failing", "/admin/bots?failures=1&status=running", "#bots"),
    ("bot", "/admin/bots/1", "#runs"),
    ("system", "/admin/system", "#runner"),
    ("revenue", "/admin/revenue", "#revenue-figures"),
    ("audit", "/admin/audit", "#audit"),
    ("plans", "/admin/plans", "table"),
)


def test_every_admin_page_at_1366px(install, tmp_path):
    from selenium.webdriver.common.by import By

    app, email = install
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with serving(app) as base, open_chromium(tmp_path, (WIDTH, 1000)) as driver:
        driver.get(f"{base}/auth/login")
        driver.find_element(By.NAME, "email").send_keys(email)
        driver.find_element(By.NAME, "password").send_keys(DEFAULT_PASSWORD)
        driver.find_element(By.CSS_SELECTOR, "form button, form input[type=submit]").click()
        console_errors(driver)
        for name, url, selector in PAGES:
            driver.get(base + url)
            assert driver.find_elements(By.CSS_SELECTOR, selector), f"{url}: no {selector}"
            height = driver.execute_script("return document.body.scrollHeight")
            driver.set_window_size(WIDTH, min(max(height, 800), 4000))
            driver.save_screenshot(str(ARTIFACTS / f"admin-{name}.png"))
            assert console_errors(driver) == [], url
            assert driver.execute_script(
                "return document.documentElement.scrollWidth <= window.innerWidth + 1"
            ), f"{url} scrolls sideways at {WIDTH} px"
            assert driver.execute_script(
                "return [...document.querySelectorAll('.table-wrap')]"
                ".every(w => w.scrollWidth <= w.clientWidth + 1)"
            ), f"a table of {url} scrolls sideways at {WIDTH} px"
        users_page = driver.get(base + "/admin/users") or driver.page_source
        assert "500+ (narrow the filters to count them) found" in users_page
        # View as a user: the banner on their pages.
        driver.get(base + "/admin/users/2")
        driver.find_element(By.ID, "view-as").click()
        assert driver.find_element(By.ID, "viewing-as").is_displayed()
        driver.save_screenshot(str(ARTIFACTS / "admin-viewing-as.png"))
        driver.find_element(By.ID, "leave-view-as").click()
        assert not driver.find_elements(By.ID, "viewing-as")
