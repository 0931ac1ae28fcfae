"""`flask --app saas bots create|list|show|set-keys|start|stop` and `pairs add|list|remove`.

Each acts as the bot's owner through the same services as the pages (plan limits, audit rows);
keys come from a hidden prompt or stdin, never from the command line.
"""

from __future__ import annotations

from decimal import Decimal

import click
from flask.cli import AppGroup
from sqlalchemy import select

from saas.cli.common import (
    emit,
    fail,
    find_bot,
    find_user,
    json_option,
    key_ring,
    now,
    plan_limits,
    read_secret_pair,
)
from saas.extensions import db
from saas.models import EXCHANGES, Bot
from saas.services.bots import edit, pairs
from saas.services.bots.edit import BotError, NewBot
from saas.services.bots.pairs import PairInput

bots = AppGroup("bots", help="Create, list, show, start and stop bots and set their keys.")
pairs_group = AppGroup("pairs", help="Add, list and remove a bot's trading pairs.")
keys_option = click.option(
    "--keys-from-stdin",
    is_flag=True,
    help="Read the API key and secret as two lines of stdin (else they are prompted).",
)


def bot_row(bot: Bot) -> dict:
    """One bot as the list shows it (never its keys)."""
    return {
        "id": bot.id,
        "user": bot.user.email,
        "name": bot.name,
        "exchange": bot.exchange,
        "testnet": bot.testnet,
        "status": bot.status,
        "interval": bot.run_interval_minutes,
        "pairs": len(bot.active_pairs),
        "keys": bool(bot.api_key_encrypted),
        "next_run_at": bot.next_run_at.isoformat() if bot.next_run_at else None,
    }


def pair_row(pair) -> dict:
    """One pair as the list shows it."""
    return {
        "id": pair.id,
        "bot": pair.bot_id,
        "symbol": pair.symbol,
        "side": pair.side,
        "leverage": format(pair.leverage, "f"),
        "ema_interval": pair.ema_interval,
        "auto": pair.automatic_mode,
        "active": pair.is_active,
        "strategy": pair.strategy,
    }


def _sync_cron() -> None:
    """Keep per-bot cron lines current when the install uses them."""
    from saas.bots.helpers import sync_cron  # noqa: PLC0415

    sync_cron()


@bots.command("create")
@click.option("--user", "email", required=True, help="The owner's e-mail.")
@click.option("--name", required=True, help="The bot's name (unique per user).")
@click.option("--exchange", type=click.Choice(EXCHANGES), default="paper", show_default=True)
@click.option("--mainnet", is_flag=True, help="Trade real money (the default is the testnet).")
@keys_option
@json_option
def create_bot_command(
    email: str, name: str, exchange: str, mainnet: bool, keys_from_stdin: bool, as_json: bool
) -> None:
    """Create a stopped bot; a real-exchange bot's keys are read and encrypted at once."""
    user = find_user(email)
    key = secret = ""
    ring = None
    if exchange != "paper":
        key, secret = read_secret_pair(keys_from_stdin, "API key", "API secret")
        ring = key_ring()
    try:
        bot = edit.create_user_bot(
            db.session,
            user,
            NewBot(name, exchange, not mainnet, key, secret),
            ring=ring,
            plans=plan_limits(),
        )
    except BotError as exc:
        fail(exc.message)
    db.session.commit()
    emit([bot_row(bot)], as_json)


@bots.command("list")
@click.option("--user", "email", help="Only this user's bots.")
@json_option
def list_bots_command(email: str | None, as_json: bool) -> None:
    """Every bot (or one user's) with status, pairs and next run."""
    query = select(Bot).order_by(Bot.id)
    if email:
        query = query.where(Bot.user_id == find_user(email).id)
    emit([bot_row(b) for b in db.session.scalars(query)], as_json)


@bots.command("show")
@click.argument("bot_id", type=int)
@json_option
def show_bot_command(bot_id: int, as_json: bool) -> None:
    """A bot with its pairs."""
    bot = find_bot(bot_id)
    row = bot_row(bot)
    row["last_outcome"], row["last_error"] = bot.last_outcome, bot.last_error
    if as_json:
        emit([{**row, "pairs": [pair_row(p) for p in bot.pairs]}], True)
        return
    for name, value in row.items():
        click.echo(f"{name}: {'-' if value is None else value}")
    click.echo("")
    emit([pair_row(p) for p in bot.pairs], False)


