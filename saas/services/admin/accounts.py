"""Admin actions on any user's account: role, suspension, password reset, two-factor, plan.

Each takes the acting administrator, ``now`` and the client address, records an audit_logs row
with the values before and after (never a secret) and leaves the commit to the caller.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from saas.models import BOT_PAUSED, BOT_RUNNING, USER_ACTIVE, USER_SUSPENDED, Bot, User
from saas.models.users import ROLES
from saas.plans import PlanTable
from saas.security import KeyRing, hash_password, verify_and_upgrade
from saas.services.accounts import totp
from saas.services.accounts.audit import record_audit
from saas.services.accounts.credentials import find_user
from saas.services.accounts.users import normalize_email
from saas.services.billing.subscriptions import PlanChange, enforce_plan, set_plan
from saas.services.bots.lifecycle import pause_bot, resume_bot

# A bot paused by its owner's suspension says so, and unsuspending resumes exactly those.
SUSPENDED_BOT_REASON = "Paused: the owner's account is suspended."
MAX_REASON_LENGTH = 500
MIN_IDENTITY_NOTE = 10


class AdminActionError(ValueError):
    """The action cannot be done as asked; the message is shown on the form."""


@dataclass(frozen=True)
class Actor:
    """Who acts and from where."""

    user: User
    ip: str | None = None


def set_role(session: Session, email: str, role: str, *, now: datetime, actor=None) -> User:
    """Give the user with this address a role (user, support, admin); audited."""
    if role not in ROLES:
        raise AdminActionError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
    user = find_user(session, email)
    if user is None:
        raise AdminActionError(f"there is no user with the address {normalize_email(email)}")
    before = user.role
    user.role = role
    record_audit(
        actor,
        "admin.role_set",
        target=user,
        before={"role": before},
        after={"role": role},
        session=session,
        now=now,
    )
    return user


def suspended_login_message(session: Session, email: str, password: str) -> str | None:
    """At login: the suspension notice for a suspended account whose password is right."""
    user = find_user(session, email or "")
    if user is None or user.status != USER_SUSPENDED:
        return None
    if not verify_and_upgrade(user, password or ""):
        return None  # a wrong password learns nothing about the account
    reason = f" Reason: {user.suspended_reason}" if user.suspended_reason else ""
    return f"This account is suspended.{reason} Contact the operator of this server."


def suspend_user(
    session: Session, user: User, reason: str, *, now: datetime, actor: Actor
) -> list[int]:
    """Suspend the account: no sign-in, sessions end, running bots paused; the paused bot ids."""
    reason = " ".join((reason or "").split())[:MAX_REASON_LENGTH]
    if not reason:
        raise AdminActionError("Give a reason: the user reads it when they try to log in.")
    if user.id == actor.user.id:
        raise AdminActionError("You cannot suspend your own account.")
    if user.status == USER_SUSPENDED:
        raise AdminActionError("The account is already suspended.")
    bots = session.scalars(
        select(Bot).where(Bot.user_id == user.id, Bot.status == BOT_RUNNING).order_by(Bot.id)
    ).all()
    for bot in bots:
        pause_bot(session, bot, SUSPENDED_BOT_REASON, now=now)
    user.status, user.suspended_reason, user.suspended_at = USER_SUSPENDED, reason, now
    paused = [bot.id for bot in bots]
    record_audit(
        actor.user,
        "admin.user_suspended",
        target=user,
        before={"status": USER_ACTIVE},
        after={"status": USER_SUSPENDED, "reason": reason, "paused_bots": paused},
        ip=actor.ip,
        session=session,
        now=now,
    )
    return paused


def unsuspend_user(
    session: Session, user: User, plans: PlanTable, *, now: datetime, actor: Actor
) -> list[int]:
    """Lift a suspension: sign-in again, and the bots it paused run again; their ids."""
    if user.status != USER_SUSPENDED:
        raise AdminActionError("The account is not suspended.")
    bots = session.scalars(
        select(Bot)
        .where(
            Bot.user_id == user.id,
            Bot.status == BOT_PAUSED,
            Bot.last_error == SUSPENDED_BOT_REASON,
        )
        .order_by(Bot.id)
    ).all()
    for bot in bots:
        resume_bot(session, bot, now=now)
    before = {"status": USER_SUSPENDED, "reason": user.suspended_reason}
    user.status, user.suspended_reason, user.suspended_at = USER_ACTIVE, None, None
    session.flush()
    enforce_plan(session, user, plans, now)  # the plan may have changed meanwhile
    resumed = [bot.id for bot in bots if bot.status == BOT_RUNNING]
    record_audit(
        actor.user,
        "admin.user_unsuspended",
        target=user,
        before=before,
        after={"status": USER_ACTIVE, "resumed_bots": resumed},
        ip=actor.ip,
        session=session,
        now=now,
    )
    return resumed


def force_password_reset(session: Session, user: User, *, now: datetime, actor: Actor) -> None:
    """Replace the password with an unusable one (every session ends); the caller mails a link."""
    user.password_hash = hash_password(secrets.token_urlsafe(32))
    user.failed_logins, user.locked_until = 0, None
    record_audit(
        actor.user,
        "admin.password_reset_forced",
        target=user,
        after={"password_changed": True, "reset_link_sent": True},
        ip=actor.ip,
        session=session,
        now=now,
    )


def disable_two_factor(
    session: Session,
    user: User,
    ring: KeyRing,
    *,
    identity_note: str,
    confirm_email: str,
    admin_password: str,
    now: datetime,
    actor: Actor,
) -> None:
    """Turn a user's two-factor sign-in off after checking who asked (audited with the note).

    The administrator writes how the user's identity was checked, types the user's address and
    their own password: three deliberate steps, since this removes a protection.
    """
    note = " ".join((identity_note or "").split())[:MAX_REASON_LENGTH]
    if not user.totp_secret_encrypted:
        raise AdminActionError("Two-factor sign-in is not on for this account.")
    if len(note) < MIN_IDENTITY_NOTE:
        raise AdminActionError("Say how you checked the user's identity (at least 10 characters).")
    if normalize_email(confirm_email or "") != user.email:
        raise AdminActionError("Type the user's e-mail address exactly to confirm.")
    if not verify_and_upgrade(actor.user, admin_password or ""):
        raise AdminActionError("Your own password is not right.")
    totp.save_state(user, ring, None)
    record_audit(
        actor.user,
        "admin.two_factor_disabled",
        target=user,
        before={"totp_enabled": True},
        after={"totp_enabled": False, "identity_check": note},
        ip=actor.ip,
        session=session,
        now=now,
    )


def override_plan(
    session: Session,
    user: User,
    plan_key: str,
    until: datetime | None,
    plans: PlanTable,
    *,
    now: datetime,
    actor: Actor,
    base_url: str = "",
) -> PlanChange:
    """Give a plan by hand: with an end date it is an override over any paid plan (a comp, not
    revenue) that ends by itself; without one it is the user's manual plan (billing.set_plan)."""
    if plan_key not in plans:
        raise AdminActionError(f"Unknown plan {plan_key!r}.")
    if until is not None and until <= now:
        raise AdminActionError("The end date must be in the future.")
    if until is None:
        user.plan_override, user.plan_override_until = None, None
        return set_plan(
            session, user, plan_key, plans, now, admin=actor.user, ip=actor.ip, base_url=base_url
        )
    before = {"plan_override": user.plan_override, "until": user.plan_override_until}
    user.plan_override, user.plan_override_until = plan_key, until
    session.flush()
    paused = enforce_plan(session, user, plans, now)
    record_audit(
        actor.user,
        "admin.plan_override",
        target=user,
        before=before,
        after={"plan_override": plan_key, "until": until, "paused_bots": len(paused)},
        ip=actor.ip,
        session=session,
        now=now,
    )
    return PlanChange(user.id, before["plan_override"] or user.plan, plan_key, paused)


def end_plan_override(
    session: Session, user: User, plans: PlanTable, *, now: datetime, actor: Actor
) -> None:
    """End an override now; bots over the remaining plan are paused."""
    if not user.plan_override:
        raise AdminActionError("This account has no plan override.")
    before = {"plan_override": user.plan_override, "until": user.plan_override_until}
    user.plan_override, user.plan_override_until = None, None
    session.flush()
    enforce_plan(session, user, plans, now)
    record_audit(
        actor.user,
        "admin.plan_override_ended",
        target=user,
        before=before,
        after={"plan_override": None},
        ip=actor.ip,
        session=session,
        now=now,
    )


def note_confirmation_resent(session: Session, user: User, *, now: datetime, actor: Actor) -> None:
    """Audit that an administrator sent the confirmation link again."""
    if user.email_verified:
        raise AdminActionError("This address is already confirmed.")
    record_audit(
        actor.user,
        "admin.confirmation_resent",
        target=user,
        after={"email": user.email},
        ip=actor.ip,
        session=session,
        now=now,
    )
