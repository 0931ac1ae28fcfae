"""What the operator commands share: output as a table or JSON, secrets from a prompt or stdin,
looking users and bots up, and turning refusals into one line with a non-zero exit."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from datetime import UTC, datetime

import click
from flask import current_app
from sqlalchemy import func, select

from saas.extensions import db
from saas.models import Bot, User

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")


def now() -> datetime:
    """The command's time (services take it as an argument)."""
    return datetime.now(UTC)


def fail(message: str):
    """Roll back and stop with one readable line (exit 1)."""
    db.session.rollback()
    raise click.ClickException(message)


def emit(rows: list[dict], as_json: bool, columns: Iterable[str] | None = None) -> None:
    """Rows as JSON, or as an aligned table of ``columns``."""
    if as_json:
        click.echo(json.dumps(rows, indent=2, default=str))
        return
    columns = list(columns or (rows[0].keys() if rows else []))
    if not rows:
        click.echo("(none)")
        return
    texts = [[("" if r.get(c) is None else str(r.get(c))) for c in columns] for r in rows]
    widths = [max(len(c), *(len(t[i]) for t in texts)) for i, c in enumerate(columns)]
    click.echo("  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True)))
    for row in texts:
        click.echo("  ".join(t.ljust(w) for t, w in zip(row, widths, strict=True)).rstrip())


def read_secret_pair(from_stdin: bool, first: str, second: str) -> tuple[str, str]:
    """Two secrets: two lines of stdin, or two hidden prompts; never from the command line."""
    if from_stdin:
        lines = sys.stdin.read().splitlines()
        values = [line.strip() for line in lines if line.strip()]
        if len(values) != 2:
            fail(f"stdin must hold two lines: the {first}, then the {second}")
        return values[0], values[1]
    return (
        click.prompt(first.capitalize(), hide_input=True),
        click.prompt(second.capitalize(), hide_input=True),
    )


def find_user(email: str) -> User:
    """The user with this e-mail, or a one-line failure."""
    user = db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    if user is None:
        fail(f"no user with e-mail {email}")
    return user


def find_bot(bot_id: int) -> Bot:
    """The bot with this id, or a one-line failure."""
    bot = db.session.get(Bot, bot_id)
    if bot is None:
        fail(f"bot {bot_id} does not exist")
    return bot


def key_ring():
    """The key ring of ENCRYPTION_KEY, or a one-line failure."""
    from saas.security import EncryptionKeyError, KeyRing  # noqa: PLC0415

    try:
        return KeyRing.from_string(current_app.config.get("ENCRYPTION_KEY"))
    except EncryptionKeyError as exc:
        fail(str(exc))


def plan_limits():
    """The bots pages' plan table (PLAN_LIMITS)."""
    return current_app.config.get("PLAN_LIMITS")
