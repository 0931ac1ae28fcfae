"""Candle files for browser backtests: the operator's folder of CSVs, topped up by downloads.

Files are named like ../shared/data/ohlcv's (``BTCUSDT-PERP-5m-2023-01_2024-05.csv``): symbol,
market, interval, then anything. What a file covers is read from its first and last rows (and
remembered while the file is unchanged). A period no file covers is downloaded from the
exchange's public candles (clients/download.py) into the same folder when the operator allows
it (BACKTEST_DOWNLOAD=bybit|phemex), so the next backtest of that period reads it from disk.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

NAME = re.compile(r"^(?P<symbol>[A-Z0-9]+)-(?P<market>PERP|SPOT)-(?P<interval>\d+)(?P<unit>[mhd])-")
UNIT_MINUTES = {"m": 1, "h": 60, "d": 1440}
# Indicators need 100 closed hours (the 1h EMA100) before the first decision, and a margin.
WARMUP = timedelta(days=5)
DOWNLOAD_LABELS = {1: "1m", 5: "5m", 15: "15m", 30: "30m", 60: "1h"}
_seen: dict[tuple[str, int, int], tuple[int, int] | None] = {}
_seen_lock = threading.Lock()
_download_lock = threading.Lock()


class CandleError(ValueError):
    """No usable candles for a backtest; the message says what is missing and what exists."""


@dataclass(frozen=True)
class CandleFile:
    """One CSV of the folder and the candle open times it covers (UTC ms)."""

    path: Path
    symbol: str
    market: str
    interval_minutes: int
    first_ms: int
    last_ms: int

    def covers(self, start_ms: int, end_ms: int) -> bool:
        """Whether every candle of [start_ms, end_ms) is inside the file's span."""
        return self.first_ms <= start_ms and self.last_ms + self.interval_minutes * 60_000 >= end_ms


def _span(path: Path) -> tuple[int, int] | None:
    """The first and last timestamps of a candle CSV (None when it has no rows)."""
    with path.open("rb") as handle:
        handle.readline()  # header
        first = handle.readline().split(b",", 1)[0].strip()
        size = handle.seek(0, os.SEEK_END)
        handle.seek(max(0, size - 4096))
        lines = [line for line in handle.read().splitlines() if line.strip()]
    if not first.isdigit() or not lines:
        return None
    last = lines[-1].split(b",", 1)[0].strip()
    return (int(first), int(last)) if last.isdigit() else None


def catalogue(data_dir: Path) -> list[CandleFile]:
    """Every candle file of the folder with its span; unreadable or empty files are left out."""
    found = []
    if not data_dir.is_dir():
        return found
    for path in sorted(data_dir.glob("*.csv")):
        match = NAME.match(path.name)
        if match is None:
            continue
        try:
            stat = path.stat()
            key = (str(path), stat.st_mtime_ns, stat.st_size)
            with _seen_lock:
                known = key in _seen
                span = _seen.get(key)
            if not known:
                span = _span(path)
                with _seen_lock:
                    _seen[key] = span
        except OSError:
            continue
        if span is not None:
            minutes = int(match["interval"]) * UNIT_MINUTES[match["unit"]]
            found.append(CandleFile(path, match["symbol"], match["market"], minutes, *span))
    return found


def symbols(data_dir: Path) -> list[str]:
    """The symbols the folder has candles for."""
    return sorted({f.symbol for f in catalogue(data_dir)})


def _rank(f: CandleFile, interval_minutes: int, warm_ms: int) -> tuple:
    """Sort key: perpetual before spot, warm-up included, then the coarsest interval that still
    fits the decision cadence (fewer rows to read), then the finest."""
    fits = f.interval_minutes <= interval_minutes
    return (
        f.market != "PERP",
        f.first_ms > warm_ms,
        not fits,
        -f.interval_minutes if fits else f.interval_minutes,
    )


