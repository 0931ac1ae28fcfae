"""Billing settings come from the environment on a real server and from the config in tests."""

from __future__ import annotations

import pytest

from saas.billing.settings import context
from saas.plans import PlanConfigError
from tests.fixtures.stripe import register_billing


@pytest.fixture
def server_app(monkeypatch, sqlite_url, encryption_key):
    """An app made the way a server makes it: from the environment (development mode)."""
    from saas import create_app  # noqa: PLC0415

    for name, value in {
        "DCABOT_ENV": "development",
        "DATABASE_URL": sqlite_url,
        "ENCRYPTION_KEY": encryption_key,
        "SECRET_KEY": "x" * 64,
        "BASE_URL": "https://bots.example.com/",
    }.items():
        monkeypatch.setenv(name, value)

    def make():
        app = create_app()
        apps.append(app)
        return app

    apps: list = []
    yield make
    from saas.extensions import db  # noqa: PLC0415

    for app in apps:
        with app.app_context():
            for engine in db.engines.values():
                engine.dispose()


def test_a_server_reads_stripe_settings_from_its_environment(server_app, monkeypatch):
    monkeypatch.setenv("STRIPE_SECRET_KEY", "sk_live_from_env")
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", "whsec_from_env")
    monkeypatch.setenv("STRIPE_PRICE_PRO_MONTHLY", "price_env_pro")
    monkeypatch.setenv("BILLING_GRACE_DAYS", "3")
    app = register_billing(server_app())
    ctx = context(app.config)
    assert ctx.enabled and ctx.stripe.api_key == "sk_live_from_env"
    assert ctx.webhook_secret == "whsec_from_env" and ctx.grace_days == 3
    assert ctx.plans["pro"].price("month").stripe_price_id == "price_env_pro"
    assert ctx.base_url == "https://bots.example.com" and ctx.stripe.api_base is None


def test_tests_never_pick_up_the_environments_stripe_key(app, monkeypatch):
    monkeypatch.setenv("STRIPE_SECRET_KEY", "sk_live_must_not_leak")
    register_billing(app)
    assert not context(app.config).enabled


def test_a_broken_plans_file_stops_the_start_with_its_reason(server_app, monkeypatch, tmp_path):
    broken = tmp_path / "plans.json"
    broken.write_text('{"pro": {"max_bots": 1, "max_pairs": 1}}')
    monkeypatch.setenv("PLANS_FILE", str(broken))
    with pytest.raises(PlanConfigError, match="must include a 'free' plan"):
        register_billing(server_app())


def test_a_plans_file_sets_the_limits_of_the_bots_pages(server_app, monkeypatch, tmp_path):
    path = tmp_path / "plans.json"
    path.write_text('{"free": {"max_bots": 3, "max_pairs": 2}}')
    monkeypatch.setenv("PLANS_FILE", str(path))
    app = register_billing(server_app())
    assert app.config["PLAN_LIMITS"] == {"free": {"max_bots": 3, "max_pairs": 2, "mainnet": False}}
