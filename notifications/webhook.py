"""The webhook channel: a signed JSON POST per event; the URL is checked against SSRF each time."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import requests

from notifications.base import Event, Notifier
from notifications.signing import EVENT_ID_HEADER, HEADER, sign_header
from notifications.ssrf import Resolver, UnsafeURL, check_url
from notifications.telegram import NotificationError


@dataclass(frozen=True)
class WebhookResult:
    """What the receiver answered and how long it took."""

    status: int
    latency_ms: int


def payload(event: Event, *, event_id: str, at: datetime, bot=None) -> dict:
    """The documented body: event id, type, time, bot, pair and data."""
    fields = dict(event.fields or {})
    pair = (
        {"symbol": fields.get("symbol"), "side": fields.get("side")} if "symbol" in fields else None
    )
    return {
        "id": event_id,
        "type": event.kind,
        "created": at.astimezone(UTC).isoformat(),
        "bot": bot,
        "pair": pair,
        "data": fields,
    }


def encode(body: dict) -> bytes:
    """Compact JSON; Decimals and datetimes as strings so amounts keep every digit."""
    return json.dumps(body, separators=(",", ":"), default=str, sort_keys=True).encode()


class WebhookNotifier(Notifier):
    """POSTs signed JSON to one endpoint; any non-2xx answer or refusal raises."""

    name = "webhook"

    def __init__(
        self,
        url: str,
        secret: str,
        *,
        allow_loopback: bool = False,
        resolver: Resolver | None = None,
        timeout: float = 10.0,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.time,
    ):
        self.url = url
        self._secret = secret
        self.allow_loopback = allow_loopback
        self.resolver = resolver
        self.timeout = timeout
        self._session = session
        self.clock = clock

    def __repr__(self) -> str:
        return f"WebhookNotifier(url={self.url!r})"

    def send(self, event: Event) -> None:
        """Deliver one event with a fresh id (the outbox worker uses ``post`` with its own)."""
        event_id = str(uuid.uuid4())
        self.post(encode(payload(event, event_id=event_id, at=datetime.now(UTC))), event_id)

    def post(self, body: bytes, event_id: str) -> WebhookResult:
        """POST the body signed now; WebhookResult on 2xx, NotificationError otherwise."""
        try:
            check_url(self.url, allow_loopback=self.allow_loopback, resolver=self.resolver)
        except UnsafeURL as exc:
            raise NotificationError(f"webhook refused: {exc}", channel=self.name) from None
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "dcabot-webhooks/1",
            HEADER: sign_header(self._secret, int(self.clock()), body),
            EVENT_ID_HEADER: event_id,
        }
        session = self._session or requests
        started = time.perf_counter()
        try:
            # Redirects are not followed: the target would escape the SSRF check.
            response = session.post(
                self.url, data=body, headers=headers, timeout=self.timeout, allow_redirects=False
            )
        except requests.Timeout:
            raise NotificationError(
                f"webhook: no answer within {self.timeout}s", channel=self.name
            ) from None
        except requests.RequestException as exc:
            raise NotificationError(
                f"webhook: cannot connect ({type(exc).__name__})", channel=self.name
            ) from None
        latency = int((time.perf_counter() - started) * 1000)
        response.close()
        if not 200 <= response.status_code < 300:
            raise NotificationError(
                f"webhook: HTTP {response.status_code}",
                channel=self.name,
                status=response.status_code,
            )
        return WebhookResult(response.status_code, latency)
