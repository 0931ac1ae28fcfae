"""Stripe's shapes as the stand-in speaks them: ids, prices, errors, the form encoding."""

from __future__ import annotations

import re
from dataclasses import dataclass

API_KEY = "sk_test_standin_0123456789"
WEBHOOK_SECRET = "whsec_standin_0123456789abcdef"
PRICE_IDS = {
    "STRIPE_PRICE_STARTER_MONTHLY": "price_starter_month",
    "STRIPE_PRICE_STARTER_YEARLY": "price_starter_year",
    "STRIPE_PRICE_PRO_MONTHLY": "price_pro_month",
    "STRIPE_PRICE_PRO_YEARLY": "price_pro_year",
    "STRIPE_PRICE_ENTERPRISE_MONTHLY": "price_enterprise_month",
    "STRIPE_PRICE_ENTERPRISE_YEARLY": "price_enterprise_year",
}
AMOUNTS = {"starter": (2900, 29000), "pro": (7900, 79000), "enterprise": (19900, 199000)}
DAY = 86400


@dataclass
class StripeRequest:
    """One call as received: method, path, query and form fields (nested), headers, status."""

    method: str
    path: str
    query: dict
    form: dict
    headers: dict
    status: int = 0

    @property
    def idempotency_key(self) -> str | None:
        """The Idempotency-Key header, if sent."""
        return self.headers.get("idempotency-key")


def nested_form(pairs: list[tuple[str, str]]) -> dict:
    """Stripe's form encoding (``a[b][0][c]=v``) back into dicts and lists."""
    root: dict = {}
    for raw_key, value in pairs:
        parts = re.findall(r"[^\[\]]+", raw_key)
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return _lists(root)


def _lists(node):
    """Dicts whose keys are 0..n-1 become lists."""
    if not isinstance(node, dict):
        return node
    node = {k: _lists(v) for k, v in node.items()}
    if node and all(k.isdigit() for k in node):
        return [node[k] for k in sorted(node, key=int)]
    return node


def price_info(price_id: str) -> tuple[str, str, int]:
    """(plan, interval, amount in cents) of a stand-in price id."""
    _, plan, interval = price_id.split("_", 2)
    amounts = AMOUNTS.get(plan, (1000, 10000))
    return plan, interval, amounts[0] if interval == "month" else amounts[1]


def price_object(price_id: str) -> dict:
    """A price as Stripe returns it inside a subscription item."""
    plan, interval, amount = price_info(price_id)
    return {
        "id": price_id,
        "object": "price",
        "active": True,
        "currency": "usd",
        "unit_amount": amount,
        "product": f"prod_{plan}",
        "type": "recurring",
        "recurring": {"interval": interval, "interval_count": 1},
        "lookup_key": None,
        "metadata": {},
    }


JSON = "application/json"


def error(kind: str, message: str, *, code: str | None = None) -> dict:
    """Stripe's error body."""
    error = {"type": kind, "message": message}
    if code:
        error["code"] = code
    return {"error": error}


def public(obj: dict) -> dict:
    """An object without the stand-in's private fields (those starting with _)."""
    return {k: v for k, v in obj.items() if not k.startswith("_")}
