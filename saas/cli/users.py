"""`flask --app saas users create|list|set-plan`."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import func, select

from saas.cli.common import emit, fail, find_user, json_option, now
from saas.extensions import db
from saas.models import ROLE_ADMIN, ROLE_USER, Bot, User

users = AppGroup("users", help="Create and list users and set their plans.")


def user_row(user: User, bots: int) -> dict:
    """One user as the list shows it."""
    return {
        "id": user.id,
        "email": user.email,
        "role": user.role,
        "status": user.status,
        "plan": user.plan,
        "verified": user.email_verified,
        "bots": bots,
    }


@users.command("create")
@click.argument("email")
@click.option("--admin", is_flag=True, help="An administrator instead of a user.")
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from stdin (else it is prompted)."
)
@click.option("--plan", default=None, help="Put the new user on this plan (as set-plan does).")
@json_option
def create_user_command(
    email: str, admin: bool, password_stdin: bool, plan: str | None, as_json: bool
) -> None:
    """Create a verified user; the password comes from a prompt or stdin, never the command."""
    from saas.services.accounts.users import AccountError, create_user  # noqa: PLC0415

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = create_user(
            db.session,
            email,
            password,
            role=ROLE_ADMIN if admin else ROLE_USER,
            email_verified=True,
        )
    except AccountError as exc:
        fail(str(exc))
    if plan:
        _set_plan(user, plan)
    db.session.commit()
    emit([user_row(user, 0)], as_json)


@users.command("list")
@json_option
def list_users_command(as_json: bool) -> None:
    """Every user with their role, status, plan and number of bots."""
    query = select(Bot.user_id, func.count(Bot.id)).group_by(Bot.user_id)
    counts = {user_id: count for user_id, count in db.session.execute(query)}
    rows = [
        user_row(u, counts.get(u.id, 0)) for u in db.session.scalars(select(User).order_by(User.id))
    ]
    emit(rows, as_json)


def _set_plan(user: User, plan: str):
    """Set the plan through the billing service (audited; bots over the plan are paused)."""
    from saas.billing.settings import plan_settings  # noqa: PLC0415
    from saas.plans import PlanConfigError, load_plans  # noqa: PLC0415
    from saas.services.billing.subscriptions import set_plan  # noqa: PLC0415

    try:
        plans = load_plans(plan_settings(current_app.config))
        return set_plan(db.session, user, plan.strip().lower(), plans, now())
    except (ValueError, PlanConfigError) as exc:
        fail(str(exc))


@users.command("set-plan")
@click.argument("email")
@click.argument("plan")
@json_option
def set_plan_command(email: str, plan: str, as_json: bool) -> None:
    """Put a user on a plan by hand (no Stripe); bots over its limits are paused."""
    user = find_user(email)
    change = _set_plan(user, plan)
    db.session.commit()
    row = user_row(user, len(user_bots(user)))
    row["paused_bots"] = list(change.paused)
    emit([row], as_json)


def user_bots(user: User) -> list[Bot]:
    """The user's bots."""
    return list(db.session.scalars(select(Bot).where(Bot.user_id == user.id)))
