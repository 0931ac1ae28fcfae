"""Sending billing notices by mail, after the change they describe is committed."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from saas.mail import Mail, MailError, send_mail
from saas.services.billing.subscriptions import Notice

logger = logging.getLogger("dcabot.billing")


def send_notices(app, notices: Iterable[Notice]) -> int:
    """Mail each notice; a mail server that refuses is logged, never raised (the change stands)."""
    sent = 0
    for notice in notices:
        try:
            send_mail(app, Mail(notice.to, notice.subject, notice.body))
            sent += 1
        except MailError as exc:
            logger.error("billing notice %r not sent: %s", notice.subject, exc)
    return sent
