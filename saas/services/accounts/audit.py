"""The audit trail: one audit_logs row per security-relevant action, never holding a secret."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from saas.models import AuditLog
from saas.models.scoping import session_for

REDACTED = "[redacted]"
# Field names whose values must never reach the trail, whatever a caller passes.
SECRET_WORDS = ("password", "secret", "token", "totp", "recovery")
SECRET_NAMES = frozenset({"api_key", "key", "code", "otp"})
SAFE_SUFFIXES = ("_last4", "_set", "_changed", "_enabled")
MAX_IP_LENGTH = 45


def is_secret_field(name: str) -> bool:
    """Whether a before/after field name is one whose value we never store."""
    lowered = str(name).lower()
    if lowered.endswith(SAFE_SUFFIXES):
        return False
    return lowered in SECRET_NAMES or any(word in lowered for word in SECRET_WORDS)


def _plain(value):
    """A JSON-friendly copy of a value (Decimal and datetimes as text)."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return scrub(value)
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def scrub(values: dict | None) -> dict | None:
    """The values with every secret-looking field replaced by a marker."""
    if values is None:
        return None
    return {
        str(name): REDACTED if is_secret_field(name) and value not in (None, "") else _plain(value)
        for name, value in values.items()
    }


def _target(target) -> tuple[str | None, int | None]:
    """(type, id) of a model instance, a (type, id) pair, or nothing."""
    if target is None:
        return None, None
    if isinstance(target, tuple):
        kind, object_id = target
        return str(kind), int(object_id) if object_id is not None else None
    kind = getattr(target, "__tablename__", type(target).__name__.lower())
    # "trading_pairs" -> "trading_pair": the trail names one thing.
    kind = kind[:-1] if kind.endswith("s") else kind
    return kind, getattr(target, "id", None)


def record_audit(
    user,
    action: str,
    *,
    target=None,
    before: dict | None = None,
    after: dict | None = None,
    ip: str | None = None,
    session: Session | None = None,
    now: datetime | None = None,
) -> AuditLog:
    """Add an audit_logs row for ``user`` (a User, an id or None) doing ``action``; not committed.

    ``target`` is a model instance or a ("bot", 42) pair. Secret-looking fields of ``before`` and
    ``after`` are stored as "[redacted]"; pass which fields changed, never their values.
    """
    user_id = user if isinstance(user, int) or user is None else user.id
    kind, target_id = _target(target)
    row = AuditLog(
        user_id=user_id,
        action=action,
        target_type=kind,
        target_id=target_id,
        before=scrub(before),
        after=scrub(after),
        ip=(ip or None) and ip[:MAX_IP_LENGTH],
    )
    if now is not None:
        row.created_at = now
    owner = user if user is not None and not isinstance(user, int) else None
    session_for(owner, session).add(row)
    return row
