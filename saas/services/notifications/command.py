"""``python main.py deliver``: send what the outbox holds (once, or every few seconds with --loop).

Run by the same crontab line or systemd timer as the runner; ``make run`` runs it in a thread.
A database failure reaches OPS_ALERT_EMAIL directly (the outbox is unreachable then).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

logger = logging.getLogger("dcabot.deliver")
DEFAULT_INTERVAL_S = 5.0


def updates_mode(config: Mapping) -> str:
    """How Telegram updates arrive: "webhook" (a secret is set), "poll", or "off"."""
    if config.get("TELEGRAM_WEBHOOK_SECRET"):
        return "webhook"
    if config.get("TELEGRAM_BOT_TOKEN") and config.get("TELEGRAM_BOT_USERNAME"):
        return "poll"
    return "off"


def poll_telegram(ctx, now: datetime) -> int:
    """getUpdates once when the platform bot has no webhook; links made."""
    from notifications.telegram import DEFAULT_API_BASE, NotificationError, TelegramAPI  # noqa: PLC0415
    from saas.services.notifications.telegram_link import poll_updates  # noqa: PLC0415

    if updates_mode(ctx.config) != "poll":
        return 0
    api = TelegramAPI(
        ctx.config["TELEGRAM_BOT_TOKEN"],
        api_base=ctx.config.get("TELEGRAM_API_BASE") or DEFAULT_API_BASE,
    )
    try:
        return poll_updates(ctx.sessions, api, now=now)
    except NotificationError as exc:
        logger.warning("telegram getUpdates failed: %s", exc)
        return 0


def ops_mailer(ctx) -> Callable:
    """Send an event straight to OPS_ALERT_EMAIL (for when the database is down)."""
    from notifications.email import build_mail  # noqa: PLC0415

    def send(event) -> None:
        to = ctx.config.get("OPS_ALERT_EMAIL")
        if to:
            sender = ctx.config.get("MAIL_DEFAULT_SENDER", "dcabot <noreply@localhost>")
            ctx.send_mail(build_mail([event], sender=sender, to=to))

    return send


def run_pass(ctx, alarm, clock: Callable[[], datetime]) -> dict | None:
    """One pass; a database error is alarmed and reported, never a traceback."""
    from sqlalchemy.exc import SQLAlchemyError  # noqa: PLC0415

    from saas.services.notifications.worker import deliver_pass  # noqa: PLC0415

    now = clock()
    try:
        summary = deliver_pass(ctx, now)
        summary["telegram_links"] = poll_telegram(ctx, now)
    except SQLAlchemyError as exc:
        alarm(exc)
        logger.error("delivery pass failed: database error (%s)", type(exc).__name__)
        return None
    return summary


class BackgroundDeliverer(threading.Thread):
    """The devserver's delivery thread: a pass every few seconds until stopped."""

    def __init__(self, app, period: float = DEFAULT_INTERVAL_S):
        super().__init__(name="dcabot-deliver", daemon=True)
        from saas.services.notifications.ops import DatabaseErrorAlarm  # noqa: PLC0415
        from saas.services.notifications.worker import context_from_app  # noqa: PLC0415

        self.ctx = context_from_app(app)
        self.alarm = DatabaseErrorAlarm(ops_mailer(self.ctx))
        self.period = period
        self.stopped = threading.Event()

    def run(self) -> None:
        """Pass after pass; a failing pass is logged and the next one comes anyway."""
        while not self.stopped.is_set():
            try:
                run_pass(self.ctx, self.alarm, lambda: datetime.now(UTC))
            except Exception:  # noqa: BLE001 - the web app must outlive a broken pass
                logger.exception("delivery pass failed")
            self.stopped.wait(self.period)

    def stop(self) -> None:
        """Stop after the current pass."""
        self.stopped.set()


def parse_args(argv: list[str]) -> argparse.Namespace:
    """--loop and --interval."""
    parser = argparse.ArgumentParser(prog="python main.py deliver", description=__doc__)
    parser.add_argument("--loop", action="store_true", help="keep delivering until stopped")
    parser.add_argument("--interval", type=float, default=DEFAULT_INTERVAL_S, metavar="SECONDS")
    parser.add_argument("--env-file", help="read settings from this file first (the crontab's)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Deliver once (cron) or in a loop; exit 1 with one line when the database failed."""
    from saas import create_app, environment  # noqa: PLC0415
    from saas.config import Config, ConfigError  # noqa: PLC0415
    from saas.services.notifications.ops import DatabaseErrorAlarm  # noqa: PLC0415
    from saas.services.notifications.worker import context_from_app  # noqa: PLC0415

    args = parse_args(list(argv or []))
    if args.interval <= 0:
        print("error: --interval must be above 0 seconds", file=sys.stderr)
        return 2
    from main import configure_logging  # noqa: PLC0415
    from workflows.runner import RunnerConfigError, load_env_file  # noqa: PLC0415

    configure_logging()
    try:
        app = create_app(Config(load_env_file(args.env_file, environment())))
    except (ConfigError, RunnerConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    ctx = context_from_app(app)
    alarm = DatabaseErrorAlarm(ops_mailer(ctx))
    clock = lambda: datetime.now(UTC)  # noqa: E731
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    while True:
        summary = run_pass(ctx, alarm, clock)
        if summary is None and not args.loop:
            print("error: delivery failed: the database is unreachable or broken", file=sys.stderr)
            return 1
        if summary:
            logger.info("delivery pass", extra={"json": summary})
        if not args.loop or stop.wait(args.interval):
            return 0
