"""Creating accounts outside the web forms (the CLI's create-admin, tests, the runner's seed)."""

from __future__ import annotations

import secrets

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from saas.models import ROLE_ADMIN, ROLE_USER, User
from saas.security import hash_password

GENERATED_PASSWORD_BYTES = 12


class AccountError(ValueError):
    """An account cannot be created as asked; the message is for the operator."""


def normalize_email(email: str) -> str:
    """Emails are compared and stored lower-cased and trimmed."""
    return (email or "").strip().lower()


def generate_password() -> str:
    """A random password to print once."""
    return secrets.token_urlsafe(GENERATED_PASSWORD_BYTES)


def create_user(
    session: Session,
    email: str,
    password: str,
    *,
    role: str = ROLE_USER,
    email_verified: bool = False,
) -> User:
    """A new user with a hashed password; AccountError when the email is taken or malformed."""
    email = normalize_email(email)
    if "@" not in email or email.startswith("@") or email.endswith("@"):
        raise AccountError(f"{email!r} is not an e-mail address")
    if not password:
        raise AccountError("the password must not be empty")
    taken = session.scalar(select(User.id).where(func.lower(User.email) == email))
    if taken is not None:
        raise AccountError(f"a user with e-mail {email} already exists")
    user = User(
        email=email, password_hash=hash_password(password), role=role, email_verified=email_verified
    )
    session.add(user)
    session.flush()
    return user


def create_admin(session: Session, email: str, password: str) -> User:
    """A new administrator (verified: the operator created it)."""
    return create_user(session, email, password, role=ROLE_ADMIN, email_verified=True)
