"""`make run` (python -m saas.devserver): the web app on http://127.0.0.1:8000 with SQLite,
its secrets kept in instance/, mails printed here, and due bots run every minute in the
background, so the demo bot trades with no cron, no keys and no network.
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import signal
import sys
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from saas import ROOT, environment

INSTANCE = ROOT / "instance"
RUNNER_PERIOD_S = 60.0
# What bot processes and the runner may see of the environment (the rest stays here).
RUNNER_CHILD_ENV = "PAPER_PRICES,PAPER_BALANCE,TELEGRAM_BOT_TOKEN"
logger = logging.getLogger("dcabot.devserver")


def instance_secret(name: str, make, directory: Path = INSTANCE) -> str:
    """The secret kept in instance/<name>, made (readable by the owner only) on first use."""
    path = directory / name
    if path.is_file() and path.read_text().strip():
        return path.read_text().strip()
    directory.mkdir(parents=True, exist_ok=True)
    value = make()
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(value + "\n")
    return value


def dev_environment(base: Mapping[str, str], directory: Path = INSTANCE) -> dict:
    """The environment of a local run: development mode, console mail, kept secrets."""
    from saas.security import generate_key  # noqa: PLC0415

    env = dict(base)
    env.setdefault("DCABOT_ENV", "development")
    env.setdefault("MAIL_BACKEND", "console")
    env.setdefault("BASE_URL", "http://127.0.0.1:8000")
    if not env.get("SECRET_KEY"):
        env["SECRET_KEY"] = instance_secret("secret_key", lambda: secrets.token_hex(32), directory)
    if not env.get("ENCRYPTION_KEY"):
        env["ENCRYPTION_KEY"] = instance_secret("encryption_key", generate_key, directory)
    env.setdefault("RUNNER_STATE_FILE", str(directory / "runner-state.json"))
    return env


class BackgroundRunner(threading.Thread):
    """Calls the runner's pass (python main.py run-due) every minute until stopped."""

    def __init__(self, env: Mapping[str, str], period: float = RUNNER_PERIOD_S):
        super().__init__(name="dcabot-runner", daemon=True)
        self.env = {**env, "RUNNER_SPAWN": "exec", "RUNNER_CHILD_ENV": RUNNER_CHILD_ENV}
        self.period = period
        self.stopped = threading.Event()

    def run_pass(self) -> dict | None:
        """One pass: claim due bots, run each in its own process, record the outcomes."""
        from workflows.runner import Runner, parse_args, settings  # noqa: PLC0415

        # A fresh `python main.py` per bot (exec): forking this threaded server is unsafe.
        runner = Runner(self.env, settings(parse_args([]), self.env))
        try:
            summary = runner.run()
        finally:
            runner.close()
        from saas.ops.runner_state import record_pass  # noqa: PLC0415

        record_pass(self.env, summary)
        if summary["claimed"]:
            logger.info("runner: %s bot run(s): %s", summary["claimed"], summary["outcomes"])
        return summary

    def run(self) -> None:
        """Pass after pass; a failing pass is logged and the next one comes anyway."""
        while not self.stopped.is_set():
            try:
                self.run_pass()
            except Exception:  # noqa: BLE001 - the web app must outlive a broken pass
                logger.exception("runner pass failed")
            self.stopped.wait(self.period)

    def stop(self) -> None:
        """Stop after the current pass."""
        self.stopped.set()


def prepare(env: dict, *, now: datetime):
    """The app with its schema, and the first-start details (admin, demo bot)."""
    from saas import create_app  # noqa: PLC0415
    from saas.config import Config  # noqa: PLC0415
    from saas.db import create_schema, database_url, make_engine  # noqa: PLC0415
    from saas.demo import first_start  # noqa: PLC0415
    from saas.extensions import db  # noqa: PLC0415

    # `flask --app saas db upgrade` before the app starts, as install.sh does (the app refuses
    # a database behind the code).
    engine = make_engine(database_url(env))
    try:
        for line in create_schema(engine):
            logging.getLogger("dcabot.dev").info("schema: %s", line)
    finally:
        engine.dispose()
    app = create_app(Config(env))
    app.config["RUNNER_STATE_FILE"] = env["RUNNER_STATE_FILE"]
    with app.app_context():
        start = first_start(db.session, env, now=now)
        db.session.commit()
    return app, start


def banner(url: str, start) -> str:
    """What to print so the person at the keyboard can log in."""
    lines = [f"dcabot web app: {url}"]
    if start.generated_password:
        lines.append(f"  log in as {start.admin_email} with password {start.generated_password}")
        lines.append("  (shown once: write it down, or set ADMIN_PASSWORD before the first start)")
    elif start.created:
        lines.append(f"  log in as {start.admin_email} with ADMIN_PASSWORD")
    elif start.admin_email:
        lines.append(
            f"  log in as {start.admin_email} (password printed at the first start; "
            "forgotten? use 'Forgot your password?': mails are printed here)"
        )
    if start.demo_bot_id:
        lines.append("  a paper-trading demo bot (BTCUSDT Long) is waiting: open Bots and start it")
    lines.append("  mails are printed here; due bots run every minute; Ctrl+C stops")
    return "\n".join(lines)


def _interrupt(_signum, _frame) -> None:
    """SIGTERM (timeout, systemd) stops the server like Ctrl+C."""
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Serve until Ctrl+C or SIGTERM."""
    from werkzeug.serving import make_server  # noqa: PLC0415

    from saas.config import ConfigError  # noqa: PLC0415
    from saas.schema_version import SchemaError  # noqa: PLC0415

    parser = argparse.ArgumentParser(prog="python -m saas.devserver", description=__doc__)
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument("--no-runner", action="store_true", help="do not run due bots")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    base = environment()
    base.setdefault("BASE_URL", f"http://{args.host}:{args.port}")
    env = dev_environment(base)
    logging.getLogger("alembic").setLevel(logging.WARNING)  # our own line says what was done
    try:
        app, start = prepare(env, now=datetime.now(UTC))
    except (SchemaError, ConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    server = make_server(args.host, args.port, app, threaded=True)
    runner = None if args.no_runner else BackgroundRunner(env)
    signal.signal(signal.SIGTERM, _interrupt)
    print(banner(f"http://{args.host}:{server.server_port}", start), flush=True)
    if runner is not None:
        runner.start()
    try:
        server.serve_forever()  # werkzeug's returns on Ctrl+C / SIGTERM
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        if runner is not None:
            runner.stop()
    print("dcabot web app stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
