"""build_notifier: Telegram only when both token and chat id are set, one warning otherwise."""

from __future__ import annotations

import logging

import pytest

from notifications import DEFAULT_API_BASE, FanOut, TelegramNotifier, base, build_notifier
from tests.notifications.sample_events import sample_event

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


@pytest.mark.parametrize(
    ("token", "chat_id", "missing"),
    [
        (None, "42", "TELEGRAM_BOT_TOKEN"),
        (TOKEN, None, "TELEGRAM_CHAT_ID"),
        ("", "42", "TELEGRAM_BOT_TOKEN"),
        ("  ", "42", "TELEGRAM_BOT_TOKEN"),
        (None, None, "TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_ID"),
    ],
)
def test_telegram_is_disabled_unless_both_are_set(token, chat_id, missing, caplog):
    """An empty fan-out, and exactly one warning naming what is missing (never the token)."""
    with caplog.at_level(logging.WARNING, logger="notifications"):
        notifier = build_notifier(token, chat_id)

    assert isinstance(notifier, FanOut)
    assert notifier.channels == []
    (record,) = caplog.records
    assert record.levelno == logging.WARNING
    assert record.getMessage() == f"Telegram notifications disabled: {missing} not set"
    assert TOKEN not in str(vars(record))
    notifier.send(sample_event(base.BOT_PAUSED))  # a disabled channel is silent, not an error


def test_telegram_is_enabled_with_both_and_sends_to_the_api_base(telegram_server, caplog):
    """With token, chat id and TELEGRAM_API_BASE set, events reach that API and nothing warns."""
    with caplog.at_level(logging.WARNING, logger="notifications"):
        notifier = build_notifier(TOKEN, " 42 ", api_base=telegram_server.url)

    assert caplog.records == []
    (channel,) = notifier.channels
    assert isinstance(channel, TelegramNotifier)
    notifier.send(sample_event(base.BOT_STARTED))
    (message,) = telegram_server.messages
    assert message["chat_id"] == "42"
    assert "Bot started" in message["text"]


@pytest.mark.parametrize("api_base", [None, ""])
def test_the_default_api_base_is_telegram(api_base):
    """Without TELEGRAM_API_BASE the real Bot API is used."""
    (channel,) = build_notifier(TOKEN, "42", api_base=api_base).channels
    assert channel.api_base == DEFAULT_API_BASE
