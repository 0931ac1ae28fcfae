"""The Stripe webhook: only genuine events count, each once, in Stripe's order of truth."""

from __future__ import annotations

import json
import threading
import time

import pytest
from sqlalchemy import select

from saas.models import Bot, StripeEvent, User
from tests.fixtures.web import mail_outbox


def user_state(world, uid: int) -> tuple:
    """What a webhook may change on a user."""
    user = world.get(User, uid)
    return (
        user.plan,
        user.plan_status,
        user.stripe_customer_id,
        user.stripe_subscription_id,
        user.plan_period_end,
        user.plan_grace_until,
        user.checkout_nonce,
    )


@pytest.fixture
def paid(billing):
    """A user back from a Pro checkout whose completed event has not been delivered yet."""
    uid = billing.user()
    session_id = billing.session_of(billing.checkout(billing.client(uid), "pro"))
    return billing, uid, billing.stripe.complete_checkout(session_id)


def test_a_completed_checkout_puts_the_user_on_the_plan_they_paid_for(paid):
    world, uid, event = paid
    response = world.deliver(event)
    assert response.status_code == 200 and response.get_json()["status"] == "applied"
    user = world.get(User, uid)
    sub = world.stripe.subscriptions[event["data"]["object"]["subscription"]]
    assert (user.plan, user.plan_status, user.plan_interval) == ("pro", "active", "month")
    assert user.stripe_subscription_id == sub["id"]
    assert user.stripe_customer_id == sub["customer"]
    assert int(user.plan_period_end.timestamp()) == sub["items"]["data"][0]["current_period_end"]
    # The subscription was fetched from Stripe, not taken from the event.
    assert world.stripe.requests_to(f"/v1/subscriptions/{sub['id']}", "GET")


def tampered(event: dict) -> tuple[bytes, dict]:
    """A validly signed body changed after signing."""
    return event, {}


@pytest.mark.parametrize(
    "attack",
    [
        "missing",
        "tampered",
        "wrong_secret",
        "too_old",
        "an_hour_ahead",
        "garbage_header",
        "future_only_v0",
        "signed_list",
        "signed_deep_list",
    ],
)
def test_a_delivery_that_is_not_genuinely_stripes_is_refused_and_changes_nothing(paid, attack):
    world, uid, event = paid
    before = user_state(world, uid)
    body, headers = world.stripe.signed(event)
    if attack == "missing":
        headers.pop("Stripe-Signature")
    elif attack == "tampered":
        body = body.replace(b'"mode": "subscription"', b'"mode": "subscription" ')
    elif attack == "wrong_secret":
        body, headers = world.stripe.signed(event, secret="whsec_someone_else")
    elif attack == "too_old":
        body, headers = world.stripe.signed(event, timestamp=int(time.time()) - 301)
    elif attack == "an_hour_ahead":
        body, headers = world.stripe.signed(event, timestamp=int(time.time()) + 3600)
    elif attack == "signed_list":
        body, headers = world.stripe.signed(b"[]")
    elif attack == "signed_deep_list":
        body, headers = world.stripe.signed(b"[" * 50000)
    elif attack == "garbage_header":
        headers["Stripe-Signature"] = "nonsense"
    else:  # a scheme we do not accept
        headers["Stripe-Signature"] = headers["Stripe-Signature"].replace("v1=", "v0=")
    response = world.app.test_client().post("/billing/webhook", data=body, headers=headers)
    assert response.status_code == 400
    assert user_state(world, uid) == before
    assert world.event_count() == 0


def test_a_signature_within_the_tolerance_is_accepted(paid):
    world, uid, event = paid
    assert world.deliver(event, timestamp=int(time.time()) - 250).status_code == 200
    assert world.get(User, uid).plan == "pro"


def test_a_signature_slightly_ahead_of_our_clock_is_accepted(paid):
    world, uid, event = paid
    assert world.deliver(event, timestamp=int(time.time()) + 60).status_code == 200


def test_the_same_event_delivered_twice_has_one_effect(paid):
    world, uid, event = paid
    first, second = world.deliver(event), world.deliver(event)
    assert (first.status_code, second.status_code) == (200, 200)
    assert second.get_json()["status"] == "duplicate"
    assert world.get(User, uid).checkout_nonce == 1  # moved on once, not twice
    assert world.event_count() == 1


def test_two_deliveries_at_once_have_one_effect(db_billing):
    """Two threads post the same event together (on PostgreSQL one waits on the unique index)."""
    world = db_billing
    uid = world.user()
    session_id = world.session_of(world.checkout(world.client(uid), "pro"))
    event = world.stripe.complete_checkout(session_id)
    body, headers = world.stripe.signed(event)
    barrier, answers = threading.Barrier(2), []

    def deliver():
        client = world.app.test_client()
        barrier.wait()
        answers.append(client.post("/billing/webhook", data=body, headers=headers))

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(r.status_code for r in answers) == [200, 200]
    assert sorted(r.get_json()["status"] for r in answers) == ["applied", "duplicate"]
    assert world.get(User, uid).checkout_nonce == 1
    assert world.event_count() == 1


def test_a_deleted_subscription_stays_cancelled_when_an_older_update_arrives_after(billing):
    uid = billing.user()
    sub = billing.subscribe(uid, "pro")
    # Stripe sent "updated" (still active) and then "deleted"; they arrive the other way round.
    older_update = billing.stripe.update_subscription(sub, cancel_at_period_end=True)
    deleted = billing.stripe.cancel_subscription(sub)
    assert billing.deliver(deleted).status_code == 200
    assert billing.deliver(older_update).status_code == 200
    user = billing.get(User, uid)
    assert (user.plan, user.plan_status) == ("free", "canceled")


