"""Candle and funding files: good files load fast, bad ones get one line naming the row."""

from __future__ import annotations

from decimal import Decimal as D

import numpy as np
import pytest

from workflows.backtest_data import (
    DataError,
    find_gaps,
    load_candles,
    load_funding,
    parse_when,
)

HEADER = "timestamp_ms,open,high,low,close,volume"
T0 = 1_700_006_400_000


def rows(count: int, start: int = T0, step: int = 60_000) -> list[str]:
    """Valid one-minute rows."""
    return [f"{start + i * step},100.0,100.5,99.5,100.2,3.5" for i in range(count)]


def write(tmp_path, lines: list[str], name: str = "candles.csv"):
    """A file of lines."""
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_good_file_loads_with_its_interval_and_exact_values(tmp_path):
    """Timestamps as int64 milliseconds, prices as floats that print as the file's text."""
    candles = load_candles(write(tmp_path, [HEADER, *rows(5, step=300_000)]))
    series = candles.series
    assert series.interval_minutes == 5 and len(series) == 5
    assert series.ts.dtype == np.int64 and series.ts[1] - series.ts[0] == 300_000
    assert repr(float(series.close[0])) == "100.2"
    assert candles.gaps == ()


BAD = [
    (["ts,o,h,l,c,v", *rows(3)], "line 1: expected the header"),
    ([HEADER, *rows(2), f"{T0 + 120_000},100,abc,99,100,1"], "line 4: not a number: 'abc'"),
    ([HEADER, *rows(2), f"{T0 + 120_000},100,101,99"], "line 4: expected 6 columns, got 4"),
    ([HEADER, *rows(3), rows(1)[0]], "line 5: timestamps are not sorted"),
    ([HEADER, *rows(3), rows(3)[2]], "line 5: duplicate timestamp"),
    ([HEADER, *rows(2), f"{T0 + 120_000},100,99,101,100,1"], "line 4: high is below low"),
    ([HEADER, *rows(2), f"{T0 + 120_000},100,101,99,102,1"], "line 4: open or close lies outside"),
    ([HEADER, *rows(2), f"{T0 + 120_000},0,101,0,100,1"], "line 4: a price is zero or negative"),
    ([HEADER, *rows(2), f"{T0 + 120_000},100,101,99,100,-1"], "line 4: volume is negative"),
    ([HEADER, *rows(2), f"{T0 + 120_000},100,nan,99,100,1"], "line 4: a value is not finite"),
    (
        [HEADER, *rows(2), f"{T0 + 150_000},100,101,99,100,1"],
        "line 4: timestamp 1700006550000 is not on the 1-minute grid",
    ),
    ([HEADER, *rows(2), "", *rows(1, start=T0 + 120_000)], "line 4: empty line"),
    ([HEADER], "no candles after the header"),
    ([HEADER, *rows(1)], "only 1 candle(s); too few candles"),
]


@pytest.mark.parametrize("lines, message", BAD)
def test_a_bad_candle_file_gets_one_line_naming_the_row(tmp_path, lines, message):
    """Each problem is named with its line number (the header is line 1)."""
    path = write(tmp_path, lines)
    with pytest.raises(DataError) as caught:
        load_candles(path)
    text = str(caught.value)
    assert message in text and str(path) in text and "\n" not in text


def test_a_missing_file_is_a_data_error(tmp_path):
    """A typo in --data reads as a one-line message, not a traceback."""
    with pytest.raises(DataError, match="cannot read"):
        load_candles(tmp_path / "nope.csv")


def test_gaps_are_found_with_the_line_before_them_and_the_candles_missing(tmp_path):
    """A 284-minute hole after line 3 is reported, not bridged."""
    lines = [HEADER, *rows(2), *rows(2, start=T0 + (2 + 284) * 60_000)]
    candles = load_candles(write(tmp_path, lines))
    (gap,) = candles.gaps
    assert (gap.line, gap.missing) == (3, 284)
    assert gap.after_ms == T0 + 60_000 and gap.resume_ms == T0 + 286 * 60_000
    assert "line 3: 284 missing 1-minute candles after 2023-11-15 00:01" in gap.describe(1)
    assert find_gaps(candles.series) == candles.gaps


def test_funding_rates_keep_the_files_digits(tmp_path):
    """Rates are exact decimals; times are epoch milliseconds."""
    lines = ["timestamp_ms,funding_rate", f"{T0},0.0001", f"{T0 + 28_800_000},-3e-05"]
    path = write(tmp_path, lines)
    funding = load_funding(path)
    assert funding.ts.tolist() == [T0, T0 + 28_800_000]
    assert funding.rates == (D("0.0001"), D("-0.00003"))


@pytest.mark.parametrize(
    "lines, message",
    [
        (["time,rate", f"{T0},0.0001"], "line 1: expected the header"),
        (["timestamp_ms,funding_rate", f"{T0},0.0001", f"{T0},0.0002"], "line 3: duplicate"),
        (["timestamp_ms,funding_rate", f"{T0},0.0001", f"{T0 - 1},0.0002"], "line 3: out-of-order"),
        (["timestamp_ms,funding_rate", f"{T0},x"], "line 2: not a timestamp and a rate"),
        (["timestamp_ms,funding_rate", f"{T0},1.5"], "line 2: funding rate 1.5 is not a fraction"),
    ],
)
def test_a_bad_funding_file_names_the_row(tmp_path, lines, message):
    """Same one-line rule as the candle files."""
    with pytest.raises(DataError, match=message):
        load_funding(write(tmp_path, lines, "funding.csv"))


def test_dates_are_read_as_utc():
    """--start/--end take dates, date-times or epoch milliseconds."""
    assert parse_when("2023-11-15") == T0
    assert parse_when("2023-11-15T00:01") == T0 + 60_000
    assert parse_when(str(T0)) == T0
    with pytest.raises(DataError, match="not a date"):
        parse_when("yesterday")


def test_a_parsed_file_is_read_back_from_its_binary_copy_until_it_changes(tmp_path, monkeypatch):
    monkeypatch.setenv("DCABOT_CANDLE_CACHE", str(tmp_path / "cache"))
    path = write(tmp_path, [HEADER, *rows(5)])
    first = load_candles(path)
    assert len(list((tmp_path / "cache").glob("*.npy"))) == 1
    again = load_candles(path)
    assert (again.series.close == first.series.close).all() and len(again.series) == 5
    write(tmp_path, [HEADER, *rows(7)])  # edited: parsed again, not read from the old copy
    assert len(load_candles(path).series) == 7
    bad = write(tmp_path, [HEADER, *rows(2), f"{T0 + 120_000},100,99,101,100,1"], "bad.csv")
    for _ in range(2):  # a refused file is never cached, so it is refused every time
        with pytest.raises(DataError, match="high is below low"):
            load_candles(bad)


def test_the_binary_copy_can_be_turned_off(tmp_path, monkeypatch):
    monkeypatch.setenv("DCABOT_CANDLE_CACHE", "off")
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    load_candles(write(tmp_path, [HEADER, *rows(5)]))
    assert not list(tmp_path.rglob("*.npy"))
