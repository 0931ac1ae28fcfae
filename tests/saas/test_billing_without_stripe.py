"""Without a Stripe key (make run, self-hosters who do not charge): pages say so, nothing breaks."""

from __future__ import annotations

import pytest

from saas.models import User
from tests.fake_stripe import StripeStandIn
from tests.fixtures.stripe import BillingWorld, register_billing


@pytest.fixture
def unbilled(app):
    """The app with the billing blueprint and no Stripe settings at all."""
    register_billing(app)
    return BillingWorld(app, StripeStandIn())  # never started: nothing may call it


def test_the_pricing_and_billing_pages_say_payments_are_not_set_up(unbilled):
    assert unbilled.app.config["STRIPE_SECRET_KEY"] == ""
    client = unbilled.client(unbilled.user())
    for path in ("/billing/pricing", "/billing/"):
        page = client.get(path)
        assert page.status_code == 200 and 'id="billing-off"' in page.get_data(as_text=True)
    html = client.get("/billing/pricing").get_data(as_text=True)
    assert "buy-pro-month" not in html and "Invoices" not in client.get("/billing/").get_data(
        as_text=True
    )


def test_checkout_and_portal_explain_instead_of_failing(unbilled):
    client = unbilled.client(unbilled.user())
    checkout = client.post(
        "/billing/checkout", {"plan": "pro", "interval": "month"}, follow_redirects=True
    )
    assert "Billing is not set up on this server" in checkout.get_data(as_text=True)
    portal = client.post("/billing/portal", follow_redirects=True)
    assert "Billing is not set up on this server" in portal.get_data(as_text=True)


def test_the_webhook_does_not_exist(unbilled):
    response = unbilled.app.test_client().post("/billing/webhook", data=b"{}")
    assert response.status_code == 404


def test_an_admin_sets_plans_by_hand(unbilled):
    admin = unbilled.user(role="admin")
    uid = unbilled.user(email="friend@example.com")
    page = unbilled.client(admin).get("/admin/plans").get_data(as_text=True)
    assert "Payments are not set up on this server, so plans are set here." in page
    response = unbilled.client(admin).post(
        "/admin/plans",
        {"email": "friend@example.com", "plan": "enterprise"},
        follow_redirects=True,
    )
    assert "friend@example.com is on the Enterprise plan now." in response.get_data(as_text=True)
    assert unbilled.get(User, uid).plan == "enterprise"
    billing_page = unbilled.client(uid).get("/billing/").get_data(as_text=True)
    assert 'id="plan-name">Enterprise<' in billing_page
