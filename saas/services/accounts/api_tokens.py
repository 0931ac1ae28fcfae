"""Personal access tokens: create (shown once), list, revoke, authenticate, and plan access.

A token is ``dcab_`` plus 32 random bytes; only its SHA-256 hash is stored (a fast hash is
enough for a secret with 256 bits of entropy, and lets a request find its row by one lookup).
What a plan allows comes from API_ACCESS: Pro reads, Enterprise also trades and administers.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from saas.models import USER_ACTIVE
from saas.models.api_tokens import TOKEN_SCOPES, ApiToken
from saas.services.accounts.audit import record_audit

TOKEN_PREFIX = "dcab_"  # noqa: S105 - the visible start of every token, not a secret
MAX_NAME_LENGTH = 100
MAX_TOKENS = 20
# plan key -> (the widest scope its tokens may have, the per-token rate limit).
DEFAULT_API_ACCESS: dict[str, tuple[str, str]] = {
    "pro": ("read", "60 per minute"),
    "enterprise": ("admin", "600 per minute"),
}


class TokenError(ValueError):
    """A token request the service refuses; the message is shown as it is."""


@dataclass(frozen=True)
class ApiAccess:
    """What a user's plan allows on the API right now (scope None: no API access)."""

    scope: str | None
    rate_limit: str

    def allows(self, scope: str) -> bool:
        """Whether tokens of ``scope`` may be used on this plan."""
        return self.scope is not None and TOKEN_SCOPES.index(self.scope) >= TOKEN_SCOPES.index(
            scope
        )


def api_access(
    user, *, now: datetime, plans=None, table: Mapping[str, tuple[str, str]] | None = None
) -> ApiAccess:
    """The API access of the user's effective plan (a lapsed plan has none)."""
    from saas.plans import effective_plan, load_plans  # noqa: PLC0415

    plan = effective_plan(user, plans or load_plans(), now)
    scope, limit = (table or DEFAULT_API_ACCESS).get(plan.key, (None, "0 per minute"))
    return ApiAccess(scope, limit)


def hash_token(raw: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(raw.encode()).hexdigest()


def create_token(
    session: Session,
    user,
    name: str,
    scope: str,
    *,
    now: datetime,
    expires_at: datetime | None = None,
    access: ApiAccess,
    ip: str | None = None,
) -> tuple[ApiToken, str]:
    """A new token of ``user`` and its plaintext (to show once); audited without the token."""
    name = (name or "").strip()
    if not name:
        raise TokenError("Give the token a name, so you know later what uses it.")
    if len(name) > MAX_NAME_LENGTH:
        raise TokenError(f"The name is longer than {MAX_NAME_LENGTH} characters.")
    if scope not in TOKEN_SCOPES:
        raise TokenError(f"The scope must be one of {', '.join(TOKEN_SCOPES)}.")
    if access.scope is None:
        raise TokenError("API access comes with the Pro plan (read) and Enterprise (all scopes).")
    if not access.allows(scope):
        raise TokenError(f"Your plan allows {access.scope} tokens only; {scope} needs Enterprise.")
    if expires_at is not None and expires_at <= now:
        raise TokenError("The expiry date must be in the future.")
    if len(list_tokens(session, user, now=now)) >= MAX_TOKENS:
        raise TokenError(f"You can have at most {MAX_TOKENS} tokens; revoke one first.")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        name=name,
        prefix=raw[: len(TOKEN_PREFIX) + 6],
        token_hash=hash_token(raw),
        scope=scope,
        expires_at=expires_at,
        created_at=now,
    )
    session.add(token)
    session.flush()
    after = {"name": name, "scope": scope, "expires_at": expires_at, "prefix": token.prefix}
    record_audit(
        user,
        "api_token.create",
        target=("api_token", token.id),
        after=after,
        ip=ip,
        session=session,
        now=now,
    )
    return token, raw


def list_tokens(session: Session, user, *, now: datetime) -> list[ApiToken]:
    """The user's tokens that are not revoked, newest first (expired ones included, marked)."""
    query = (
        ApiToken.owned_by(user)
        .where(ApiToken.revoked_at.is_(None))
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    )
    return list(session.scalars(query))


def revoke_token(session: Session, user, token_id, *, now: datetime, ip: str | None = None):
    """Revoke the user's token (NotFound for another user's); it stops working at once."""
    token = ApiToken.get_owned_or_404(token_id, user, session)
    if token.revoked_at is None:
        token.revoked_at = now
        record_audit(
            user,
            "api_token.revoke",
            target=("api_token", token.id),
            before={"name": token.name, "scope": token.scope, "prefix": token.prefix},
            ip=ip,
            session=session,
            now=now,
        )
        session.flush()
    return token


@dataclass(frozen=True)
class TokenCheck:
    """The outcome of reading a bearer token: the token, or why it was refused."""

    token: ApiToken | None
    reason: str = ""


def authenticate_token(session: Session, raw: str, *, now: datetime) -> TokenCheck:
    """The live token for ``raw`` with its (active) user, or the reason it cannot be used."""
    raw = (raw or "").strip()
    if not raw.startswith(TOKEN_PREFIX):
        return TokenCheck(None, "The bearer token is not a dcabot API token.")
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(raw)))
    if token is None:
        return TokenCheck(None, "The bearer token is not valid.")
    if token.revoked_at is not None:
        return TokenCheck(None, "The bearer token has been revoked.")
    if token.expires_at is not None and token.expires_at <= now:
        return TokenCheck(None, "The bearer token has expired.")
    from saas.models import User  # noqa: PLC0415

    user = session.get(User, token.user_id)
    if user is None or user.status != USER_ACTIVE:
        return TokenCheck(None, "The account of this token is not active.")
    # Written at most once a minute: a busy token must not turn every read into a write.
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() >= 60:
        token.last_used_at = now
    return TokenCheck(token)
