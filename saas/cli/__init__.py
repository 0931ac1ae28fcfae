"""``flask --app saas``: init-db, schema, create-admin, rotate-keys, ``db`` and the operator
commands (users, bots, pairs, import-env)."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from saas.db import create_schema, safe_url, schema_sql
from saas.extensions import db


@click.command("init-db")
@with_appcontext
def init_db_command() -> None:
    """Create the schema at head on an empty database, else upgrade it (safe to run again)."""
    for line in create_schema(db.engine):
        click.echo(line)
    click.echo(f"database ready: {safe_url(db.engine.url)}")


@click.command("schema")
def schema_command() -> None:
    """Print the PostgreSQL DDL of the models (schema.sql is this output)."""
    click.echo(schema_sql(), nl=False)


@click.command("create-admin")
@click.argument("email")
@click.option("--password", help="The password; prompted for (or generated and printed once).")
@with_appcontext
def create_admin_command(email: str, password: str | None) -> None:
    """Create an administrator account."""
    from saas.services.accounts.users import AccountError, create_admin, generate_password  # noqa: PLC0415

    generated = False
    if not password:
        if sys.stdin.isatty():
            password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        else:
            password, generated = generate_password(), True
    try:
        user = create_admin(db.session, email, password)
        db.session.commit()
    except AccountError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    click.echo(f"administrator {user.email} created (id {user.id})")
    if generated:
        click.echo(f"password (shown once): {password}")


@click.command("rotate-keys")
@with_appcontext
def rotate_keys_command() -> None:
    """Re-encrypt every stored secret under the first key of ENCRYPTION_KEY."""
    from saas.security import DecryptionError, EncryptionKeyError, KeyRing  # noqa: PLC0415
    from saas.services.bots.keys import rotate_keys  # noqa: PLC0415

    try:
        ring = KeyRing.from_string(current_app.config.get("ENCRYPTION_KEY"))
        counts = rotate_keys(db.session, ring)
        db.session.commit()
    except (EncryptionKeyError, DecryptionError) as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"re-encrypted the keys of {counts['bots']} bot(s), {counts['totp_secrets']} two-factor "
        f"secret(s) and {counts['telegram_tokens']} Telegram token(s) under the first key"
    )


def register_cli(app) -> None:
    """Add the commands to ``flask --app saas``."""
    from saas.cli.bots import bots, pairs_group  # noqa: PLC0415
    from saas.cli.import_env import import_env_command  # noqa: PLC0415
    from saas.cli.users import users  # noqa: PLC0415
    from saas.db_cli import db_group  # noqa: PLC0415

    for command in (
        init_db_command,
        schema_command,
        create_admin_command,
        rotate_keys_command,
        users,
        bots,
        pairs_group,
        import_env_command,
    ):
        app.cli.add_command(command)
    app.cli.add_command(db_group)
