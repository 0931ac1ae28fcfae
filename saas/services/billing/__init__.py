"""Services for plans and payments: subscriptions applied to users, the Stripe client."""
