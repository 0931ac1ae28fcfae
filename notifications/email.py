"""The e-mail channel: text and HTML parts per event (or per digest), with unsubscribe links.

The channel builds the message; handing it to a mail server is the caller's ``deliver`` (the web
app's mail backend), so this package stays free of the app.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from notifications.base import Event, Notifier
from notifications.events import event_type, long_text, short_text

Unsubscribe = Callable[[str], str]  # kind -> signed one-click URL


def build_mail(
    events: Sequence[Event],
    *,
    sender: str,
    to: str,
    unsubscribe: Unsubscribe | None = None,
    footer: str = "",
) -> EmailMessage:
    """One message for one event, or a digest of several; text and HTML alternatives."""
    if not events:
        raise ValueError("a mail needs at least one event")
    subject = (
        f"[dcabot] {short_text(events[0])}"
        if len(events) == 1
        else f"[dcabot] {len(events)} notifications"
    )
    text_parts, html_parts = [], []
    for event in events:
        body = long_text(event)
        link = unsubscribe(event.kind) if unsubscribe else ""
        title = event_type(event.kind).title
        text_parts.append(body + (f"\n\nStop e-mails about {title}: {link}" if link else ""))
        html_body = "<br>".join(html.escape(line) for line in body.splitlines())
        if link:
            html_body += (
                f'<p style="font-size:small"><a href="{html.escape(link)}">'
                f"Stop e-mails about {html.escape(title)}</a></p>"
            )
        html_parts.append(f"<div>{html_body}</div>")
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject[:200]
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2].strip("> ") or None)
    if unsubscribe and len({e.kind for e in events}) == 1:
        # RFC 8058 one-click: mail clients show an "Unsubscribe" button.
        message["List-Unsubscribe"] = f"<{unsubscribe(events[0].kind)}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    separator = "\n\n" + "-" * 40 + "\n\n"
    message.set_content(separator.join(text_parts) + (f"\n\n{footer}" if footer else ""))
    message.add_alternative(
        "<html><body>" + "<hr>".join(html_parts) + f"<p>{html.escape(footer)}</p></body></html>",
        subtype="html",
    )
    return message


class EmailNotifier(Notifier):
    """Mails each event to one address through ``deliver`` (which may raise)."""

    name = "email"

    def __init__(
        self,
        deliver: Callable[[EmailMessage], None],
        *,
        sender: str,
        to: str,
        unsubscribe: Unsubscribe | None = None,
    ):
        self.deliver = deliver
        self.sender = sender
        self.to = to
        self.unsubscribe = unsubscribe

    def send(self, event: Event) -> None:
        """Mail one event."""
        self.send_many([event])

    def send_many(self, events: Sequence[Event]) -> None:
        """Mail several events as one digest."""
        self.deliver(
            build_mail(events, sender=self.sender, to=self.to, unsubscribe=self.unsubscribe)
        )
