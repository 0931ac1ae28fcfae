"""API fixtures: a site with users on plans, tokens made through the service, bearer clients."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from saas.models import User
from tests.fixtures.bots import BotsSite

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


class ApiSite(BotsSite):
    """BotsSite plus tokens and a JSON client that sends them."""

    def plan_user(self, plan: str = "enterprise", **fields) -> int:
        """A verified user on an active paid plan."""
        fields.setdefault("plan_status", "active" if plan != "free" else None)
        return self.user(plan=plan, **fields)

    def token(self, user_id: int, scope: str = "admin", **kwargs) -> str:
        """A new token's plaintext, made by the service as the Account page makes it."""
        from saas.extensions import db  # noqa: PLC0415
        from saas.services.accounts import api_tokens  # noqa: PLC0415

        with self.app.app_context():
            user = db.session.get(User, user_id)
            _row, raw = api_tokens.create_token(
                db.session,
                user,
                kwargs.pop("name", f"{scope} token"),
                scope,
                now=kwargs.pop("now", datetime.now(UTC)),
                access=api_tokens.ApiAccess("admin", "1000 per minute"),
                **kwargs,
            )
            db.session.commit()
        return raw

    def revoke(self, raw: str) -> None:
        """Revoke a token by its plaintext."""
        from sqlalchemy import select  # noqa: PLC0415

        from saas.extensions import db  # noqa: PLC0415
        from saas.models import ApiToken  # noqa: PLC0415
        from saas.services.accounts import api_tokens  # noqa: PLC0415

        with self.app.app_context():
            row = db.session.scalar(
                select(ApiToken).where(ApiToken.token_hash == api_tokens.hash_token(raw))
            )
            api_tokens.revoke_token(
                db.session, db.session.get(User, row.user_id), row.id, now=datetime.now(UTC)
            )
            db.session.commit()

    def api(self, token: str | None = None) -> ApiClient:
        """A client sending ``token`` as a bearer token (none when None)."""
        return ApiClient(self.app.test_client(), token)


class ApiClient:
    """Requests with JSON bodies and the bearer header, as a script sends them."""

    def __init__(self, client, token: str | None):
        self.raw, self.token = client, token

    def open(self, method: str, path: str, body=None, **kwargs):
        """One request to /api/v1<path>."""
        headers = dict(kwargs.pop("headers", {}))
        if self.token is not None:
            headers["Authorization"] = f"Bearer {self.token}"
        if body is not None:
            kwargs["json"] = body
        return self.raw.open(f"/api/v1{path}", method=method, headers=headers, **kwargs)

    def get(self, path: str, **kwargs):
        """A GET."""
        return self.open("GET", path, **kwargs)

    def post(self, path: str, body=None, **kwargs):
        """A POST with a JSON body."""
        return self.open("POST", path, body if body is not None else {}, **kwargs)

    def patch(self, path: str, body=None, **kwargs):
        """A PATCH with a JSON body."""
        return self.open("PATCH", path, body if body is not None else {}, **kwargs)

    def delete(self, path: str, **kwargs):
        """A DELETE."""
        return self.open("DELETE", path, **kwargs)


@pytest.fixture
def api_site(app, seeded_exchange) -> ApiSite:
    """The app (SQLite, CSRF on) with the fake exchange for symbol checks."""
    return ApiSite(app, seeded_exchange.url)
