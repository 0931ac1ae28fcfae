"""`flask --app saas import-env --user EMAIL FILE`: a bot from the single-user bot's `.env`."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from saas.cli.common import emit, fail, find_user, json_option, key_ring, now, plan_limits
from saas.extensions import db


@click.command("import-env")
@click.option("--user", "email", required=True, help="The owner's e-mail.")
@click.option("--name", default="Imported bot", show_default=True, help="The new bot's name.")
@click.option("--dry-run", is_flag=True, help="Show what the file holds; create nothing.")
@click.argument("file", type=click.File("r"))
@json_option
@with_appcontext
def import_env_command(email: str, name: str, dry_run: bool, file, as_json: bool) -> None:
    """Create a stopped bot from a `.env` (FILE, or - for stdin), parsed as main.py parses it.

    API keys go straight to the encryption and are never printed; nothing is created when
    any setting is wrong.
    """
    from saas.services.bots.edit import BotError  # noqa: PLC0415
    from saas.services.bots.import_env import (  # noqa: PLC0415
        ImportEnvError,
        create_imported_bot,
        parse_env,
    )

    user = find_user(email)
    try:
        imported = parse_env(file.read())
    except (ImportEnvError, UnicodeDecodeError) as exc:
        fail(f"{getattr(file, 'name', 'the file')}: {exc}")
    summary = imported.summary()
    if dry_run:
        emit([summary], True) if as_json else _describe(summary)
        return
    ring = key_ring() if imported.exchange != "paper" or imported.telegram_bot_token else None
    try:
        bot = create_imported_bot(
            db.session, user, imported, name, ring=ring, now=now(), plans=plan_limits()
        )
    except BotError as exc:
        fail(exc.message)
    db.session.commit()
    summary["bot_id"] = bot.id
    if as_json:
        emit([summary], True)
    else:
        _describe(summary)
        click.echo(f"created bot {bot.id} ({bot.name!r}, stopped); start it when ready")


def _describe(summary: dict) -> None:
    """The findings as lines."""
    network = "testnet" if summary["testnet"] else "MAINNET"
    keys = "found" if summary["keys_found"] else "not in the file"
    click.echo(f"exchange: {summary['exchange']} ({network}); API keys {keys}")
    chat = summary["telegram_chat_id"]
    click.echo(f"telegram: {'chat ' + chat if chat else 'off'}")
    for p in summary["pairs"]:
        mode = "auto" if p["automatic_mode"] else "manual"
        extra = f" {p['params']}" if p["params"] else ""
        click.echo(
            f"pair: {p['symbol']} {p['side']} {mode}, {p['leverage']}x, EMA {p['ema_interval']} "
            f"min, {p['strategy']}{extra}"
        )
