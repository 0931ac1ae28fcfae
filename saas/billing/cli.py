"""``flask --app saas billing lapse | set-plan EMAIL PLAN``: plan upkeep from the command line."""

from __future__ import annotations

from datetime import UTC, datetime

import click
from flask import current_app

from saas.billing import bp, settings
from saas.billing.notices import send_notices
from saas.extensions import db
from saas.services.accounts.credentials import find_user
from saas.services.billing.subscriptions import lapse_overdue, set_plan


@bp.cli.command("lapse")
def lapse_command() -> None:
    """Lapse to Free every plan whose grace period has ended; pause bots over the limit."""
    ctx = settings.context(current_app.config)
    changes = lapse_overdue(db.session, ctx.plans, datetime.now(UTC), base_url=ctx.base_url)
    db.session.commit()
    for change in changes:
        send_notices(current_app._get_current_object(), change.notices)
    paused = sum(len(change.paused) for change in changes)
    click.echo(f"{len(changes)} plan(s) lapsed, {paused} bot(s) paused")


@bp.cli.command("set-plan")
@click.argument("email")
@click.argument("plan")
def set_plan_command(email: str, plan: str) -> None:
    """Set a user's plan by hand (without Stripe); bots over the new limits are paused."""
    ctx = settings.context(current_app.config)
    if plan not in ctx.plans:
        raise click.UsageError(f"unknown plan {plan!r}; choose one of {', '.join(ctx.plans)}")
    user = find_user(db.session, email)
    if user is None:
        raise click.UsageError(f"no user with the e-mail {email!r}")
    change = set_plan(db.session, user, plan, ctx.plans, datetime.now(UTC), base_url=ctx.base_url)
    db.session.commit()
    send_notices(current_app._get_current_object(), change.notices)
    click.echo(f"{user.email}: plan {plan}, {len(change.paused)} bot(s) paused")
