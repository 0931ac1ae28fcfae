"""The order-create error tables: every code classified, documented, and mapped as documented."""

from __future__ import annotations

from pathlib import Path

import pytest

from clients import bybit_wire, phemex_wire
from clients.bybit import BybitClient
from clients.errors import OutcomeUnknownError, TemporaryError
from clients.http_policy import Call
from clients.phemex import PhemexClient

DOCS = Path(__file__).resolve().parents[2] / "docs" / "EXCHANGES.md"
TABLES = [(BybitClient, bybit_wire.ORDER_CODES), (PhemexClient, phemex_wire.ORDER_CODES)]
CREATE = Call("POST", "/create", order=True)
READ = Call("GET", "/read")


@pytest.mark.parametrize(("cls", "codes"), TABLES, ids=["bybit", "phemex"])
def test_every_create_code_maps_to_its_documented_class(cls, codes):
    client = cls("k", "s", base_url="http://127.0.0.1:9")
    documented = DOCS.read_text()
    for code, (error, meaning) in codes.items():
        assert type(client.mapped_error(code, meaning, CREATE)) is error, code
        assert f"| {code} | {meaning} |" in documented, f"{code} is not in docs/EXCHANGES.md"


@pytest.mark.parametrize("cls", [BybitClient, PhemexClient])
def test_a_code_nobody_listed_leaves_an_order_unknown_and_a_read_temporary(cls):
    client = cls("k", "s", base_url="http://127.0.0.1:9")
    assert type(client.mapped_error(999_999, "new", CREATE)) is OutcomeUnknownError
    assert type(client.mapped_error(10000 if cls is BybitClient else 11107, "x", READ)) is (
        TemporaryError
    )


def test_bybit_server_timeout_and_error_are_not_refusals():
    """10000 and 10016 may come after Bybit placed the order (issue 13, problem 3)."""
    for code in (10000, 10016):
        assert bybit_wire.ORDER_CODES[code][0] is OutcomeUnknownError
