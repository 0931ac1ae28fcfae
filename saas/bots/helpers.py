"""What the bots views share: the key ring, exchange settings, plan table, refusals, limits."""

from __future__ import annotations

import os
from datetime import UTC, datetime

from flask import current_app, flash, request
from flask_login import current_user

from saas.extensions import db
from saas.security import EncryptionKeyError, KeyRing
from saas.services.bots import exchange_checks
from saas.services.bots.edit import BotError

# Each connection test makes a request to the exchange on the user's behalf.
DEFAULT_KEY_CHECK_LIMIT = "20 per 10 minutes"
KEY_CHECK_SCOPE = "bots-key-check"  # one budget for every connection-test button
KEY_CHECK_FLASH = {"ok": "success", "warning": "warning", "refused": "error", "unchecked": "info"}


def now() -> datetime:
    """The request's time (services take it as an argument)."""
    return datetime.now(UTC)


def key_ring() -> KeyRing:
    """The key ring of ENCRYPTION_KEY; without one, keys cannot be stored or read."""
    try:
        return KeyRing.from_string(current_app.config.get("ENCRYPTION_KEY"))
    except EncryptionKeyError:
        current_app.logger.error("ENCRYPTION_KEY is not set or malformed; keys are unusable")
        raise BotError(
            "The server cannot store API keys right now (its encryption key is not "
            "set up); tell the operator."
        ) from None


def client_env() -> dict[str, str]:
    """Exchange base URLs and paper price settings (the environment, then the app config), and
    the server's outgoing address to whitelist (EGRESS_IP)."""
    env = exchange_checks.client_settings(os.environ, current_app.config)
    if current_app.config.get("EGRESS_IP"):
        env["EGRESS_IP"] = current_app.config["EGRESS_IP"]
    return env


def plan_table():
    """PLAN_LIMITS of the app config, when set (else the plan table of saas/plans.py)."""
    return current_app.config.get("PLAN_LIMITS")


def client_ip() -> str | None:
    """The caller's address for the audit trail."""
    return request.remote_addr


def sync_cron() -> None:
    """After a start, pause, stop or delete: rewrite the per-bot cron lines when the install
    keeps them (CRON_PER_BOT_TARGET); a failure is logged, the bot's change stands."""
    from saas.ops.cli import web_sync_settings  # noqa: PLC0415
    from saas.ops.cron_block import sync_installed_block  # noqa: PLC0415

    installed = web_sync_settings(current_app)
    if installed is not None:
        sync_installed_block(db.session, installed)


def refuse(form, exc: BotError) -> None:
    """Undo the transaction and show the reason beside its field, or as a flash."""
    db.session.rollback()
    if form is not None and exc.field and exc.field in form:
        form[exc.field].errors = [*form[exc.field].errors, exc.message]
    else:
        flash(exc.message, "error")


def report_flash(report: exchange_checks.ConnectionReport) -> None:
    """A connection test's outcome and what the exchange said of the key's permissions."""
    flash(report.message, "success" if report.ok else "error")
    if report.ok:
        category = "info" if report.key_check is None else KEY_CHECK_FLASH[report.key_check.status]
        flash(report.note, category)


def limit_key() -> str:
    """Connection tests are counted per user (per address before the login check sends an
    anonymous caller away: the limiter runs first)."""
    return f"key-check:{getattr(current_user, 'id', None) or request.remote_addr}"


def key_check_limit() -> str:
    """How many connection tests a user may start (each one calls the exchange)."""
    return current_app.config.get("KEY_CHECK_LIMIT", DEFAULT_KEY_CHECK_LIMIT)


def not_a_key_test() -> bool:
    """Only the "test connection" button of a form calls the exchange."""
    return "test" not in request.form


def check_typed_keys(exchange: str, testnet: bool, api_key: str, api_secret: str):
    """Test typed-in keys against the exchange without storing them."""
    return exchange_checks.check_connection(
        exchange,
        api_key or "",
        api_secret or "",
        testnet=bool(testnet),
        env=client_env(),
        now=now(),
    )


def key_permissions(exchange: str, testnet: bool, api_key: str, api_secret: str):
    """What the exchange says of a key about to be stored (None for paper bots)."""
    return exchange_checks.check_key(
        exchange,
        (api_key or "").strip(),
        (api_secret or "").strip(),
        testnet=bool(testnet),
        env=client_env(),
        now=now(),
    )


def refuse_key(form, check) -> bool:
    """Put a refused key's reason on the form; whether it was refused."""
    if check is None or not check.refused:
        return False
    form.api_key.errors = [*form.api_key.errors, *check.messages[:1]]
    return True