def find_file(
    data_dir: Path, symbol: str, interval_minutes: int, start: datetime, end: datetime
) -> CandleFile | None:
    """The best file covering the period (with warm-up when one has it), or None."""
    start_ms, end_ms = int(start.timestamp() * 1000), int(end.timestamp() * 1000)
    warm_ms = int((start - WARMUP).timestamp() * 1000)
    usable = [f for f in catalogue(data_dir) if f.symbol == symbol and f.covers(start_ms, end_ms)]
    return min(usable, key=lambda f: _rank(f, interval_minutes, warm_ms), default=None)


def _client(exchange: str, env: dict):
    """A public-data client of the exchange (no keys; base URL from the settings)."""
    if exchange == "bybit":
        from clients.bybit import BybitClient  # noqa: PLC0415 - only the configured one

        return BybitClient("", "", testnet=False, base_url=env.get("BYBIT_BASE_URL") or None)
    from clients.phemex import PhemexClient  # noqa: PLC0415

    return PhemexClient("", "", testnet=False, base_url=env.get("PHEMEX_BASE_URL") or None)


def download_file(
    settings, symbol: str, interval_minutes: int, start: datetime, end: datetime
) -> Path:
    """Download [start - warm-up, end) into the folder under a name the catalogue reads."""
    from clients.download import PAGE_CANDLES, download  # noqa: PLC0415

    exchange = settings.download_exchange
    minutes = interval_minutes if interval_minutes in DOWNLOAD_LABELS else 5
    begin = start - WARMUP
    name = (
        f"{symbol}-PERP-{DOWNLOAD_LABELS[minutes]}-{begin:%Y-%m-%d}_{end:%Y-%m-%d}-{exchange}.csv"
    )
    target = Path(settings.data_dir) / name
    partial = target.with_suffix(".part")
    Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
    client = _client(exchange, settings.client_env)
    # One download at a time: two jobs of the same period must not write one file together.
    with _download_lock:
        if target.exists():
            return target
        try:
            download(client, symbol, minutes, begin, end, partial, page=PAGE_CANDLES[exchange])
        finally:
            client.close()
        partial.replace(target)  # only a complete file gets a name the catalogue reads
    return target


def candles_for(
    settings,
    symbol: str,
    interval_minutes: int,
    start: datetime,
    end: datetime,
    say: Callable[[str], None],
) -> CandleFile:
    """A file covering the period: from the folder, else downloaded when allowed."""
    data_dir = Path(settings.data_dir)
    found = find_file(data_dir, symbol, interval_minutes, start, end)
    if found is not None:
        return found
    if settings.download_exchange:
        say(f"Downloading {symbol} candles from {settings.download_exchange.capitalize()}.")
        try:
            path = download_file(settings, symbol, interval_minutes, start, end)
        except Exception as exc:  # noqa: BLE001 - exchange, network and file errors alike
            raise CandleError(f"Could not download {symbol} candles: {exc}") from None
        found = find_file(data_dir, symbol, interval_minutes, start, end)
        if found is not None:
            return found
        raise CandleError(
            f"The exchange had no {symbol} candles for all of "
            f"{start:%Y-%m-%d} to {end:%Y-%m-%d} (downloaded {path.name})."
        )
    have = [f for f in catalogue(data_dir) if f.symbol == symbol]
    spans = ", ".join(
        f"{datetime.fromtimestamp(f.first_ms / 1000, UTC):%Y-%m-%d} to "
        f"{datetime.fromtimestamp(f.last_ms / 1000, UTC):%Y-%m-%d}"
        for f in have
    )
    known = (
        f"; there are candles for {spans}"
        if spans
        else (
            f"; there are no {symbol} candles at all"
            if symbols(data_dir)
            else "; the candle folder is empty"
        )
    )
    raise CandleError(f"No {symbol} candles cover {start:%Y-%m-%d} to {end:%Y-%m-%d}{known}.")
