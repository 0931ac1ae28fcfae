"""Candle and funding CSV files for the backtester: fast loading, checks that name the bad line."""

from __future__ import annotations

import csv
import hashlib
import math
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

import numpy as np

from clients.candle_market import CandleSeries
from clients.market import MINUTE_MS

CANDLE_HEADER = ["timestamp_ms", "open", "high", "low", "close", "volume"]
FUNDING_HEADER = ["timestamp_ms", "funding_rate"]
FIRST_DATA_LINE = 2  # line 1 is the header


class DataError(ValueError):
    """A candle or funding file that cannot be used; the message is one line naming the row."""


@dataclass(frozen=True, slots=True)
class Gap:
    """Missing candles: none between the candle on ``line`` and the next one."""

    line: int
    after_ms: int
    resume_ms: int
    missing: int

    def describe(self, interval_minutes: int) -> str:
        """One line for the console and the report."""
        return (
            f"line {self.line}: {self.missing} missing {interval_minutes}-minute candles after "
            f"{fmt_ms(self.after_ms)} (data resumes {fmt_ms(self.resume_ms)})"
        )


@dataclass(frozen=True, eq=False)
class CandleFile:
    """A loaded, checked candle file."""

    path: Path
    series: CandleSeries
    gaps: tuple[Gap, ...]


@dataclass(frozen=True, eq=False)
class FundingSeries:
    """Funding events of one symbol: times (ms) and rates (exact, from the file's text)."""

    path: Path
    ts: np.ndarray
    rates: tuple[Decimal, ...]


def fmt_ms(ts_ms: int) -> str:
    """A UTC timestamp as 'YYYY-MM-DD HH:MM'."""
    return datetime.fromtimestamp(ts_ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M")


def _check_header(path: Path, expected: list[str]) -> None:
    """The first line must be the expected header."""
    try:
        with path.open(newline="") as handle:
            first = next(csv.reader(handle), None)
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise DataError(f"{path} line 1: not a text CSV file") from None
    if first is None:
        raise DataError(f"{path}: the file is empty")
    if [cell.strip() for cell in first] != expected:
        raise DataError(
            f"{path} line 1: expected the header {','.join(expected)}, got {','.join(first)!r}"
        )


def _find_bad_row(path: Path, width: int) -> DataError:
    """Walk the file to name the first row numpy could not read."""
    with path.open(newline="") as handle:
        for line_no, row in enumerate(csv.reader(handle), start=1):
            if line_no == 1:
                continue
            if not row or all(not cell.strip() for cell in row):
                return DataError(f"{path} line {line_no}: empty line")
            if len(row) != width:
                return DataError(f"{path} line {line_no}: expected {width} columns, got {len(row)}")
            for cell in row:
                try:
                    float(cell)
                except ValueError:
                    return DataError(f"{path} line {line_no}: not a number: {cell.strip()!r}")
    return DataError(f"{path}: could not be read as numbers")


def _read_numbers(path: Path, width: int) -> np.ndarray:
    """All data rows as a float array, or a DataError naming the first unreadable line."""
    line_count = path.read_bytes().rstrip(b"\n").count(b"\n")
    if line_count == 0:
        raise DataError(f"{path}: no candles after the header")
    try:
        table = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2, dtype=np.float64)
    except ValueError:
        raise _find_bad_row(path, width) from None
    if table.shape[0] != line_count or table.shape[1] != width:
        raise _find_bad_row(path, width)  # blank lines would shift every line number
    return table


def _first(mask: np.ndarray) -> int | None:
    """Index of the first True, or None."""
    hits = np.flatnonzero(mask)
    return int(hits[0]) if len(hits) else None


def _check_values(path: Path, table: np.ndarray) -> None:
    """Finite positive prices, high >= low with open/close inside, volume >= 0."""
    ts, op, hi, lo, cl, vol = table.T
    checks = [
        (~np.isfinite(table).all(axis=1), "a value is not finite"),
        (ts != np.floor(ts), "the timestamp is not a whole number of milliseconds"),
        ((op <= 0) | (hi <= 0) | (lo <= 0) | (cl <= 0), "a price is zero or negative"),
        (hi < lo, "high is below low"),
        ((op > hi) | (cl > hi) | (op < lo) | (cl < lo), "open or close lies outside high-low"),
        (vol < 0, "volume is negative"),
    ]
    for mask, problem in checks:
        row = _first(mask)
        if row is not None:
            values = ",".join(f"{x:g}" for x in table[row])
            raise DataError(f"{path} line {row + FIRST_DATA_LINE}: {problem} ({values})")


def _check_order(path: Path, ts: np.ndarray) -> int:
    """Strictly increasing timestamps on one grid; returns the interval in minutes."""
    steps = np.diff(ts)
    row = _first(steps == 0)
    if row is not None:
        raise DataError(
            f"{path} line {row + 1 + FIRST_DATA_LINE}: duplicate timestamp {int(ts[row + 1])} "
            f"(same as line {row + FIRST_DATA_LINE})"
        )
    row = _first(steps < 0)
    if row is not None:
        raise DataError(
            f"{path} line {row + 1 + FIRST_DATA_LINE}: timestamps are not sorted "
            f"({int(ts[row + 1])} comes after {int(ts[row])})"
        )
    if len(ts) < 2:
        raise DataError(f"{path}: only {len(ts)} candle(s); too few candles for the indicators")
    interval_ms = int(steps.min())
    if interval_ms % MINUTE_MS:
        raise DataError(
            f"{path} line {_first(steps == interval_ms) + 1 + FIRST_DATA_LINE}: candles "
            f"{interval_ms} ms apart; the interval must be a whole number of minutes"
        )
    row = _first(ts % interval_ms != 0)
    if row is not None:
        raise DataError(
            f"{path} line {row + FIRST_DATA_LINE}: timestamp {int(ts[row])} is not on the "
            f"{interval_ms // MINUTE_MS}-minute grid"
        )
    return interval_ms // MINUTE_MS


