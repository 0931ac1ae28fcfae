"""Signed, expiring tokens for mailed links (email verification, password reset).

A token is signed with SECRET_KEY and a salt per purpose, so a verification token is no reset
token. Each carries a nonce taken from the user's current state: the reset token a fingerprint
of the password hash, which changes when the password does (so a token works once); the
verification token the address it verifies (so a token for an old address stops working).
"""

from __future__ import annotations

import hashlib
import hmac

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.orm import Session

from saas.models import User

VERIFY_EMAIL = "verify-email"
RESET_PASSWORD = "reset-password"  # noqa: S105 - a salt name, not a password
FINGERPRINT_LENGTH = 16


class TokenError(ValueError):
    """A token that is malformed, expired, already used or for something else."""


def fingerprint(secret_key: str, value: str) -> str:
    """A short keyed digest of ``value`` (a password hash): changes whenever the value does."""
    digest = hmac.new(secret_key.encode(), value.encode(), hashlib.sha256).hexdigest()
    return digest[:FINGERPRINT_LENGTH]


def _serializer(secret_key: str, purpose: str) -> URLSafeTimedSerializer:
    """The signer of one purpose."""
    return URLSafeTimedSerializer(secret_key, salt=f"dcabot:{purpose}")


def make_token(secret_key: str, purpose: str, payload: dict) -> str:
    """A signed, timestamped token of ``payload`` for ``purpose``."""
    return _serializer(secret_key, purpose).dumps(payload)


def read_token(secret_key: str, purpose: str, token: str, max_age: int) -> dict:
    """The payload of a token of ``purpose`` younger than ``max_age`` seconds; TokenError else."""
    try:
        payload = _serializer(secret_key, purpose).loads(token, max_age=max_age)
    except SignatureExpired:
        raise TokenError("this link has expired; ask for a new one") from None
    except (BadSignature, ValueError, TypeError):
        raise TokenError("this link is not valid; ask for a new one") from None
    if not isinstance(payload, dict):
        raise TokenError("this link is not valid; ask for a new one")
    return payload


def email_verification_token(secret_key: str, user: User) -> str:
    """A token confirming that ``user`` owns their current address."""
    return make_token(secret_key, VERIFY_EMAIL, {"uid": user.id, "email": user.email})


def user_for_verification(session: Session, secret_key: str, token: str, max_age: int) -> User:
    """The user a verification token confirms; TokenError when expired or the address changed."""
    payload = read_token(secret_key, VERIFY_EMAIL, token, max_age)
    user = session.get(User, payload.get("uid")) if isinstance(payload.get("uid"), int) else None
    if user is None or user.email != payload.get("email"):
        raise TokenError("this link is not valid any more; ask for a new one")
    return user


def password_reset_token(secret_key: str, user: User) -> str:
    """A token that may set ``user``'s password once (until the password changes)."""
    return make_token(
        secret_key,
        RESET_PASSWORD,
        {"uid": user.id, "pw": fingerprint(secret_key, user.password_hash)},
    )


def user_for_reset(session: Session, secret_key: str, token: str, max_age: int) -> User:
    """The user a reset token is for; TokenError when expired or already used."""
    payload = read_token(secret_key, RESET_PASSWORD, token, max_age)
    user = session.get(User, payload.get("uid")) if isinstance(payload.get("uid"), int) else None
    if user is None or not hmac.compare_digest(
        str(payload.get("pw", "")), fingerprint(secret_key, user.password_hash)
    ):
        raise TokenError("this link has already been used or is not valid; ask for a new one")
    return user