@bots.command("set-keys")
@click.argument("bot_id", type=int)
@keys_option
def set_keys_command(bot_id: int, keys_from_stdin: bool) -> None:
    """Store new API keys for a bot (encrypted bound to it); the keys are never printed."""
    bot = find_bot(bot_id)
    key, secret = read_secret_pair(keys_from_stdin, "API key", "API secret")
    try:
        edit.replace_bot_keys(db.session, bot.user, bot.id, key, secret, ring=key_ring())
    except BotError as exc:
        fail(exc.message)
    db.session.commit()
    click.echo(f"keys of bot {bot.id} stored (ending in {key[-4:]})")


def _lifecycle(bot_id: int, service, done: str, **extra) -> None:
    """Run a start or stop service as the bot's owner."""
    bot = find_bot(bot_id)
    try:
        service(db.session, bot.user, bot.id, now=now(), **extra)
    except BotError as exc:
        fail(exc.message)
    db.session.commit()
    _sync_cron()
    click.echo(f"bot {bot.id} {done}")


@bots.command("start")
@click.argument("bot_id", type=int)
def start_bot_command(bot_id: int) -> None:
    """Start (or resume) a bot; refused without an active pair, keys or plan room."""
    _lifecycle(bot_id, edit.start_user_bot, "started", plans=plan_limits())


@bots.command("stop")
@click.argument("bot_id", type=int)
def stop_bot_command(bot_id: int) -> None:
    """Stop a bot (its positions stay on the exchange)."""
    _lifecycle(bot_id, edit.stop_user_bot, "stopped")


def _params(values: tuple[str, ...]) -> dict[str, str]:
    """NAME=VALUE strategy parameters."""
    found = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            fail(f"--param {item!r} must look like NAME=VALUE")
        found[name.strip()] = value.strip()
    return found


@pairs_group.command("add")
@click.argument("bot_id", type=int)
@click.argument("symbol")
@click.argument("side", type=click.Choice(["Long", "Short"]))
@click.option("--leverage", default="10", show_default=True)
@click.option("--ema-interval", type=int, default=1, show_default=True, help="Minutes.")
@click.option("--manual", is_flag=True, help="Automatic mode off (the bot only manages).")
@click.option("--strategy", default="martingale", show_default=True)
@click.option("--param", "params", multiple=True, help="A strategy parameter, NAME=VALUE.")
@json_option
def add_pair_command(
    bot_id, symbol, side, leverage, ema_interval, manual, strategy, params, as_json
) -> None:
    """Add a trading pair to a bot (within its owner's plan)."""
    bot = find_bot(bot_id)
    data = PairInput(
        symbol, side, Decimal(leverage), ema_interval, not manual, True, strategy, _params(params)
    )
    try:
        pair = pairs.add_pair(db.session, bot.user, bot.id, data, plans=plan_limits())
    except (BotError, ArithmeticError) as exc:
        fail(getattr(exc, "message", str(exc)))
    db.session.commit()
    emit([pair_row(pair)], as_json)


@pairs_group.command("list")
@click.argument("bot_id", type=int)
@json_option
def list_pairs_command(bot_id: int, as_json: bool) -> None:
    """A bot's pairs."""
    emit([pair_row(p) for p in find_bot(bot_id).pairs], as_json)


@pairs_group.command("remove")
@click.argument("bot_id", type=int)
@click.argument("pair_id", type=int)
def remove_pair_command(bot_id: int, pair_id: int) -> None:
    """Remove a pair (its orders and trades stay in the history)."""
    from werkzeug.exceptions import NotFound  # noqa: PLC0415

    bot = find_bot(bot_id)
    try:
        pairs.delete_pair(db.session, bot.user, bot.id, pair_id)
    except NotFound:
        fail(f"bot {bot_id} has no pair {pair_id}")
    except BotError as exc:
        fail(exc.message)
    db.session.commit()
    click.echo(f"pair {pair_id} removed from bot {bot_id}")