def find_gaps(series: CandleSeries) -> tuple[Gap, ...]:
    """Every place where candles are missing, with the line of the candle before it."""
    steps = np.diff(series.ts)
    size = series.interval_ms
    rows = np.flatnonzero(steps > size)
    return tuple(
        Gap(
            line=int(row) + FIRST_DATA_LINE,
            after_ms=int(series.ts[row]),
            resume_ms=int(series.ts[row + 1]),
            missing=int(steps[row] // size) - 1,
        )
        for row in rows
    )


def _cache_file(path: Path) -> Path | None:
    """Where the parsed table of this exact file (path, size, mtime, inode) is kept, if anywhere."""
    folder = os.environ.get("DCABOT_CANDLE_CACHE", "")
    if folder.lower() in ("off", "0", "no"):
        return None
    try:
        stat = path.stat()
    except OSError:
        return None
    key = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{stat.st_ino}"
    digest = hashlib.sha1(key.encode(), usedforsecurity=False).hexdigest()
    base = Path(folder) if folder else Path(tempfile.gettempdir()) / "dcabot-candles"
    return base / f"{digest}.npy"


def _cached_table(path: Path) -> np.ndarray:
    """The checked table of a candle file: parsed once, then read back from a binary copy.

    Parsing 144,000 CSV rows takes a large share of a whole backtest; the copy is keyed by the
    file's path, size, modification time and inode, so an edited file is parsed again.
    """
    cache = _cache_file(path)
    if cache is not None and cache.is_file():
        try:
            return np.load(cache, allow_pickle=False)
        except (OSError, ValueError):
            pass  # unreadable copy: parse the CSV
    _check_header(path, CANDLE_HEADER)
    table = _read_numbers(path, len(CANDLE_HEADER))
    _check_values(path, table)
    if cache is not None:
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            partial = cache.with_suffix(f".{os.getpid()}.tmp.npy")
            np.save(partial, table, allow_pickle=False)
            os.replace(partial, cache)
        except OSError:
            pass  # a read-only or full disk only costs the next run the parse
    return table


def load_candles(path: str | Path) -> CandleFile:
    """Read and check a `timestamp_ms,open,high,low,close,volume` file; DataError names the line."""
    path = Path(path)
    table = _cached_table(path)
    ts = table[:, 0].astype(np.int64)
    interval = _check_order(path, ts)
    series = CandleSeries(
        ts=ts,
        open=np.ascontiguousarray(table[:, 1]),
        high=np.ascontiguousarray(table[:, 2]),
        low=np.ascontiguousarray(table[:, 3]),
        close=np.ascontiguousarray(table[:, 4]),
        volume=np.ascontiguousarray(table[:, 5]),
        interval_minutes=interval,
    )
    return CandleFile(path, series, find_gaps(series))


def _parse_funding_row(path: Path, line_no: int, row: list[str]) -> tuple[int, Decimal]:
    """One funding row as (timestamp ms, rate)."""
    if len(row) != 2:
        raise DataError(f"{path} line {line_no}: expected 2 columns, got {len(row)}")
    try:
        ts = int(row[0].strip())
        rate = Decimal(row[1].strip())
    except (ValueError, InvalidOperation):
        raise DataError(
            f"{path} line {line_no}: not a timestamp and a rate: {','.join(row)!r}"
        ) from None
    if not rate.is_finite() or abs(rate) >= 1:
        raise DataError(f"{path} line {line_no}: funding rate {row[1].strip()} is not a fraction")
    return ts, rate


def load_funding(path: str | Path) -> FundingSeries:
    """Read a `timestamp_ms,funding_rate` file (rates as fractions, 0.0001 = 0.01 %)."""
    path = Path(path)
    _check_header(path, FUNDING_HEADER)
    stamps: list[int] = []
    rates: list[Decimal] = []
    with path.open(newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        for line_no, row in enumerate(reader, start=FIRST_DATA_LINE):
            ts, rate = _parse_funding_row(path, line_no, row)
            if stamps and ts <= stamps[-1]:
                word = "duplicate" if ts == stamps[-1] else "out-of-order"
                raise DataError(f"{path} line {line_no}: {word} funding timestamp {ts}")
            stamps.append(ts)
            rates.append(rate)
    return FundingSeries(path, np.asarray(stamps, dtype=np.int64), tuple(rates))


def parse_when(text: str) -> int:
    """A UTC date or date-time (ISO 8601) or epoch milliseconds, as epoch milliseconds."""
    text = text.strip()
    if text.isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise DataError(f"not a date: {text!r} (use e.g. 2024-01-31 or 2024-01-31T12:00)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return math.floor(moment.timestamp() * 1000)
