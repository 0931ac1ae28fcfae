"""Shared fixtures: each area keeps its fixtures in tests/fixtures/ and they are plugged in here."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = [
    "tests.fixtures.telegram",
    "tests.fixtures.exchange",
    "tests.fixtures.database",
    "tests.fixtures.web",
    "tests.fixtures.smtp",
    "tests.fixtures.bots",
    "tests.fixtures.dashboard",
    "tests.fixtures.stripe",
    "tests.fixtures.browser",
    "tests.fixtures.faults",
]

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "ohlcv"


@pytest.fixture(scope="session")
def ohlcv_dir() -> Path:
    """The real candle files of ../shared/data/ohlcv, or a skip saying why."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real candle data not found at {SHARED_DATA} (shared/data is absent here)")
    return SHARED_DATA
