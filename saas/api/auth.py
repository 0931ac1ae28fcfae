"""Bearer-token authentication, plan access and per-token rate limits for every API request.

The API never reads the cookie session: a request is who its token says, or nothing. That is
also why the blueprint is CSRF-exempt: a browser's ambient cookies grant no access here, and
a request without a token is refused before any view runs.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import current_app, g, request
from limits import parse

from saas.api.problems import ApiProblem
from saas.extensions import db, limiter
from saas.services.accounts import api_tokens

PUBLIC_SCOPE = None


def now() -> datetime:
    """The request's time (services take it as an argument)."""
    return datetime.now(UTC)


def bearer_token() -> str | None:
    """The token of ``Authorization: Bearer <token>``, or None."""
    header = request.headers.get("Authorization", "")
    kind, _, value = header.partition(" ")
    if kind.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def _unauthorized(detail: str) -> ApiProblem:
    """A 401 that tells the client how to authenticate."""
    return ApiProblem(401, detail, headers={"WWW-Authenticate": 'Bearer realm="dcabot"'})


def _rate_limit(token, access) -> None:
    """Count this request against the token's plan limit; a 429 with Retry-After when spent."""
    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return
    item = parse(access.rate_limit)
    key = f"api-token:{token.id}"
    strategy = limiter.limiter
    if not strategy.hit(item, key):
        reset, _remaining = strategy.get_window_stats(item, key)
        retry = max(1, int(reset - now().timestamp()) + 1)
        raise ApiProblem(
            429,
            f"This token may make {access.rate_limit} on your plan; try again later.",
            headers={"Retry-After": str(retry)},
        )


def authenticate() -> None:
    """Find the token, check its scope against the endpoint and the plan, count the request."""
    view = current_app.view_functions.get(request.endpoint or "")
    if view is None:
        return  # an unknown URL: the 404 handler answers
    needed = getattr(view, "api_scope", PUBLIC_SCOPE)
    if needed is PUBLIC_SCOPE:
        return
    raw = bearer_token()
    if raw is None:
        raise _unauthorized("Send an API token as 'Authorization: Bearer <token>'.")
    moment = now()
    check = api_tokens.authenticate_token(db.session, raw, now=moment)
    if check.token is None:
        db.session.rollback()
        raise _unauthorized(check.reason)
    token = check.token
    from saas.models import User  # noqa: PLC0415

    user = db.session.get(User, token.user_id)
    access = api_tokens.api_access(
        user, now=moment, table=current_app.config.get("API_ACCESS"), plans=_plans()
    )
    if access.scope is None:
        raise ApiProblem(403, "API access comes with the Pro and Enterprise plans.")
    if not token.allows(needed):
        raise ApiProblem(403, f"This call needs a token with the {needed} scope.")
    if not access.allows(needed):
        raise ApiProblem(403, f"Your plan allows {access.scope} calls only; this one is {needed}.")
    _rate_limit(token, access)
    db.session.commit()  # last_used_at
    g.api_token, g.api_user = token, user


def _plans():
    """The app's plan table, as billing reads it (PLANS_FILE and price ids from the config)."""
    from saas.billing.settings import plan_settings  # noqa: PLC0415
    from saas.plans import load_plans  # noqa: PLC0415

    return load_plans(plan_settings(current_app.config))


def api_user():
    """The user of the current API request's token."""
    return g.api_user


def client_ip() -> str | None:
    """The caller's address for the audit trail."""
    return request.remote_addr
