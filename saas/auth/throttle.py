"""Failed sign-in counting in the rate-limit storage: per client address and per address typed.

The per-account lock that survives restarts lives on the user row
(saas.services.accounts.credentials);
these counters add the per-IP limit and give addresses without an account the same lock, so
the answer never tells whether an account exists.
"""

from __future__ import annotations

import hashlib

from flask import current_app
from limits import RateLimitItemPerMinute

from saas.extensions import client_address, limiter
from saas.services.accounts.users import normalize_email

IP_SCOPE = "login-failures-ip"
ACCOUNT_SCOPE = "login-failures-account"


def _item() -> RateLimitItemPerMinute:
    """LOGIN_MAX_FAILURES per LOGIN_WINDOW_MINUTES."""
    config = current_app.config
    return RateLimitItemPerMinute(
        int(config.get("LOGIN_MAX_FAILURES", 5)), int(config.get("LOGIN_WINDOW_MINUTES", 15))
    )


def _account_key(email: str) -> str:
    """The counter name of a typed address (hashed: the storage may be a shared Redis)."""
    return hashlib.sha256(normalize_email(email).encode()).hexdigest()[:32]


def _enabled() -> bool:
    """Rate limiting can be switched off (RATELIMIT_ENABLED=False) for load tests."""
    return bool(current_app.config.get("RATELIMIT_ENABLED", True)) and limiter.enabled


def login_blocked(email: str) -> bool:
    """Whether this address or this client has used up its failed attempts for now."""
    if not _enabled():
        return False
    item, strategy = _item(), limiter.limiter
    return not (
        strategy.test(item, IP_SCOPE, client_address())
        and strategy.test(item, ACCOUNT_SCOPE, _account_key(email))
    )


def count_failure(email: str) -> None:
    """One more failed attempt for this client and this address."""
    if not _enabled():
        return
    item, strategy = _item(), limiter.limiter
    strategy.hit(item, IP_SCOPE, client_address())
    strategy.hit(item, ACCOUNT_SCOPE, _account_key(email))


def clear_account(email: str) -> None:
    """A good sign-in forgets the address's failures (the client's stay counted)."""
    if _enabled():
        limiter.limiter.clear(_item(), ACCOUNT_SCOPE, _account_key(email))
