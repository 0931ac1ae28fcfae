"""The account mails: links are built from BASE_URL, never from the request's Host header."""

from __future__ import annotations

import logging

from flask import current_app, url_for

from saas.mail import Mail, MailError, send_mail
from saas.models import User
from saas.services.accounts.tokens import email_verification_token, password_reset_token

logger = logging.getLogger("dcabot.web")


def absolute_url(endpoint: str, **values) -> str:
    """BASE_URL followed by the endpoint's path."""
    return current_app.config["BASE_URL"].rstrip("/") + url_for(endpoint, **values)


def deliver(to: str, subject: str, body: str) -> bool:
    """Send a mail; False (and a log line without its content) when the server refused it."""
    try:
        send_mail(current_app, Mail(to=to, subject=subject, body=body))
        return True
    except MailError as exc:
        logger.warning("mail not sent: %s", exc, extra={"subject": subject})
        return False


def send_verification(user: User) -> bool:
    """The link that confirms the user's address."""
    token = email_verification_token(current_app.secret_key, user)
    hours = int(current_app.config["EMAIL_VERIFY_MAX_AGE"]) // 3600
    link = absolute_url("auth.verify_email", token=token)
    return deliver(
        user.email,
        "Confirm your e-mail address for dcabot",
        (
            f"Hello,\n\nplease confirm that {user.email} is your address by opening this link "
            f"within {hours} hours:\n\n{link}\n\n"
            "If you did not create a dcabot account, ignore this mail.\n"
        ),
    )


def send_already_registered(user: User) -> bool:
    """Someone registered with an address that has an account: tell its owner, nobody else."""
    link = absolute_url("auth.forgot_password")
    return deliver(
        user.email,
        "Your dcabot account",
        (
            "Hello,\n\nsomeone (perhaps you) tried to create a dcabot account with this address, "
            f"which already has one. If you forgot your password, set a new one here:\n\n{link}\n\n"
            "If it was not you, ignore this mail; nothing has changed.\n"
        ),
    )


def send_password_reset(user: User) -> bool:
    """A link that sets a new password once."""
    token = password_reset_token(current_app.secret_key, user)
    minutes = int(current_app.config["PASSWORD_RESET_MAX_AGE"]) // 60
    link = absolute_url("auth.reset_password", token=token)
    return deliver(
        user.email,
        "Set a new dcabot password",
        (
            f"Hello,\n\nopen this link within {minutes} minutes to choose a new password. It works "
            f"once:\n\n{link}\n\nIf you did not ask for it, ignore this mail; your password stays "
            "as it is.\n"
        ),
    )


def send_password_changed(user: User) -> bool:
    """A notice after the password changed (a stolen session would otherwise go unnoticed)."""
    link = absolute_url("auth.forgot_password")
    return deliver(
        user.email,
        "Your dcabot password was changed",
        (
            "Hello,\n\nthe password of your dcabot account was just changed and other devices were "
            f"logged out. If that was not you, set a new password now:\n\n{link}\n"
        ),
    )


def send_email_changed(old_address: str, new_address: str) -> bool:
    """A notice to the old address after the account moved to a new one."""
    return deliver(
        old_address,
        "Your dcabot e-mail address was changed",
        (
            f"Hello,\n\nyour dcabot account now uses {new_address} instead of this address. "
            "If that was not you, reply to your administrator at once.\n"
        ),
    )
