"""The message texts: every kind's values, escaping, plain numbers and odd or missing fields."""

from __future__ import annotations

from decimal import Decimal

import pytest

from notifications import base
from notifications.base import Event
from notifications.formatting import MAX_TEXT, format_event
from notifications.texts import EXTRA_RENDERERS
from tests.fixtures.telegram import html_problem
from tests.notifications.sample_events import SAMPLES, sample_event, with_strings_replaced

HOSTILE = '<b>&"'
ESCAPED = "&lt;b&gt;&amp;&quot;"


def test_every_event_kind_has_a_sample():
    """The tables below cover every kind base.py declares."""
    assert set(SAMPLES) == set(base.EVENT_KINDS)


@pytest.mark.parametrize("kind", base.EVENT_KINDS)
def test_each_kind_shows_its_values(kind):
    """Each message carries the values of its event, one per line."""
    lines = format_event(sample_event(kind)).split("\n")
    for expected in SAMPLES[kind][1]:
        assert any(expected in line for line in lines), f"{expected!r} missing from {lines}"


@pytest.mark.parametrize("kind", base.EVENT_KINDS)
def test_each_kind_is_valid_telegram_html(kind):
    """Telegram would parse every message: only its tags, nothing stray."""
    assert html_problem(format_event(sample_event(kind))) is None


@pytest.mark.parametrize("kind", base.EVENT_KINDS)
def test_user_and_exchange_text_is_escaped_in_every_kind(kind):
    """A symbol, reason or message with markup arrives as text, never as markup."""
    text = format_event(with_strings_replaced(sample_event(kind), HOSTILE))
    assert HOSTILE not in text
    assert ESCAPED in text
    assert html_problem(text) is None


def test_unrealised_percent_is_roe_times_hundred():
    """The original printed the raw fraction ("-0.05%"); we print the percentage."""
    text = format_event(Event(base.POSITION_OPENED, {"upnl": Decimal("-5"), "roe": "-0.05"}))
    assert "Unrealised PnL: -5.00 USDT (-5.00%)" in text
    assert "-0.05%" not in text


@pytest.mark.parametrize(("given", "shown"), [("Buy", "Long"), ("Sell", "Short"), ("long", "Long")])
def test_side_line_shows_the_position_side(given, shown):
    """A close reports the position's side, even when handed the order side."""
    text = format_event(Event(base.POSITION_CLOSED, {"side": given, "pnl": Decimal(1)}))
    assert f"Side: {shown}" in text.split("\n")


@pytest.mark.parametrize(
    ("pnl", "icon"), [(Decimal("-0.01"), "🔴"), (Decimal("0"), "✅"), (Decimal("3"), "✅")]
)
def test_closed_with_a_loss_gets_the_red_icon(pnl, icon):
    """Only a losing close is red."""
    first_line = format_event(Event(base.POSITION_CLOSED, {"pnl": pnl})).split("\n")[0]
    assert first_line.startswith(icon)


@pytest.mark.parametrize(
    ("qty", "shown"),
    [
        (Decimal("1E+2"), "100"),
        (Decimal("0.00001230"), "0.0000123"),
        (Decimal("12.500"), "12.5"),
        (Decimal("-0"), "0"),
        (0.1 + 0.2, "0.3"),
        (3, "3"),
        ("0.50", "0.5"),
    ],
)
def test_quantities_print_plainly(qty, shown):
    """No exponent and no trailing zeros, whatever type the number came in."""
    text = format_event(Event(base.POSITION_ADDED, {"qty": qty, "price": Decimal("2E-7")}))
    assert f"Order: {shown} @ 0.0000002" in text


