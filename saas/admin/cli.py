"""``flask --app saas set-role EMAIL ROLE``: give an account the user, support or admin role."""

from __future__ import annotations

from datetime import UTC, datetime

import click
from flask.cli import with_appcontext

from saas.admin import bp
from saas.extensions import db
from saas.models.users import ROLES


@bp.cli.command("set-role")
@click.argument("email")
@click.argument("role")
@with_appcontext
def set_role_command(email: str, role: str) -> None:
    """Give the account with this e-mail a role (user, support or admin); audited."""
    from saas.services.admin.accounts import AdminActionError, set_role  # noqa: PLC0415

    if role not in ROLES:
        raise click.ClickException(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
    try:
        user = set_role(db.session, email, role, now=datetime.now(UTC))
        db.session.commit()
    except AdminActionError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    click.echo(f"{user.email} is {role} now")
