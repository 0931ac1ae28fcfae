"""The operator commands: users, bots, pairs, import-env; tables or JSON; keys never in argv."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from sqlalchemy import select

from saas.models import AuditLog, Bot, TradingPair, User
from saas.security import KeyRing, bot_credentials

ROOT = Path(__file__).resolve().parents[2]
KEY, SECRET = "CLI-KEY-aaaa-1111", "CLI-SECRET-bbbb-2222"


def cli(app, *args: str, stdin: str | None = None):
    """Run `flask --app saas <args>` in-process."""
    return app.test_cli_runner().invoke(args=list(args), input=stdin)


def ok(app, *args: str, stdin: str | None = None):
    """A successful command's JSON (with --json) or text."""
    result = cli(app, *args, stdin=stdin)
    assert result.exit_code == 0, result.output
    return json.loads(result.output) if "--json" in args else result.output


def make_user(app, email="op@example.com", plan=None):
    """A user made by `users create` with the password from stdin."""
    extra = ("--plan", plan) if plan else ()
    return ok(app, "users", "create", email, "--password-stdin", *extra, "--json", stdin="pw\n")[0]


def test_users_create_list_and_set_plan(app):
    made = make_user(app)
    assert (made["email"], made["verified"], made["plan"]) == ("op@example.com", True, "free")
    ok(app, "users", "set-plan", "op@example.com", "pro")
    listed = ok(app, "users", "list", "--json")
    assert [(u["email"], u["plan"]) for u in listed] == [("op@example.com", "pro")]
    table = ok(app, "users", "list")
    assert table.splitlines()[0].split()[:3] == ["ID", "EMAIL", "ROLE"]
    assert "op@example.com" in table


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("users", "set-plan", "op@example.com", "basic"), "unknown plan 'basic'"),
        (("users", "set-plan", "nobody@example.com", "pro"), "no user with e-mail"),
        (("bots", "show", "99"), "bot 99 does not exist"),
        (("bots", "start", "99"), "bot 99 does not exist"),
        (("pairs", "remove", "1", "99"), "bot 1 has no pair 99"),
    ],
)
def test_bad_input_is_one_line_and_a_non_zero_exit(app, args, message):
    make_user(app)
    ok(app, "bots", "create", "--user", "op@example.com", "--name", "p", "--json")
    result = cli(app, *args)
    assert result.exit_code != 0
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in result.output


def test_bots_create_with_keys_from_stdin_stores_them_encrypted_and_never_prints_them(app, caplog):
    make_user(app)
    caplog.set_level(logging.DEBUG)
    result = cli(
        app,
        "bots",
        "create",
        "--user",
        "op@example.com",
        "--name",
        "Live",
        "--exchange",
        "bybit",
        "--keys-from-stdin",
        "--json",
        stdin=f"{KEY}\n{SECRET}\n",
    )
    assert result.exit_code == 0, result.output
    assert KEY not in result.output and SECRET not in result.output
    assert KEY not in caplog.text and SECRET not in caplog.text
    bot_id = json.loads(result.output)[0]["id"]
    with app.app_context():
        from saas.extensions import db  # noqa: PLC0415

        bot = db.session.get(Bot, bot_id)
        assert KEY not in bot.api_key_encrypted
        ring = KeyRing.from_string(app.config["ENCRYPTION_KEY"])
        assert bot_credentials(bot, ring) == (KEY, SECRET)
        audits = db.session.scalars(select(AuditLog)).all()
        assert all(KEY not in str(a.after) for a in audits)


def test_no_command_takes_a_key_secret_or_password_on_the_command_line(app):
    secret_words = ("key", "secret", "password", "token")
    for name in ("users", "bots", "pairs", "import-env"):
        command = app.cli.get_command(click.Context(app.cli), name)
        commands = command.commands.values() if isinstance(command, click.Group) else [command]
        for sub in commands:
            for param in sub.params:
                if isinstance(param, click.Option) and not param.is_flag:
                    assert not any(w in param.name for w in secret_words), (sub.name, param.name)
            assert sub.get_help(click.Context(sub))  # every command has --help


