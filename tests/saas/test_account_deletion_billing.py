"""Deleting an account ends its Stripe subscription first, or deletes nothing."""

from saas.models import User
from tests.fixtures.database import DEFAULT_PASSWORD


def delete(world, user_id):
    """The user confirms deletion with their password."""
    return world.client(user_id).post(
        "/account/delete",
        {
            "current_password": DEFAULT_PASSWORD,
            "understood": "y",
        },
    )


def test_a_live_subscription_is_cancelled_before_the_account_goes(billing):
    user_id = billing.user()
    subscription = billing.subscribe(user_id, "pro")
    response = delete(billing, user_id)
    assert response.status_code == 302
    assert billing.get(User, user_id) is None
    cancels = billing.stripe.requests_to(f"/v1/subscriptions/{subscription}", "DELETE")
    assert len(cancels) == 1


def test_when_stripe_is_down_nothing_is_deleted(billing):
    user_id = billing.user()
    subscription = billing.subscribe(user_id, "pro")
    billing.stripe.fail_next(f"/v1/subscriptions/{subscription}", times=5)
    response = delete(billing, user_id)
    assert response.status_code == 400
    assert "nothing was deleted" in response.get_data(as_text=True)
    assert billing.get(User, user_id) is not None
