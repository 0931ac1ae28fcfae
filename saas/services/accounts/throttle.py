"""Sign-in throttling that protects accounts without handing attackers a way to lock them.

Counters live in the ``login_throttles`` table, so every web worker (and every restart) sees
the same numbers. Three counts, each in a fixed window:

- per (typed address, client address): ``pair_max`` attempts, counted *before* the password is
  checked, so concurrent requests never get more real checks than that;
- per client address: ``address_max`` failed attempts over all accounts;
- per typed address: failures from everywhere. Past ``account_slowdown`` the account is under
  attack: client addresses it has never signed in from get only ``slowed_max`` attempts. The
  owner's usual addresses are never slowed, and a reset link by mail always works.

Every count is keyed by a keyed digest of the typed address, never by user id, so a made-up
address is throttled exactly like a real one and the answers cannot tell them apart.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, delete, literal, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from saas.models.base import UTCDateTime
from saas.models.throttle import LoginThrottle
from saas.services.accounts.users import normalize_email

PAIR = "pair"
ADDRESS = "address"
ACCOUNT = "account"
KNOWN = "known"
SECOND_FACTOR = "second-factor"


@dataclass(frozen=True)
class ThrottleSettings:
    """How many attempts each count allows per window, and how long a good address is known."""

    pair_max: int = 5
    address_max: int = 20
    account_slowdown: int = 10
    slowed_max: int = 2
    window: timedelta = timedelta(minutes=15)
    known_for: timedelta = timedelta(days=90)

    @classmethod
    def from_config(cls, config) -> ThrottleSettings:
        """The rule from LOGIN_MAX_FAILURES, LOGIN_*_FAILURES and LOGIN_WINDOW_MINUTES."""
        return cls(
            pair_max=int(config.get("LOGIN_MAX_FAILURES", 5)),
            address_max=int(config.get("LOGIN_ADDRESS_MAX_FAILURES", 20)),
            account_slowdown=int(config.get("LOGIN_ACCOUNT_SLOWDOWN_FAILURES", 10)),
            slowed_max=int(config.get("LOGIN_SLOWED_MAX_FAILURES", 2)),
            window=timedelta(minutes=int(config.get("LOGIN_WINDOW_MINUTES", 15))),
            known_for=timedelta(days=int(config.get("LOGIN_KNOWN_ADDRESS_DAYS", 90))),
        )


@dataclass(frozen=True)
class Keys:
    """The counter keys of one attempt (digests: the table holds no address in the clear)."""

    pair: str
    address: str
    account: str

    @classmethod
    def of(cls, secret: str, account: str, ip: str | None) -> Keys:
        """Keys for a typed address (or any account name) and a client address."""
        account, ip = normalize_email(account), ip or "unknown"
        return cls(
            _digest(secret, "pair", account, ip),
            _digest(secret, "address", ip),
            _digest(secret, "account", account),
        )


def _digest(secret: str, *parts: str) -> str:
    """A keyed SHA-256 of the parts, hex."""
    message = "\x1f".join(parts).encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _insert(session: Session):
    """The dialect's INSERT (both have ON CONFLICT DO UPDATE)."""
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def _bump(session: Session, scope: str, key: str, now: datetime, window: timedelta) -> int:
    """Add one to a counter atomically (a new window when the old one ended); the new count."""
    table = LoginThrottle.__table__
    insert = _insert(session)
    expired = table.c.window_start <= now - window
    start = literal(now, UTCDateTime())
    statement = (
        insert(table)
        .values(scope=scope, key=key, failures=1, window_start=now)
        .on_conflict_do_update(
            index_elements=["scope", "key"],
            set_={
                "failures": case((expired, 1), else_=table.c.failures + 1),
                "window_start": case((expired, start), else_=table.c.window_start),
            },
        )
        .returning(table.c.failures)
    )
    return int(session.execute(statement).scalar_one())