@pytest.mark.parametrize(
    ("amount", "shown"),
    [
        (Decimal("1234.567"), "1234.57 USDT"),
        (Decimal("0.5"), "0.50 USDT"),
        (Decimal("0.0045"), "0.0045 USDT"),
        (Decimal("-0.001"), "-0.001 USDT"),
        (Decimal("1E+3"), "1000.00 USDT"),
    ],
)
def test_usdt_amounts_show_cents_and_keep_small_amounts(amount, shown):
    """Balances read in cents; a sub-cent PnL is not rounded away to zero."""
    assert f"Balance: {shown}" in format_event(Event(base.POSITION_CLOSED, {"balance": amount}))


@pytest.mark.parametrize("kind", base.EVENT_KINDS)
def test_missing_fields_render_as_a_dash(kind):
    """An event without its fields still renders, with "-" in place of each value."""
    text = format_event(Event(kind, {}))
    assert html_problem(text) is None
    if kind != base.BOT_STARTED:
        assert any(line.endswith(": -") for line in text.split("\n")), text


def test_fields_of_the_wrong_type_do_not_crash():
    """Non-numbers in number fields fall back to their (escaped) text."""
    fields = {"qty": "n/a", "price": None, "roe": object(), "pct": float("nan"), "balance": True}
    text = format_event(Event(base.POSITION_OPENED, fields))
    assert "Order: n/a @ -" in text
    assert "(nan of balance)" in text
    assert html_problem(text) is None


def test_event_without_a_fields_mapping_renders():
    """A malformed event is still a message, not an exception in the run."""
    assert "Reason: -" in format_event(Event(base.BOT_PAUSED, None))  # type: ignore[arg-type]


def test_unknown_kind_lists_its_fields():
    """A kind added later is sent as a generic list rather than dropped."""
    text = format_event(
        Event("weekly_report", {"trades": 3, "pnl": Decimal("1.50"), "note": "<i>"})
    )
    lines = text.split("\n")
    assert "weekly_report" in lines[0]
    assert lines[1:] == ["trades: 3", "pnl: 1.5", "note: &lt;i&gt;"]


@pytest.mark.parametrize(
    ("network", "shown"), [("testnet", "TESTNET"), (True, "TESTNET"), (False, "MAINNET")]
)
def test_bot_started_network(network, shown):
    """The network line reads MAINNET or TESTNET."""
    assert f"Network: {shown}" in format_event(Event(base.BOT_STARTED, {"network": network}))


def test_bot_started_accepts_pairs_as_tuples_or_mappings():
    """Pairs may come as "SYMBOL (Side)" strings, (symbol, side) tuples or mappings."""
    pairs = [("BTCUSDT", "Long"), {"symbol": "ETHUSDT", "side": "Sell"}]
    text = format_event(Event(base.BOT_STARTED, {"network": "MAINNET", "pairs": pairs}))
    assert text.split("\n")[-2:] == ["• BTCUSDT (Long)", "• ETHUSDT (Short)"]


def test_a_long_error_message_is_cut_to_fit_telegram():
    """Telegram refuses texts over 4096 characters, so a huge message is clipped."""
    text = format_event(Event(base.ERROR, {"message": "&" * 10_000}))
    assert len(text) <= MAX_TEXT
    assert text.endswith("…")
    assert html_problem(text) is None


def test_many_pairs_are_cut_at_a_line_boundary():
    """A very long message drops whole trailing lines, so no tag or entity is split."""
    pairs = [f"<{n}USDT> (Long)" for n in range(2000)]
    text = format_event(Event(base.BOT_STARTED, {"network": "MAINNET", "pairs": pairs}))
    assert len(text) <= MAX_TEXT
    assert text.split("\n")[-1] == "…"
    assert html_problem(text) is None


@pytest.mark.parametrize("kind", sorted(EXTRA_RENDERERS))
def test_every_platform_kind_renders_html_telegram_accepts(kind):
    """The outbox's own kinds have texts, which parse as Telegram HTML even with odd fields."""
    text = format_event(Event(kind, {"reason": "<b>", "url": "https://x/?a=1&b=2", "day": None}))
    assert html_problem(text) is None and kind not in text
