"""Pricing, checkout, the portal and the billing page: Stripe is asked, nothing is granted here."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from saas.models import User
from tests.fixtures.web import csrf_post


def test_the_pricing_page_lists_every_plan_with_prices_and_limits(billing):
    page = billing.app.test_client().get("/billing/pricing")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for name, price in (("Starter", "$29"), ("Pro", "$790"), ("Enterprise", "$1,990")):
        assert name in html and price in html
    assert "Unlimited pairs per bot" in html and "Telegram alerts" in html
    assert "Sign up to subscribe" in html  # anonymous visitors are sent to register
    assert 'action="/billing/checkout"' not in html


def test_a_logged_in_user_sees_buy_buttons_for_other_plans(billing):
    client = billing.client(billing.user(plan="starter"))
    html = client.get("/billing/pricing").get_data(as_text=True)
    assert 'id="buy-pro-month"' in html and 'id="buy-enterprise-year"' in html
    assert 'id="buy-starter-month"' not in html  # the plan they have


def test_checkout_sends_the_user_to_stripe_with_a_session_of_their_own(billing):
    uid = billing.user()
    response = billing.checkout(billing.client(uid), "pro", "year")
    assert response.status_code == 303
    assert response.headers["Location"].startswith(f"{billing.stripe.url}/pay/cs_test_")
    (customer_call,) = billing.stripe.requests_to("/v1/customers", "POST")
    (session_call,) = billing.stripe.requests_to("/v1/checkout/sessions", "POST")
    form = session_call.form
    assert form["mode"] == "subscription" and form["client_reference_id"] == str(uid)
    assert form["line_items"] == [{"price": "price_pro_year", "quantity": "1"}]
    assert form["customer"] == billing.get(User, uid).stripe_customer_id
    assert form["success_url"].endswith("/billing/success?session_id={CHECKOUT_SESSION_ID}")
    assert form["subscription_data"]["metadata"]["user_id"] == str(uid)
    assert customer_call.idempotency_key and session_call.idempotency_key
    assert session_call.headers["authorization"] == f"Bearer {billing.stripe.api_key}"
    assert billing.get(User, uid).plan == "free"  # only the webhook grants


def test_a_double_click_reuses_the_same_checkout_session(billing):
    uid = billing.user()
    client = billing.client(uid)
    first, second = billing.checkout(client), billing.checkout(client)
    assert first.headers["Location"] == second.headers["Location"]
    calls = billing.stripe.requests_to("/v1/checkout/sessions", "POST")
    assert len(calls) == 2 and calls[0].idempotency_key == calls[1].idempotency_key
    assert len(billing.stripe.sessions) == 1
    assert len(billing.stripe.customers) == 1


def test_another_price_or_a_finished_checkout_gets_a_new_session(billing):
    uid = billing.user()
    client = billing.client(uid)
    monthly = billing.session_of(billing.checkout(client, "pro", "month"))
    yearly = billing.session_of(billing.checkout(client, "pro", "year"))
    assert monthly != yearly
    expired = billing.stripe.event(
        "checkout.session.expired", billing.stripe.sessions[monthly] | {"status": "expired"}
    )
    assert billing.deliver(expired).status_code == 200
    assert billing.session_of(billing.checkout(client, "pro", "month")) != monthly


def test_a_subscriber_is_sent_to_the_portal_instead_of_a_second_subscription(billing):
    uid = billing.user()
    billing.subscribe(uid, "pro")
    response = billing.checkout(billing.client(uid), "enterprise")
    assert response.status_code == 302 and response.headers["Location"].endswith("/billing/")
    assert len(billing.stripe.sessions) == 1


@pytest.mark.parametrize(
    ("plan", "interval"), [("free", "month"), ("platinum", "month"), ("pro", "week"), ("", "month")]
)
def test_only_a_plan_on_sale_can_be_checked_out(billing, plan, interval):
    response = billing.checkout(billing.client(billing.user()), plan, interval)
    assert response.status_code == 302 and "/billing/pricing" in response.headers["Location"]
    assert not billing.stripe.requests_to("/v1/checkout/sessions")


def test_a_plan_without_a_stripe_price_is_not_for_sale(billing):
    billing.app.config["STRIPE_PRICE_PRO_YEARLY"] = ""
    client = billing.client(billing.user())
    assert 'id="buy-pro-year"' not in client.get("/billing/pricing").get_data(as_text=True)
    assert billing.checkout(client, "pro", "year").status_code == 302
    assert not billing.stripe.requests_to("/v1/checkout/sessions")


def test_stripe_being_down_is_a_message_not_an_error_page(billing):
    billing.stripe.fail_next("/v1/checkout/sessions")
    client = billing.client(billing.user())
    response = billing.checkout(client)
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Stripe could not be reached just now; nothing was charged." in page


def test_checkout_needs_a_login_and_a_csrf_token(billing):
    anonymous = billing.app.test_client()
    response = csrf_post(
        anonymous,
        "/billing/checkout",
        {"plan": "pro", "interval": "month"},
        token_from="/billing/pricing",
    )
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    client = billing.client(billing.user())
    forged = client.post("/billing/checkout", {"plan": "pro", "interval": "month"}, csrf=False)
    assert forged.status_code == 400
    assert not billing.stripe.requests_to("/v1/")


def test_the_portal_opens_for_the_users_own_customer(billing):
    uid = billing.user()
    billing.subscribe(uid, "pro")
    response = billing.client(uid).post("/billing/portal")
    assert response.status_code == 303
    assert response.headers["Location"].startswith(f"{billing.stripe.url}/portal/bps_")
    (call,) = billing.stripe.requests_to("/v1/billing_portal/sessions")
    assert call.form["customer"] == billing.get(User, uid).stripe_customer_id
    assert call.form["return_url"].endswith("/billing/")


def test_without_a_customer_the_portal_says_to_choose_a_plan(billing):
    client = billing.client(billing.user())
    response = client.post("/billing/portal", follow_redirects=True)
    assert "choose a plan first" in response.get_data(as_text=True)
    assert not billing.stripe.requests_to("/v1/billing_portal")


def test_success_and_cancel_pages_grant_nothing(billing):
    uid = billing.user()
    client = billing.client(uid)
    session_id = billing.session_of(billing.checkout(client))
    billing.stripe.complete_checkout(session_id)  # paid, but the webhook has not come yet
    page = client.get(f"/billing/success?session_id={session_id}")
    assert page.status_code == 200 and 'id="plan-name">Free<' in page.get_data(as_text=True)
    assert client.get("/billing/cancel").status_code == 200
    assert billing.get(User, uid).plan == "free"


def test_the_billing_page_shows_plan_status_renewal_and_invoices(billing):
    uid = billing.user()
    sub = billing.subscribe(uid, "pro")
    html = billing.client(uid).get("/billing/").get_data(as_text=True)
    end = datetime.fromtimestamp(
        billing.stripe.subscriptions[sub]["items"]["data"][0]["current_period_end"], UTC
    )
    assert 'id="plan-name">Pro<' in html and 'id="plan-status">active<' in html
    assert f">{end:%Y-%m-%d}</time>" in html and "Renews on" in html
    assert "STANDIN-0001" in html and "$79.00" in html
    assert 'id="portal"' in html


def test_the_billing_page_lists_only_the_users_own_invoices(billing):
    owner, other = billing.user(), billing.user()
    billing.subscribe(owner, "pro")
    billing.subscribe(other, "enterprise")
    html = billing.client(owner).get("/billing/").get_data(as_text=True)
    assert "$79.00" in html and "$199.00" not in html
    (call,) = [
        r
        for r in billing.stripe.requests_to("/v1/invoices")
        if r.query["customer"] == billing.get(User, owner).stripe_customer_id
    ]
    assert call.query["customer"] != billing.get(User, other).stripe_customer_id


def test_a_cancellation_at_period_end_shows_when_the_plan_ends(billing):
    uid = billing.user()
    sub = billing.subscribe(uid, "pro")
    billing.deliver(billing.stripe.update_subscription(sub, cancel_at_period_end=True))
    html = billing.client(uid).get("/billing/").get_data(as_text=True)
    assert "Ends on" in html and 'id="plan-name">Pro<' in html


def test_the_billing_page_warns_during_a_grace_period(billing):
    uid = billing.user(
        plan="pro", plan_status="past_due", plan_grace_until=datetime.now(UTC) + timedelta(days=3)
    )
    html = billing.client(uid).get("/billing/").get_data(as_text=True)
    assert 'id="grace"' in html and "Your last payment failed" in html


def test_invoices_that_cannot_be_fetched_do_not_break_the_page(billing):
    uid = billing.user()
    billing.subscribe(uid, "pro")
    billing.stripe.fail_next("/v1/invoices")
    page = billing.client(uid).get("/billing/")
    assert page.status_code == 200 and 'id="invoices-unavailable"' in page.get_data(as_text=True)


def test_pages_with_stripe_buttons_allow_forms_to_lead_to_stripe(billing):
    client = billing.client(billing.user())
    for path in ("/billing/pricing", "/billing/"):
        policy = client.get(path).headers["Content-Security-Policy"]
        assert "form-action 'self' https://checkout.stripe.com https://billing.stripe.com" in policy
        assert "script-src 'self'" in policy
    assert "form-action 'self';" in client.get("/billing/cancel").headers["Content-Security-Policy"]


def test_the_billing_page_needs_a_login(billing):
    for path in ("/billing/", "/billing/success", "/billing/cancel"):
        response = billing.app.test_client().get(path)
        assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_no_page_or_log_line_shows_the_stripe_secrets(billing, caplog):
    caplog.set_level(logging.DEBUG)
    uid = billing.user()
    billing.subscribe(uid, "pro")
    client = billing.client(uid)
    pages = [
        client.get(path)
        for path in ("/billing/pricing", "/billing/", "/billing/success", "/billing/cancel")
    ]
    pages.append(client.post("/billing/portal"))
    secrets = (billing.stripe.api_key, billing.stripe.webhook_secret)
    for response in pages:
        text = response.get_data(as_text=True) + str(response.headers)
        assert not any(s in text or s[8:20] in text for s in secrets)
    assert not any(s in caplog.text or s[8:20] in caplog.text for s in secrets)


def test_deleting_an_account_can_end_its_subscription_first(billing):
    from saas.billing.checkout import cancel_for_deleted_account  # noqa: PLC0415
    from saas.billing.settings import context  # noqa: PLC0415

    ctx = context(billing.app.config)
    subscriber, free = billing.user(), billing.user()
    sub = billing.subscribe(subscriber, "pro")
    assert cancel_for_deleted_account(billing.get(User, subscriber), ctx) is True
    assert billing.stripe.subscriptions[sub]["status"] == "canceled"
    assert billing.stripe.requests_to(f"/v1/subscriptions/{sub}", "DELETE")
    assert cancel_for_deleted_account(billing.get(User, free), ctx) is False