def test_a_new_subscription_is_not_ended_by_the_old_ones_late_deletion(billing):
    uid = billing.user()
    old = billing.subscribe(uid, "pro")
    deleted = billing.stripe.cancel_subscription(old)
    assert billing.deliver(deleted).status_code == 200
    new = billing.subscribe(uid, "enterprise")
    assert billing.deliver(deleted | {"id": "evt_redelivered_copy"}).status_code == 200
    user = billing.get(User, uid)
    assert (user.plan, user.stripe_subscription_id) == ("enterprise", new)


def test_a_downgrade_in_the_portal_pauses_the_bots_beyond_the_new_plan(billing):
    uid = billing.user()
    sub = billing.subscribe(uid, "pro")
    bots = [billing.bot(uid, status="running", name=f"bot {i}") for i in range(3)]
    for bot_id in bots:
        billing.pair(bot_id)
    mainnet = billing.bot(uid, exchange="bybit", testnet=False, status="running")
    billing.pair(mainnet)
    event = billing.stripe.update_subscription(sub, price="price_starter_month")
    assert billing.deliver(event).status_code == 200
    assert billing.get(User, uid).plan == "starter"
    statuses = {bot_id: billing.get(Bot, bot_id) for bot_id in [*bots, mainnet]}
    assert statuses[bots[0]].status == "running"
    for bot_id in (bots[1], bots[2], mainnet):
        assert statuses[bot_id].status == "paused"
        assert statuses[bot_id].last_error.startswith("Paused by your plan: the Starter plan")
    assert "testnet and paper only" in statuses[mainnet].last_error
    assert len(billing.query(select(Bot.id))) == 4  # paused, never deleted
    mails = [m for m in mail_outbox(billing.app) if "paused" in m["Subject"]]
    assert len(mails) == 1 and "3 bots were paused" in mails[0].get_content()


def test_a_failed_payment_keeps_the_plan_for_the_grace_period_and_tells_the_user(billing):
    uid = billing.user()
    sub = billing.subscribe(uid, "pro")
    failed = billing.stripe.fail_payment(sub)
    assert billing.deliver(failed).status_code == 200
    user = billing.get(User, uid)
    assert (user.plan, user.plan_status) == ("pro", "past_due")
    grace = user.plan_grace_until - user.updated_at
    assert abs(grace.total_seconds() - 7 * 86400) < 60
    mails = [m for m in mail_outbox(billing.app) if m["Subject"] == "dcabot: your payment failed"]
    assert len(mails) == 1 and mails[0]["To"] == user.email
    assert failed["data"]["object"]["hosted_invoice_url"] in mails[0].get_content()
    # Stripe retries the charge and fails again: the grace does not restart, no second mail.
    again = billing.stripe.fail_payment(sub)
    assert billing.deliver(again).status_code == 200
    assert billing.get(User, uid).plan_grace_until == user.plan_grace_until
    assert len([m for m in mail_outbox(billing.app) if "failed" in m["Subject"]]) == 1


def test_a_paid_invoice_ends_the_grace_period(billing):
    uid = billing.user()
    sub = billing.subscribe(uid, "pro")
    assert billing.deliver(billing.stripe.fail_payment(sub)).status_code == 200
    assert billing.deliver(billing.stripe.pay_invoice(sub)).status_code == 200
    user = billing.get(User, uid)
    assert (user.plan, user.plan_status, user.plan_grace_until) == ("pro", "active", None)


def test_a_stripe_outage_is_retried_later_and_nothing_is_recorded_meanwhile(paid):
    world, uid, event = paid
    world.stripe.fail_next("/v1/subscriptions/")
    response = world.deliver(event)
    assert response.status_code == 503
    assert world.event_count() == 0 and world.get(User, uid).plan == "free"
    assert world.deliver(event).status_code == 200  # Stripe's redelivery
    assert world.get(User, uid).plan == "pro" and world.event_count() == 1


def test_events_we_do_not_handle_or_cannot_place_are_recorded_and_ignored(billing):
    stranger = billing.stripe.make_subscription("cus_not_ours", "price_pro_month")
    unknown_customer = billing.stripe.event("customer.subscription.updated", stranger)
    other_kind = billing.stripe.event("charge.refunded", {"id": "ch_1", "object": "charge"})
    answers = [billing.deliver(unknown_customer), billing.deliver(other_kind)]
    assert [a.status_code for a in answers] == [200, 200]
    assert answers[1].get_json()["status"] == "ignored"
    assert billing.event_count() == 2
    assert not billing.query(select(User.id).where(User.plan != "free"))


def test_a_subscription_to_a_price_no_plan_lists_changes_nothing(billing):
    uid = billing.user()
    sub = billing.subscribe(uid, "starter")
    event = billing.stripe.update_subscription(sub, price="price_mystery_month")
    assert billing.deliver(event).status_code == 200
    assert billing.get(User, uid).plan == "starter"


def test_a_signed_body_that_is_not_an_event_is_a_bad_request(billing):
    response = billing.deliver(json.dumps({"hello": "world"}).encode())
    assert response.status_code == 400 and billing.event_count() == 0


def test_without_a_webhook_secret_there_is_no_endpoint(billing, paid):
    world, _, event = paid
    world.app.config["STRIPE_WEBHOOK_SECRET"] = ""
    assert world.deliver(event).status_code == 404
    assert world.event_count() == 0


def test_the_event_row_is_written_with_its_effect(paid):
    world, uid, event = paid
    world.deliver(event)
    (row,) = [r for (r,) in world.query(select(StripeEvent))]
    assert (row.event_id, row.type) == (event["id"], "checkout.session.completed")
