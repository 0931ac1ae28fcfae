"""Sending mail: SMTP with the MAIL_* settings, the console in development, memory in tests.

Mails carry sign-in links, so their bodies are never logged; only the console backend of
``make run`` prints them, on purpose, for the person at the keyboard.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

logger = logging.getLogger("dcabot.mail")


class MailError(RuntimeError):
    """The mail could not be handed to the mail server; the message names no content."""


@dataclass(frozen=True)
class Mail:
    """One plain-text mail."""

    to: str
    subject: str
    body: str


def build_message(mail: Mail, sender: str) -> EmailMessage:
    """The RFC 5322 message of a mail."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2].strip("> ") or None)
    message.set_content(mail.body)
    return message


def send_smtp(message: EmailMessage, config: Mapping) -> None:
    """Hand the message to MAIL_SERVER:MAIL_PORT (SSL or STARTTLS when asked, login if set)."""
    host, port = config.get("MAIL_SERVER", "localhost"), int(config.get("MAIL_PORT", 25))
    timeout = float(config.get("MAIL_TIMEOUT", 10))
    context = ssl.create_default_context()
    try:
        if config.get("MAIL_USE_SSL"):
            smtp = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
        else:
            smtp = smtplib.SMTP(host, port, timeout=timeout)
        with smtp:
            if config.get("MAIL_USE_TLS") and not config.get("MAIL_USE_SSL"):
                smtp.starttls(context=context)
            if config.get("MAIL_USERNAME"):
                smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD", ""))
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        reason = type(exc).__name__
        raise MailError(f"could not send mail through {host}:{port}: {reason}") from None


def print_to_console(message: EmailMessage, stream=None) -> None:
    """The development backend: the whole mail on stdout, so links can be clicked from there."""
    stream = stream or sys.stdout
    line = "-" * 72
    print(
        f"{line}\nmail to {message['To']}: {message['Subject']}\n{line}\n"
        f"{_text_part(message).rstrip()}\n{line}",
        file=stream,
        flush=True,
    )


def _text_part(message: EmailMessage) -> str:
    """The plain-text body, also of a multipart message."""
    part = message.get_body(preferencelist=("plain",)) or message
    return part.get_content()


def send_mail(app, mail: Mail) -> None:
    """Send one mail with the app's MAIL_BACKEND; MailError when the server refused it."""
    sender = app.config.get("MAIL_DEFAULT_SENDER", "dcabot <noreply@localhost>")
    send_message(app, build_message(mail, sender))


def send_message(app, message: EmailMessage) -> None:
    """Send a ready message (notifications build multipart ones) with the app's MAIL_BACKEND."""
    config = app.config
    backend = config.get("MAIL_BACKEND", "smtp")
    if backend == "memory":
        app.extensions.setdefault("mail_outbox", []).append(message)
    elif backend == "console":
        print_to_console(message)
    else:
        send_smtp(message, config)
    logger.info("mail sent", extra={"subject": message["Subject"], "backend": backend})


def outbox(app) -> list[EmailMessage]:
    """Mails the memory backend kept (tests)."""
    return app.extensions.setdefault("mail_outbox", [])
