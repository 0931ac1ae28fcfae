"""The Stripe wrapper: the library's client pointed at STRIPE_API_BASE, errors translated."""

from __future__ import annotations

import pytest

from saas.services.billing.stripe_client import (
    IdempotencyConflict,
    MissingObject,
    StripeGateway,
    StripeSettings,
    StripeUnavailable,
    idempotency_key,
)


@pytest.fixture
def gateway(stripe_server):
    """A gateway on the stand-in, without retries."""
    with StripeGateway(
        StripeSettings(stripe_server.api_key, stripe_server.url, max_retries=0)
    ) as gateway:
        yield gateway


def test_calls_go_to_the_configured_api_base_with_the_key_and_an_api_version(
    gateway, stripe_server
):
    customer = gateway.create_customer(email="a@example.com", user_id=7, key="k-1")
    assert type(customer) is dict and customer["id"].startswith("cus_")
    (call,) = stripe_server.requests
    assert (call.method, call.path) == ("POST", "/v1/customers")
    assert call.headers["authorization"] == f"Bearer {stripe_server.api_key}"
    assert call.headers["stripe-version"] and call.idempotency_key == "k-1"
    assert call.form == {"email": "a@example.com", "metadata": {"user_id": "7"}}


def test_a_repeated_key_returns_the_first_answer_and_other_parameters_are_refused(gateway):
    first = gateway.create_customer(email="a@example.com", user_id=7, key="same")
    again = gateway.create_customer(email="a@example.com", user_id=7, key="same")
    assert again["id"] == first["id"]
    with pytest.raises(IdempotencyConflict):
        gateway.create_customer(email="b@example.com", user_id=7, key="same")


def test_a_missing_object_and_an_outage_are_told_apart(gateway, stripe_server):
    with pytest.raises(MissingObject):
        gateway.retrieve_subscription("sub_nope")
    stripe_server.fail_next("/v1/invoices")
    with pytest.raises(StripeUnavailable, match="could not be reached"):
        gateway.list_invoices("cus_x")


def test_a_wrong_key_is_unavailable_not_a_crash(stripe_server):
    with (
        StripeGateway(StripeSettings("sk_test_wrong", stripe_server.url, max_retries=0)) as g,
        pytest.raises(StripeUnavailable),
    ):
        g.create_customer(email="a@example.com", user_id=1, key="k")


def test_without_a_key_there_is_no_gateway():
    with pytest.raises(StripeUnavailable, match="not set up"):
        StripeGateway(StripeSettings(""))


def test_idempotency_keys_depend_on_every_part():
    key = idempotency_key("ns", "checkout", 1, 1700000000, "price_a", 0)
    assert key == idempotency_key("ns", "checkout", 1, 1700000000, "price_a", 0)
    assert len(key) <= 255 and key.startswith("dcabot-")
    for changed in (
        ("other", "checkout", 1, 1700000000, "price_a", 0),
        ("ns", "checkout", 2, 1700000000, "price_a", 0),
        ("ns", "checkout", 1, 1700000001, "price_a", 0),
        ("ns", "checkout", 1, 1700000000, "price_b", 0),
        ("ns", "checkout", 1, 1700000000, "price_a", 1),
    ):
        assert idempotency_key(*changed) != key
