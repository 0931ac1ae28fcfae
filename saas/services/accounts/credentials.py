"""Account rules without a request: register, sign in with lock-out, change password or e-mail,
two-factor on and off, delete, export. Callers pass ``now`` and the client address and commit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import lru_cache

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from werkzeug.security import check_password_hash

from saas.models import USER_ACTIVE, AuditLog, Bot, BotRun, Order, Trade, User
from saas.security import KeyRing, hash_password, verify_and_upgrade
from saas.services.accounts import totp
from saas.services.accounts.audit import record_audit
from saas.services.accounts.users import AccountError, normalize_email

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256
LOGIN_OK = "ok"
LOGIN_INVALID = "invalid"
LOGIN_LOCKED = "locked"
# Columns never exported, whatever table they are on.
PRIVATE_COLUMN_WORDS = ("encrypted", "hash", "secret", "token", "stripe")


@dataclass(frozen=True)
class LoginSettings:
    """The window over which users.failed_logins counts (``max_failures`` and ``lock`` are the
    throttle's; nothing locks an account on failures any more)."""

    max_failures: int = 5
    window: timedelta = timedelta(minutes=15)
    lock: timedelta = timedelta(minutes=15)

    @classmethod
    def from_config(cls, config) -> LoginSettings:
        """The rule from LOGIN_MAX_FAILURES, LOGIN_WINDOW_MINUTES and LOGIN_LOCK_MINUTES."""
        return cls(
            int(config.get("LOGIN_MAX_FAILURES", 5)),
            timedelta(minutes=int(config.get("LOGIN_WINDOW_MINUTES", 15))),
            timedelta(minutes=int(config.get("LOGIN_LOCK_MINUTES", 15))),
        )


@dataclass(frozen=True)
class LoginResult:
    """What a sign-in attempt came to; ``user`` only when the password was right."""

    status: str
    user: User | None = None


def check_new_password(password: str, email: str = "") -> None:
    """AccountError naming what is wrong with a new password."""
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise AccountError(f"Use at least {MIN_PASSWORD_LENGTH} characters.")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError(f"Use at most {MAX_PASSWORD_LENGTH} characters.")
    if email and password.strip().lower() == normalize_email(email):
        raise AccountError("Your password must not be your e-mail address.")


def find_user(session: Session, email: str) -> User | None:
    """The user with this address (any case), or None."""
    return session.scalar(select(User).where(func.lower(User.email) == normalize_email(email)))


def register(
    session: Session, email: str, password: str, *, now: datetime, ip: str | None = None
) -> tuple[User, bool]:
    """(user, True) for a new account; (the existing user, False) when the address is taken.

    The caller answers both the same way (a mail either way), so the form never tells whether an
    address has an account.
    """
    existing = find_user(session, email)
    if existing is not None:
        # The same work as for a new account: the answer's timing must not tell them apart.
        hash_password(password or "")
        return existing, False
    check_new_password(password, email)
    email = normalize_email(email)
    if "@" not in email.strip("@"):
        raise AccountError("Enter a valid e-mail address.")
    user = User(email=email, password_hash=hash_password(password), created_at=now)
    session.add(user)
    session.flush()
    record_audit(user, "register", target=user, ip=ip, session=session, now=now)
    return user, True


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """A hash to check wrong-address attempts against, so they take as long as real ones."""
    return hash_password("not a real password, only for timing")


FAILED_ATTEMPTS = ("login_failed", "totp_failed")


def _recent_failures(session: Session, user: User, now: datetime, window: timedelta) -> int:
    """Failed passwords and codes inside the window and since the account's last good sign-in."""
    since = now - window
    if user.last_login_at is not None and user.last_login_at > since:
        since = user.last_login_at
    return (
        session.scalar(
            select(func.count(AuditLog.id)).where(
                AuditLog.user_id == user.id,
                AuditLog.action.in_(FAILED_ATTEMPTS),
                AuditLog.created_at > since,
            )
        )
        or 0
    )


def authenticate(
    session: Session,
    email: str,
    password: str,
    *,
    now: datetime,
    ip: str | None = None,
    settings: LoginSettings = LoginSettings(),  # noqa: B008 - frozen, never mutated
) -> LoginResult:
    """Check a password; a wrong one is an audit row and counts in users.failed_logins.

    Nothing here locks the account: a lock strangers could trigger would be a weapon. The web
    app throttles attempts per client address and account (saas.services.accounts.throttle).
    """
    user = find_user(session, email)
    if user is None:
        check_password_hash(_dummy_hash(), password or "")
        record_audit(
            None,
            "login_failed",
            after={"email": normalize_email(email)[:255]},
            ip=ip,
            session=session,
            now=now,
        )
        return LoginResult(LOGIN_INVALID)
    if not verify_and_upgrade(user, password) or user.status != USER_ACTIVE:
        record_failure(session, user, "login_failed", now=now, ip=ip, settings=settings)
        return LoginResult(LOGIN_INVALID)
    return LoginResult(LOGIN_OK, user)


def record_failure(
    session: Session,
    user: User,
    action: str,
    *,
    now: datetime,
    ip: str | None = None,
    settings: LoginSettings = LoginSettings(),  # noqa: B008 - frozen, never mutated
) -> bool:
    """Count a wrong password ("login_failed") or code ("totp_failed") in users.failed_logins.

    Shown to the owner and administrators; it never locks the account (the throttle refuses
    attempts per client address instead). Always False: nothing was locked.
    """
    record_audit(user, action, ip=ip, session=session, now=now)
    session.flush()
    user.failed_logins = _recent_failures(session, user, now, settings.window)
    return False


def end_sessions(user: User) -> None:
    """End every session and remember-me cookie of ``user`` (they carry the old generation)."""
    user.session_generation = (user.session_generation or 0) + 1


def consume_second_factor(
    session: Session, user: User, ring: KeyRing, code: str, *, now: datetime
) -> str | None:
    """ "totp" or "recovery" when ``code`` is fresh, spending it atomically; None otherwise.

    The new state is written only where the stored one is still the one read (a conditional
    UPDATE), so when several requests bring the same code at once exactly one succeeds, on
    every worker and either database. The caller commits.
    """
    read = user.totp_secret_encrypted
    spent = totp.spend_code(user, ring, code, now)
    if spent is None or read is None:
        return None
    method, new_state = spent
    result = session.execute(
        update(User)
        .where(User.id == user.id, User.totp_secret_encrypted == read)
        .values(totp_secret_encrypted=new_state)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return None
    set_committed_value(user, "totp_secret_encrypted", new_state)
    return method


def complete_login(
    session: Session, user: User, *, now: datetime, ip: str | None = None, method: str = "password"
) -> None:
    """Record a finished sign-in (after the second factor): clear the failures, audit it."""
    user.failed_logins, user.locked_until, user.last_login_at = 0, None, now
    record_audit(user, "login", after={"method": method}, ip=ip, session=session, now=now)


def change_password(
    session: Session, user: User, current: str, new: str, *, now: datetime, ip: str | None = None
) -> None:
    """Set a new password after checking the current one (AccountError otherwise)."""
    if not verify_and_upgrade(user, current):
        raise AccountError("Your current password is not right.")
    _set_password(session, user, new, "password_changed", now=now, ip=ip)


def _set_password(
    session: Session, user: User, new: str, action: str, *, now: datetime, ip: str | None
) -> None:
    """Check, hash and store a new password, and audit it (never the password itself)."""
    check_new_password(new, user.email)
    user.password_hash = hash_password(new)
    end_sessions(user)
    record_audit(
        user, action, target=user, after={"password_changed": True}, ip=ip, session=session, now=now
    )


def reset_password(
    session: Session, user: User, new: str, *, now: datetime, ip: str | None = None
) -> None:
    """Set a password from a reset link: unlocks the account and proves the mailbox."""
    _set_password(session, user, new, "password_reset", now=now, ip=ip)
    user.failed_logins, user.locked_until, user.email_verified = 0, None, True


def change_email(
    session: Session,
    user: User,
    password: str,
    new_email: str,
    *,
    now: datetime,
    ip: str | None = None,
) -> str:
    """Move the account to a new address (unverified until its link is used); the old address."""
    if not verify_and_upgrade(user, password):
        raise AccountError("Your current password is not right.")
    new_email = normalize_email(new_email)
    if new_email == user.email:
        raise AccountError("That is already your address.")
    if find_user(session, new_email) is not None:
        raise AccountError("That address cannot be used. Choose another one.")
    old = user.email
    user.email, user.email_verified = new_email, False
    record_audit(
        user,
        "email_changed",
        target=user,
        before={"email": old},
        after={"email": new_email},
        ip=ip,
        session=session,
        now=now,
    )
    return old


def mark_email_verified(session: Session, user: User, *, now: datetime, ip: str | None = None):
    """The user proved they read mail at their address."""
    if not user.email_verified:
        user.email_verified = True
        record_audit(
            user,
            "email_verified",
            target=user,
            after={"email": user.email},
            ip=ip,
            session=session,
            now=now,
        )


def enable_two_factor(
    session: Session,
    user: User,
    ring: KeyRing,
    secret: str,
    code: str,
    *,
    now: datetime,
    ip: str | None = None,
) -> list[str] | None:
    """Turn two-factor sign-in on when the code matches; the recovery codes to show once."""
    codes = totp.enable(user, ring, secret, code, now)
    if codes is not None:
        record_audit(
            user,
            "totp_enabled",
            target=user,
            after={"totp_enabled": True},
            ip=ip,
            session=session,
            now=now,
        )
    return codes


def disable_two_factor(
    session: Session,
    user: User,
    ring: KeyRing,
    password: str,
    code: str,
    *,
    now: datetime,
    ip: str | None = None,
) -> None:
    """Turn two-factor sign-in off; needs the password and a current code (or recovery code)."""
    if not verify_and_upgrade(user, password):
        raise AccountError("Your current password is not right.")
    if totp.check_second_factor(user, ring, code, now) is None:
        raise AccountError("That code is not right.")
    totp.save_state(user, ring, None)
    record_audit(
        user,
        "totp_disabled",
        target=user,
        before={"totp_enabled": True},
        after={"totp_enabled": False},
        ip=ip,
        session=session,
        now=now,
    )


def new_recovery_codes(
    session: Session,
    user: User,
    ring: KeyRing,
    password: str,
    *,
    now: datetime,
    ip: str | None = None,
) -> list[str]:
    """Replace the recovery codes after checking the password; the new codes."""
    if not verify_and_upgrade(user, password):
        raise AccountError("Your current password is not right.")
    codes = totp.regenerate_recovery_codes(user, ring)
    record_audit(user, "recovery_codes_regenerated", target=user, ip=ip, session=session, now=now)
    return codes


def delete_account(
    session: Session,
    user: User,
    password: str,
    *,
    now: datetime,
    ip: str | None = None,
    before_delete: Callable[[User], None] | None = None,
) -> None:
    """Delete the user and everything they own (bots, pairs, trades...); the trail keeps the id.

    ``before_delete`` runs once the password is right and may raise AccountError to stop: billing
    ends a live subscription there, which nobody could cancel after the account is gone.
    """
    if not verify_and_upgrade(user, password):
        raise AccountError("Your password is not right.")
    if before_delete is not None:
        before_delete(user)
    record_audit(user, "account_deleted", target=user, ip=ip, session=session, now=now)
    session.flush()
    user_id = user.id
    # The database cascades to bots and their rows and keeps audit rows with user_id NULL.
    session.execute(delete(Bot).where(Bot.user_id == user_id))
    session.execute(delete(User).where(User.id == user_id))
    session.expunge_all()


def _row(obj) -> dict:
    """A model row as JSON-ready values, private columns left out."""
    values = {}
    for column in obj.__table__.columns:
        if any(word in column.key for word in PRIVATE_COLUMN_WORDS):
            continue
        value = getattr(obj, column.key)
        if isinstance(value, Decimal):
            value = str(value)
        elif isinstance(value, datetime):
            value = value.isoformat()
        values[column.key] = value
    return values


def export_data(session: Session, user: User, *, now: datetime) -> dict:
    """Everything the user owns as JSON-ready data; no key, secret or hash is included."""
    bots = []
    for bot in session.scalars(Bot.owned_by(user).order_by(Bot.id)):
        data = _row(bot)
        data["has_api_keys"] = bool(bot.api_key_encrypted)
        data["pairs"] = [_row(pair) for pair in bot.pairs]
        data["orders"] = [
            _row(o)
            for o in session.scalars(select(Order).where(Order.bot_id == bot.id).order_by(Order.id))
        ]
        data["trades"] = [
            _row(t)
            for t in session.scalars(
                select(Trade).where(Trade.bot_id == bot.id).order_by(Trade.time, Trade.id)
            )
        ]
        data["runs"] = [
            _row(r)
            for r in session.scalars(
                select(BotRun).where(BotRun.bot_id == bot.id).order_by(BotRun.id)
            )
        ]
        bots.append(data)
    account = _row(user)
    account["two_factor_enabled"] = bool(user.totp_secret_encrypted)
    return {"exported_at": now.isoformat(), "account": account, "bots": bots}
