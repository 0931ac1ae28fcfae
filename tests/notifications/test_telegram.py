"""TelegramNotifier against the loopback Bot API: delivery, escaping, failures that spare a run."""

from __future__ import annotations

import logging
import socket
import traceback

import pytest
import requests

from notifications import FanOut, MemoryNotifier, NotificationError, TelegramNotifier, base
from tests.notifications.sample_events import SAMPLES, sample_event, with_strings_replaced

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
CHAT_ID = "-1001234567890"


@pytest.fixture
def notifier(telegram_server):
    """A notifier pointed at the loopback Bot API, with a short timeout for the hang tests."""
    return TelegramNotifier(TOKEN, CHAT_ID, api_base=telegram_server.url, timeout=0.2)


def _free_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("kind", base.EVENT_KINDS)
def test_each_kind_is_delivered_as_html_to_the_chat(telegram_server, notifier, kind):
    """One sendMessage per event: token in the path, chat, HTML mode and the event's values."""
    notifier.send(sample_event(kind))

    (request,) = telegram_server.requests
    assert request.path == f"/bot{TOKEN}/sendMessage"
    body = request.body
    assert body["chat_id"] == CHAT_ID
    assert body["parse_mode"] == "HTML"
    assert body["disable_web_page_preview"] is True
    for expected in SAMPLES[kind][1]:
        assert expected in body["text"]


def test_send_text_returns_the_sent_message(notifier):
    """The Bot API's result comes back to the caller."""
    result = notifier.send_text("<b>hello</b>")
    assert result["message_id"] == 1
    assert result["chat"]["id"] == CHAT_ID


@pytest.mark.parametrize("kind", base.EVENT_KINDS)
def test_markup_in_fields_arrives_escaped(telegram_server, notifier, kind):
    """A symbol or message containing <b>&" is text in the chat, and the API accepts it."""
    notifier.send(with_strings_replaced(sample_event(kind), '<b>&"'))

    (text,) = [message["text"] for message in telegram_server.messages]
    assert "&lt;b&gt;&amp;&quot;" in text
    assert '<b>&"' not in text


def test_unescaped_markup_is_refused_by_the_api(telegram_server, notifier):
    """The fake API rejects what Telegram rejects, so the escaping tests above can fail."""
    with pytest.raises(NotificationError, match="can't parse entities") as caught:
        notifier.send_text("price < 5 & rising")
    assert caught.value.status == 400
    assert len(telegram_server.messages) == 1


def _break(mode: str, server, notifier: TelegramNotifier) -> TelegramNotifier:
    """Make the channel fail in one of the ways a real one does."""
    if mode == "http 500":
        server.fail_with(500)
    elif mode == "ok false":
        server.answer_not_ok()
    elif mode == "timeout":
        server.hang(5)
    elif mode == "connection refused":
        return TelegramNotifier(TOKEN, CHAT_ID, api_base=f"http://127.0.0.1:{_free_port()}")
    return notifier


FAILURES = ["http 500", "ok false", "timeout", "connection refused"]


@pytest.mark.parametrize("mode", FAILURES)
def test_a_failing_channel_raises_without_the_token(telegram_server, notifier, mode):
    """Every failure is a NotificationError whose text and traceback hold no token."""
    broken = _break(mode, telegram_server, notifier)

    with pytest.raises(NotificationError) as caught:
        broken.send(sample_event(base.ERROR))

    error = caught.value
    assert error.channel == "telegram"
    assert TOKEN not in str(error)
    assert TOKEN not in repr(error)
    assert TOKEN not in "".join(traceback.format_exception(error))
    assert TOKEN not in repr(broken)


@pytest.mark.parametrize(
    ("mode", "says"),
    [
        ("http 500", "HTTP 500"),
        ("ok false", "something went wrong"),
        ("timeout", "within 0.2s"),
        ("connection refused", "cannot reach"),
    ],
)
def test_the_error_says_what_went_wrong(telegram_server, notifier, mode, says):
    """The owner's log tells a server error from a timeout from an unreachable API."""
    with pytest.raises(NotificationError, match=says):
        _break(mode, telegram_server, notifier).send(sample_event(base.BOT_PAUSED))


@pytest.mark.parametrize("mode", FAILURES)
def test_a_failing_channel_does_not_stop_the_run(telegram_server, notifier, mode, caplog):
    """Inside a fan-out the other channel still gets the event, nothing raises, the log is clean."""
    broken = _break(mode, telegram_server, notifier)
    memory = MemoryNotifier()
    event = sample_event(base.MARGIN_WARNING)

    with caplog.at_level(logging.WARNING):
        FanOut([broken, memory]).send(event)

    assert memory.events == [event]
    (record,) = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert record.channel == "telegram"
    assert TOKEN not in record.getMessage()
    assert TOKEN not in str(vars(record))


def test_a_server_that_recovers_gets_the_next_message(telegram_server, notifier):
    """No state sticks after a failure: the next send goes through."""
    telegram_server.fail_with(502)
    with pytest.raises(NotificationError):
        notifier.send(sample_event(base.BOT_PAUSED))
    telegram_server.fail_with(200)
    notifier.send(sample_event(base.BOT_PAUSED))
    assert len(telegram_server.messages) == 2


@pytest.mark.parametrize("status", [200, 502])
def test_a_non_json_answer_is_an_error(telegram_server, notifier, status):
    """An HTML page (a captive proxy, a load balancer) is not taken as delivered."""
    telegram_server.answer_page(status, b"<html><body>Bad gateway</body></html>")
    with pytest.raises(NotificationError, match=f"HTTP {status}, message refused$"):
        notifier.send(sample_event(base.BOT_PAUSED))


def test_a_given_session_is_used_and_left_open(telegram_server):
    """A caller's session carries every message and stays usable afterwards."""

    class CountingSession(requests.Session):
        posts = 0

        def post(self, url, **kwargs):
            CountingSession.posts += 1
            return super().post(url, **kwargs)

    with CountingSession() as session:
        shared = TelegramNotifier(TOKEN, CHAT_ID, api_base=telegram_server.url, session=session)
        shared.send(sample_event(base.BOT_PAUSED))
        shared.send(sample_event(base.ERROR))
        assert CountingSession.posts == 2
        assert session.get(f"{telegram_server.url}/health").status_code == 501
    assert len(telegram_server.messages) == 2


@pytest.mark.parametrize(("token", "chat_id"), [("", CHAT_ID), (TOKEN, "")])
def test_token_and_chat_id_are_required(token, chat_id):
    """A half-configured notifier is a programming error, caught at construction."""
    with pytest.raises(ValueError, match="token and a chat id"):
        TelegramNotifier(token, chat_id)


def test_api_base_trailing_slash_is_ignored(telegram_server):
    """TELEGRAM_API_BASE may be written with a trailing slash."""
    TelegramNotifier(TOKEN, CHAT_ID, api_base=telegram_server.url + "/").send(
        sample_event(base.BOT_PAUSED)
    )
    assert telegram_server.requests[0].path == f"/bot{TOKEN}/sendMessage"
