"""``flask --app saas db``: upgrade, downgrade, current, history, heads, stamp, check, revision."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from saas.db import safe_url


def _engine():
    """The app's engine (the command runs inside its app context)."""
    from saas.extensions import db  # noqa: PLC0415

    return db.engine


def _fail(exc: Exception) -> None:
    """One line on stderr and exit 1: the operator reads it, the JSON log keeps the rest."""
    reason = " ".join(str(getattr(exc, "orig", None) or exc).split()) or type(exc).__name__
    click.echo(f"error: {reason}", err=True)
    sys.exit(1)


@click.group("db")
def db_group() -> None:
    """Schema migrations (Alembic): bring the database to the code's revision and back."""


@db_group.command("upgrade")
@click.argument("revision", default="head")
@with_appcontext
def upgrade_command(revision: str) -> None:
    """Apply the migrations up to REVISION (default: head); safe to run again."""
    from saas.migrate import upgrade  # noqa: PLC0415

    engine = _engine()
    try:
        for line in upgrade(engine, revision):
            click.echo(line)
    except Exception as exc:  # noqa: BLE001 - any failure is one line; the transaction rolled back
        _fail(exc)
    click.echo(f"upgraded: {safe_url(engine.url)}")


@db_group.command("downgrade")
@click.argument("revision")
@with_appcontext
def downgrade_command(revision: str) -> None:
    """Undo migrations down to REVISION (an id, -1 for one step, or base for none)."""
    from saas.migrate import downgrade  # noqa: PLC0415

    try:
        click.echo(downgrade(_engine(), revision))
    except Exception as exc:  # noqa: BLE001
        _fail(exc)


@db_group.command("current")
@with_appcontext
def current_command() -> None:
    """Print the database's revision and whether it matches the code."""
    from saas.schema_version import code_heads, database_state, problem  # noqa: PLC0415

    state = database_state(_engine())
    click.echo(f"database: {', '.join(state.revisions) or '(none)'}")
    click.echo(f"code:     {', '.join(code_heads())}")
    reason = problem(state)
    click.echo("up to date" if reason is None else reason)


@db_group.command("history")
def history_command() -> None:
    """List every revision, newest first."""
    from saas.migrate import history  # noqa: PLC0415

    for line in history():
        click.echo(line)


@db_group.command("heads")
def heads_command() -> None:
    """Print the code's head revision(s)."""
    from saas.schema_version import code_heads  # noqa: PLC0415

    for head in code_heads():
        click.echo(head)


@db_group.command("stamp")
@click.argument("revision")
@with_appcontext
def stamp_command(revision: str) -> None:
    """Record REVISION as applied without running it (for repairs; see docs/DATA_MODEL.md)."""
    from saas.migrate import stamp  # noqa: PLC0415

    try:
        stamp(_engine(), revision)
    except Exception as exc:  # noqa: BLE001
        _fail(exc)
    click.echo(f"stamped {revision}")


@db_group.command("check")
@with_appcontext
def check_command() -> None:
    """Exit 1 when the models differ from the database (a model changed without a revision)."""
    from saas.migrate import autogenerate_diff  # noqa: PLC0415

    diff = autogenerate_diff(_engine())
    for change in diff:
        click.echo(f"not in a revision: {change}", err=True)
    if diff:
        sys.exit(1)
    click.echo("models and database agree")


@db_group.command("revision")
@click.option("-m", "--message", required=True, help="What the revision does, one line.")
@click.option("--rev-id", help="The revision id, e.g. 0002_notifications (default: generated).")
@with_appcontext
def revision_command(message: str, rev_id: str | None) -> None:
    """Write a new revision from what autogenerate finds (the database must be at head)."""
    from alembic import command  # noqa: PLC0415

    from saas.migrate import alembic_config  # noqa: PLC0415

    with _engine().begin() as connection:
        command.revision(
            alembic_config(connection), message=message, autogenerate=True, rev_id=rev_id
        )
