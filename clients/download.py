"""``python main.py download``: page public candles into the shared CSV format, resumably.

    python main.py download --exchange bybit|phemex --symbol BTCUSDT --interval 1m \\
        --start 2024-01-01 --end 2024-02-01 --out FILE.csv [--base-url URL] [--testnet]

Writes ``timestamp_ms,open,high,low,close,volume`` (candle open time in UTC ms), closed candles
only, opening in [start, end). An existing file is resumed after its last timestamp, never
duplicating a row. BYBIT_BASE_URL / PHEMEX_BASE_URL override the address (tests only).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from tqdm import tqdm

from clients.errors import ExchangeError
from strategies.types import Candle

HEADER = "timestamp_ms,open,high,low,close,volume"
INTERVALS = {
    "1m": 1,
    "3m": 3,
    "5m": 5,
    "15m": 15,
    "30m": 30,
    "1h": 60,
    "2h": 120,
    "4h": 240,
    "6h": 360,
    "12h": 720,
    "1d": 1440,
}
PHEMEX_INTERVALS = frozenset({1, 5, 15, 30, 60, 240, 1440})
PAGE_CANDLES = {"bybit": 200, "phemex": 500}  # within each exchange's documented page limit
ENV_BASE_URL = {"bybit": "BYBIT_BASE_URL", "phemex": "PHEMEX_BASE_URL"}


class UsageError(Exception):
    """A bad command line, reported as one line."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse would print usage and exit; we want one line
        raise UsageError(message)


def _utc(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date: {text!r} (use YYYY-MM-DD[THH:MM])") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The validated command line, or UsageError."""
    parser = _Parser(prog="main.py download", description=__doc__.splitlines()[0])
    parser.add_argument("--exchange", required=True, choices=("bybit", "phemex"))
    parser.add_argument("--symbol", required=True)
    parser.add_argument("--interval", required=True, choices=tuple(INTERVALS))
    parser.add_argument("--start", required=True, type=_utc)
    parser.add_argument("--end", required=True, type=_utc)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--base-url", default=None)
    parser.add_argument("--testnet", action="store_true")
    args = parser.parse_args(argv)
    if args.start >= args.end:
        raise UsageError("--start must be before --end")
    if args.exchange == "phemex" and INTERVALS[args.interval] not in PHEMEX_INTERVALS:
        raise UsageError(f"Phemex has no {args.interval} candles")
    if not args.symbol.isalnum():
        raise UsageError(f"--symbol must be letters and digits, got {args.symbol!r}")
    return args


def main(argv: list[str], *, clock: Callable[[], float] = time.time) -> int:
    """Run the command; 0 when done, 2 on a bad command line, 1 when the download failed."""
    try:
        args = parse_args(argv)
    except UsageError as exc:
        print(f"download: error: {exc}", file=sys.stderr)
        return 2
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    client = _client(args)
    try:
        written = download(
            client,
            args.symbol.upper(),
            INTERVALS[args.interval],
            args.start,
            args.end,
            args.out,
            page=PAGE_CANDLES[args.exchange],
            clock=clock,
        )
    except (ExchangeError, OSError, ValueError) as exc:
        print(f"download: failed: {exc}", file=sys.stderr)
        return 1
    finally:
        client.close()
    print(f"{written} candles written to {args.out}")
    return 0


def _client(args: argparse.Namespace):
    base_url = args.base_url or os.environ.get(ENV_BASE_URL[args.exchange]) or None
    if args.exchange == "bybit":
        from clients.bybit import BybitClient  # noqa: PLC0415 - only the chosen one

        return BybitClient("", "", testnet=args.testnet, base_url=base_url)
    from clients.phemex import PhemexClient  # noqa: PLC0415

    return PhemexClient("", "", testnet=args.testnet, base_url=base_url)


def download(
    client,
    symbol: str,
    interval_minutes: int,
    start: datetime,
    end: datetime,
    out: Path,
    *,
    page: int,
    clock: Callable[[], float] = time.time,
) -> int:
    """Append the closed candles of [start, end) after the file's last row; the rows written."""
    step = interval_minutes * 60_000
    start_ms = -(-int(start.timestamp() * 1000) // step) * step
    stop_ms = min(int(end.timestamp() * 1000), int(clock() * 1000) // step * step)
    last = last_timestamp(out)
    fresh = not out.exists() or out.stat().st_size == 0
    cursor = start_ms if last is None else max(start_ms, last + step)
    total = max(0, -(-(stop_ms - cursor) // step))
    written = 0
    with (
        out.open("a", encoding="utf-8", newline="") as handle,
        tqdm(total=total, unit="candle", disable=not sys.stderr.isatty(), file=sys.stderr) as bar,
    ):
        if fresh:
            handle.write(HEADER + "\n")
        while cursor < stop_ms:
            window_end = min(stop_ms, cursor + page * step)
            candles = client.get_candle_range(symbol, interval_minutes, cursor, window_end - 1)
            floor = cursor if last is None else max(cursor, last + 1)
            rows = sorted(
                (c for c in candles if floor <= c.ts_ms < window_end), key=lambda c: c.ts_ms
            )
            for candle in rows:
                handle.write(csv_row(candle))
                last = candle.ts_ms
            handle.flush()  # a crash loses at most the page being written
            written += len(rows)
            bar.update((window_end - cursor) // step)
            cursor = window_end
    return written


def csv_row(candle: Candle) -> str:
    """One CSV line of a candle."""
    values = (candle.open, candle.high, candle.low, candle.close, candle.volume)
    return f"{candle.ts_ms}," + ",".join(str(v) for v in values) + "\n"


def last_timestamp(path: Path) -> int | None:
    """The last complete row's timestamp; a torn last line is cut off. None for a new file."""
    if not path.exists() or path.stat().st_size == 0:
        return None
    with path.open("rb+") as handle:
        first = handle.readline().decode("utf-8", "replace").strip()
        if first != HEADER:
            raise ValueError(f"{path} is not a candle CSV (first line {first!r})")
        size = handle.seek(0, os.SEEK_END)
        tail_start = max(0, size - 4096)
        handle.seek(tail_start)
        tail = handle.read()
        if not tail.endswith(b"\n"):
            cut = tail.rfind(b"\n") + 1
            handle.truncate(tail_start + cut)  # an interrupted write left half a row
            tail = tail[:cut]
    lines = [line for line in tail.decode("utf-8", "replace").splitlines() if line.strip()]
    if not lines or lines[-1] == HEADER:
        return None
    return int(lines[-1].split(",", 1)[0])
