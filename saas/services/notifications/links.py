"""Signed one-click links in notification mails (unsubscribe from one kind)."""

from __future__ import annotations

from itsdangerous import BadSignature, URLSafeSerializer

SALT = "notifications-unsubscribe"


def unsubscribe_token(secret_key: str, user_id: int, kind: str) -> str:
    """A token naming the user and the kind, signed with SECRET_KEY."""
    return URLSafeSerializer(secret_key, salt=SALT).dumps([user_id, kind])


def read_unsubscribe_token(secret_key: str, token: str) -> tuple[int, str] | None:
    """(user id, kind) of a genuine token, else None."""
    try:
        user_id, kind = URLSafeSerializer(secret_key, salt=SALT).loads(token)
    except (BadSignature, ValueError, TypeError):
        return None
    return int(user_id), str(kind)


def unsubscribe_url(base_url: str, secret_key: str, user_id: int, kind: str) -> str:
    """The full link for a mail."""
    token = unsubscribe_token(secret_key, user_id, kind)
    return f"{base_url.rstrip('/')}/account/notifications/unsubscribe/{token}"