def _count(session: Session, scope: str, key: str, now: datetime, window: timedelta) -> int:
    """A counter's value in its current window (0 when none)."""
    value = session.scalar(
        select(LoginThrottle.failures).where(
            LoginThrottle.scope == scope,
            LoginThrottle.key == key,
            LoginThrottle.window_start > now - window,
        )
    )
    return int(value or 0)


def _forget(session: Session, scope: str, key: str) -> None:
    """Drop a counter."""
    session.execute(
        delete(LoginThrottle).where(LoginThrottle.scope == scope, LoginThrottle.key == key)
    )


def _is_known(session: Session, keys: Keys, now: datetime, settings: ThrottleSettings) -> bool:
    """Whether this client address signed in to this account recently."""
    return _count(session, KNOWN, keys.pair, now, settings.known_for) > 0


def begin_attempt(
    session: Session, keys: Keys, *, now: datetime, settings: ThrottleSettings
) -> bool:
    """Count an attempt before checking its password; False when it must be refused unchecked.

    The caller commits at once, so other workers see the attempt while the password is checked.
    """
    if _count(session, ADDRESS, keys.address, now, settings.window) >= settings.address_max:
        return False
    limit = settings.pair_max
    if not _is_known(session, keys, now, settings):
        under_attack = _count(session, ACCOUNT, keys.account, now, settings.window)
        if under_attack >= settings.account_slowdown:
            limit = min(limit, settings.slowed_max)
    return _bump(session, PAIR, keys.pair, now, settings.window) <= limit


def record_failure(session: Session, keys: Keys, *, now: datetime, settings: ThrottleSettings):
    """A wrong password: the client address and the account count it too."""
    _bump(session, ADDRESS, keys.address, now, settings.window)
    _bump(session, ACCOUNT, keys.account, now, settings.window)


def record_success(session: Session, keys: Keys, *, now: datetime) -> None:
    """A right password: this address's attempts on the account are forgotten and it is known."""
    _forget(session, PAIR, keys.pair)
    table = LoginThrottle.__table__
    # An upsert: two sign-ins at once from the same address must not collide on the key.
    statement = (
        _insert(session)(table)
        .values(scope=KNOWN, key=keys.pair, failures=1, window_start=now)
        .on_conflict_do_update(
            index_elements=["scope", "key"], set_={"window_start": literal(now, UTCDateTime())}
        )
    )
    session.execute(statement)


def begin_second_factor(
    session: Session, secret: str, user_id: int, ip: str | None, *, now, settings
) -> bool:
    """Count a code attempt of a half-signed-in user from this address; False when refused."""
    if _count(session, ADDRESS, Keys.of(secret, "", ip).address, now, settings.window) >= (
        settings.address_max
    ):
        return False
    key = _digest(secret, "second-factor", str(user_id), ip or "unknown")
    return _bump(session, SECOND_FACTOR, key, now, settings.window) <= settings.pair_max


def second_factor_failed(session: Session, secret: str, ip: str | None, *, now, settings) -> None:
    """A wrong code counts against the client address as a wrong password does."""
    _bump(session, ADDRESS, Keys.of(secret, "", ip).address, now, settings.window)


def forget_account(session: Session, secret: str, account: str) -> None:
    """A password reset: the account's failure count starts again (its slow-down ends)."""
    _forget(session, ACCOUNT, Keys.of(secret, account, None).account)


def prune(session: Session, *, now: datetime, settings: ThrottleSettings) -> int:
    """Delete counters whose window ended long ago (a maintenance job); how many."""
    result = session.execute(
        delete(LoginThrottle).where(
            LoginThrottle.scope != KNOWN, LoginThrottle.window_start <= now - settings.window
        )
    )
    known = session.execute(
        delete(LoginThrottle).where(
            LoginThrottle.scope == KNOWN, LoginThrottle.window_start <= now - settings.known_for
        )
    )
    return int(result.rowcount or 0) + int(known.rowcount or 0)
