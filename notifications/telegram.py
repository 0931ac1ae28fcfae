"""The Telegram channel: one Bot API sendMessage per event; errors never carry the token."""

from __future__ import annotations

import requests

from notifications.base import Event, Notifier
from notifications.formatting import format_event

DEFAULT_API_BASE = "https://api.telegram.org"


class NotificationError(Exception):
    """A channel could not deliver a message; the text never carries a secret."""

    def __init__(self, message: str, *, channel: str = "", status: int | None = None):
        super().__init__(message)
        self.channel = channel
        self.status = status


class TelegramNotifier(Notifier):
    """Sends each event as an HTML message to one chat through the Bot API."""

    name = "telegram"

    def __init__(
        self,
        token: str,
        chat_id: str,
        *,
        api_base: str = DEFAULT_API_BASE,
        timeout: float = 10.0,
        session: requests.Session | None = None,
    ):
        if not token or not chat_id:
            raise ValueError("TelegramNotifier needs both a bot token and a chat id")
        self._token = token
        self.chat_id = str(chat_id)
        self.api_base = (api_base or DEFAULT_API_BASE).rstrip("/")
        self.timeout = timeout
        self._session = session

    def __repr__(self) -> str:
        return f"TelegramNotifier(chat_id={self.chat_id!r}, api_base={self.api_base!r})"

    def send(self, event: Event) -> None:
        """Render the event and deliver it, or raise NotificationError."""
        self.send_text(format_event(event))

    def send_text(self, text: str) -> dict:
        """Deliver an already formatted HTML text; returns the Bot API's ``result``."""
        payload = {
            "chat_id": self.chat_id,
            "text": text,
            "parse_mode": "HTML",
            "disable_web_page_preview": True,
        }
        if self._session is not None:
            return self._post(self._session, payload)
        # a session per message: a run sends a handful, and nothing is left open between them
        with requests.Session() as session:
            return self._post(session, payload)

    def _post(self, session: requests.Session, payload: dict) -> dict:
        """POST sendMessage and check the answer."""
        result = call_api(
            session, self.api_base, self._token, "sendMessage", payload, timeout=self.timeout
        )
        return result if isinstance(result, dict) else {}


class TelegramAPI:
    """Other Bot API methods (getUpdates, setWebhook) for the platform bot."""

    def __init__(self, token: str, *, api_base: str = DEFAULT_API_BASE, timeout: float = 10.0):
        self._token = token
        self.api_base = (api_base or DEFAULT_API_BASE).rstrip("/")
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"TelegramAPI(api_base={self.api_base!r})"

    def call(self, method: str, payload: dict) -> object:
        """The method's ``result``, or NotificationError."""
        with requests.Session() as session:
            return call_api(
                session, self.api_base, self._token, method, payload, timeout=self.timeout
            )


def call_api(
    session: requests.Session,
    api_base: str,
    token: str,
    method: str,
    payload: dict,
    *,
    timeout: float,
) -> object:
    """POST one Bot API method; errors are re-raised without the URL (it holds the token)."""

    def error(message: str, status: int | None = None) -> NotificationError:
        return NotificationError(
            f"telegram: {message}".replace(token, "***"), channel="telegram", status=status
        )

    url = f"{api_base}/bot{token}/{method}"
    try:
        with session.post(url, json=payload, timeout=timeout) as response:
            status = response.status_code
            body = _json_or_none(response)
    except requests.Timeout:
        # `from None`: the original exception's text and traceback both contain the token
        raise error(f"no answer from {api_base} within {timeout}s") from None
    except requests.RequestException as exc:
        raise error(f"cannot reach {api_base} ({type(exc).__name__})") from None
    if status != 200 or not isinstance(body, dict) or body.get("ok") is not True:
        description = body.get("description") if isinstance(body, dict) else None
        detail = f": {description}" if description else ""
        raise error(f"HTTP {status}, message refused{detail}", status=status)
    return body.get("result")


def _json_or_none(response: requests.Response) -> object:
    """The parsed JSON body, or None when the answer is not JSON (a proxy's HTML error page)."""
    try:
        return response.json()
    except ValueError:
        return None