def test_set_keys_reads_stdin_and_a_subprocess_never_sees_the_key_in_argv(app, tmp_path):
    make_user(app)
    bot = ok(
        app,
        "bots",
        "create",
        "--user",
        "op@example.com",
        "--name",
        "B",
        "--exchange",
        "bybit",
        "--keys-from-stdin",
        "--json",
        stdin="k1-old-0000\ns1-old-0000\n",
    )[0]
    env = {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "ENCRYPTION_KEY": app.config["ENCRYPTION_KEY"],
        "DCABOT_ENV": "development",
    }
    args = [
        sys.executable,
        "-m",
        "flask",
        "--app",
        "saas",
        "bots",
        "set-keys",
        str(bot["id"]),
        "--keys-from-stdin",
    ]
    done = subprocess.run(
        args,
        input=f"{KEY}\n{SECRET}\n",
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert KEY not in " ".join(args) and KEY not in done.stdout + done.stderr
    assert done.stdout.strip() == f"keys of bot {bot['id']} stored (ending in {KEY[-4:]})"
    with app.app_context():
        from saas.extensions import db  # noqa: PLC0415

        stored = db.session.get(Bot, bot["id"])
        ring = KeyRing.from_string(app.config["ENCRYPTION_KEY"])
        assert bot_credentials(stored, ring) == (KEY, SECRET)


def test_bots_list_show_start_stop_and_pairs(app):
    make_user(app)
    bot = ok(app, "bots", "create", "--user", "op@example.com", "--name", "Paper", "--json")[0]
    assert "active trading pair" in cli(app, "bots", "start", str(bot["id"])).output
    pair = ok(
        app,
        "pairs",
        "add",
        str(bot["id"]),
        "BTCUSDT",
        "Long",
        "--leverage",
        "5",
        "--ema-interval",
        "5",
        "--param",
        "use_postonly=false",
        "--json",
    )[0]
    assert (pair["symbol"], pair["leverage"], pair["ema_interval"]) == ("BTCUSDT", "5", 5)
    assert ok(app, "bots", "start", str(bot["id"])).strip() == f"bot {bot['id']} started"
    listed = ok(app, "bots", "list", "--user", "op@example.com", "--json")
    assert [(b["name"], b["status"], b["pairs"]) for b in listed] == [("Paper", "running", 1)]
    shown = ok(app, "bots", "show", str(bot["id"]))
    assert "status: running" in shown and "BTCUSDT" in shown
    assert [p["symbol"] for p in ok(app, "pairs", "list", str(bot["id"]), "--json")] == ["BTCUSDT"]
    assert "stopped" in ok(app, "bots", "stop", str(bot["id"]))
    ok(app, "pairs", "remove", str(bot["id"]), str(pair["id"]))
    with app.app_context():
        from saas.extensions import db  # noqa: PLC0415

        assert db.session.scalars(select(TradingPair)).all() == []
        actions = [a.action for a in db.session.scalars(select(AuditLog).order_by(AuditLog.id))]
    assert actions == ["bot.create", "pair.create", "bot.start", "bot.stop", "pair.delete"]


def test_plan_limits_apply_to_the_cli_as_to_the_pages(app):
    make_user(app)
    ok(app, "bots", "create", "--user", "op@example.com", "--name", "one", "--json")
    refused = cli(
        app,
        "bots",
        "create",
        "--user",
        "op@example.com",
        "--name",
        "two",
        "--exchange",
        "bybit",
        "--mainnet",
        "--keys-from-stdin",
        stdin="k\ns\n",
    )
    assert refused.exit_code != 0
    with app.app_context():
        from saas.extensions import db  # noqa: PLC0415

        assert len(db.session.scalars(select(Bot)).all()) == 1
        assert db.session.scalars(select(User)).one().plan == "free"
