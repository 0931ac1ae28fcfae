"""The download command against the fake exchange: CSV format, paging, resume, bad arguments."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from clients import download
from strategies.types import Candle

DAY_MS = 86_400_000
JAN_1 = int(datetime(2024, 1, 1, tzinfo=UTC).timestamp() * 1000)
KLINE = {"bybit": "/v5/market/kline", "phemex": "/exchange/public/md/v2/kline/list"}


def minute_candles(start_ms: int, count: int) -> list[Candle]:
    """One-minute candles with values derived from their index."""
    return [
        Candle(
            start_ms + i * 60_000,
            Decimal(30000 + i),
            Decimal("30001.5") + i,
            Decimal("29999.5") + i,
            Decimal("30000.7") + i,
            Decimal(i % 7) + Decimal("0.125"),
        )
        for i in range(count)
    ]


@pytest.fixture
def market(fake_exchange):
    """The fake exchange listing BTCUSDT with two days of scripted one-minute candles."""
    fake_exchange.set_price("BTCUSDT", Decimal("30000"))
    fake_exchange.set_candles("BTCUSDT", 1, minute_candles(JAN_1 - 60 * 60_000, 2 * 1440 + 120))
    return fake_exchange


def run(fx, exchange: str, out, start="2024-01-01", end="2024-01-02", *extra) -> int:
    argv = [
        "--exchange",
        exchange,
        "--symbol",
        "BTCUSDT",
        "--interval",
        "1m",
        "--start",
        start,
        "--end",
        end,
        "--out",
        str(out),
        "--base-url",
        fx.url,
        *extra,
    ]
    return download.main(argv)


def rows(path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


@pytest.mark.parametrize("exchange", ["bybit", "phemex"])
def test_downloads_a_day_of_closed_candles_in_the_shared_format(market, tmp_path, exchange, capsys):
    out = tmp_path / "btc.csv"
    assert run(market, exchange, out) == 0
    lines = rows(out)
    assert lines[0] == "timestamp_ms,open,high,low,close,volume"
    assert len(lines) == 1 + 1440
    stamps = [int(line.split(",")[0]) for line in lines[1:]]
    assert stamps == list(range(JAN_1, JAN_1 + DAY_MS, 60_000))
    assert lines[1] == f"{JAN_1},30060,30061.5,30059.5,30060.7,4.125"
    assert capsys.readouterr().err == ""  # no progress bar when stderr is not a terminal
    pages = len(market.requests_to(KLINE[exchange]))
    assert pages == (8 if exchange == "bybit" else 3)  # 200 and 500 candles a page


@pytest.mark.parametrize("exchange", ["bybit", "phemex"])
def test_a_second_run_resumes_after_the_last_row_without_duplicates(market, tmp_path, exchange):
    out = tmp_path / "btc.csv"
    assert run(market, exchange, out, "2024-01-01", "2024-01-01T12:00") == 0
    assert len(rows(out)) == 1 + 720
    assert run(market, exchange, out, "2024-01-01", "2024-01-02") == 0
    stamps = [int(line.split(",")[0]) for line in rows(out)[1:]]
    assert stamps == list(range(JAN_1, JAN_1 + DAY_MS, 60_000))


def test_an_interrupted_download_fails_with_one_line_and_resumes(market, tmp_path, capsys):
    out = tmp_path / "btc.csv"
    market.inject("5xx", path=KLINE["bybit"], skip=2, times=3)  # the third page keeps failing
    assert run(market, "bybit", out) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("download: failed:")
    assert len(rows(out)) == 1 + 400
    assert run(market, "bybit", out) == 0
    stamps = [int(line.split(",")[0]) for line in rows(out)[1:]]
    assert stamps == list(range(JAN_1, JAN_1 + DAY_MS, 60_000))


def test_a_torn_last_line_is_dropped_before_resuming(market, tmp_path):
    out = tmp_path / "btc.csv"
    assert run(market, "bybit", out, "2024-01-01", "2024-01-01T01:00") == 0
    with out.open("a", encoding="utf-8") as handle:
        handle.write(f"{JAN_1 + 3_600_000},30120,301")  # a crash mid-write
    assert run(market, "bybit", out, "2024-01-01", "2024-01-01T02:00") == 0
    lines = rows(out)
    assert len(lines) == 1 + 120
    assert lines[61].startswith(f"{JAN_1 + 3_600_000},30120,30121.5,")


def test_the_forming_candle_is_never_written(market, tmp_path):
    now = JAN_1 + 30 * 60_000 + 15_000  # half past midnight and 15 s
    out = tmp_path / "btc.csv"
    argv = [
        "--exchange",
        "bybit",
        "--symbol",
        "BTCUSDT",
        "--interval",
        "1m",
        "--start",
        "2024-01-01",
        "--end",
        "2024-01-02",
        "--out",
        str(out),
        "--base-url",
        market.url,
    ]
    assert download.main(argv, clock=lambda: now / 1000) == 0
    assert int(rows(out)[-1].split(",")[0]) == JAN_1 + 29 * 60_000


def test_the_base_url_comes_from_the_environment_when_not_given(market, tmp_path, monkeypatch):
    monkeypatch.setenv("PHEMEX_BASE_URL", market.url)
    out = tmp_path / "btc.csv"
    argv = [
        "--exchange",
        "phemex",
        "--symbol",
        "BTCUSDT",
        "--interval",
        "1m",
        "--start",
        "2024-01-01",
        "--end",
        "2024-01-01T00:10",
        "--out",
        str(out),
    ]
    assert download.main(argv) == 0
    assert len(rows(out)) == 11


@pytest.mark.parametrize(
    ("argv", "complaint"),
    [
        (["--exchange", "kraken"], "invalid choice"),
        (
            [
                "--exchange",
                "bybit",
                "--symbol",
                "BTCUSDT",
                "--interval",
                "7m",
                "--start",
                "2024-01-01",
                "--end",
                "2024-01-02",
                "--out",
                "x.csv",
            ],
            "invalid choice",
        ),
        (
            [
                "--exchange",
                "bybit",
                "--symbol",
                "BTCUSDT",
                "--interval",
                "1m",
                "--start",
                "2024-02-01",
                "--end",
                "2024-01-01",
                "--out",
                "x.csv",
            ],
            "--start must be before --end",
        ),
        (
            [
                "--exchange",
                "bybit",
                "--symbol",
                "BTCUSDT",
                "--interval",
                "1m",
                "--start",
                "yesterday",
                "--end",
                "2024-01-01",
                "--out",
                "x.csv",
            ],
            "not a date",
        ),
        (
            [
                "--exchange",
                "phemex",
                "--symbol",
                "BTCUSDT",
                "--interval",
                "3m",
                "--start",
                "2024-01-01",
                "--end",
                "2024-01-02",
                "--out",
                "x.csv",
            ],
            "Phemex has no 3m",
        ),
        (["--exchange", "bybit", "--interval", "1m"], "required"),
    ],
)
def test_bad_arguments_exit_2_with_one_readable_line(argv, complaint, capsys, tmp_path):
    assert download.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and complaint in err[0] and err[0].startswith("download: error:")
    assert not (tmp_path / "x.csv").exists()


def test_a_file_that_is_not_a_candle_csv_is_refused(market, tmp_path, capsys):
    out = tmp_path / "notes.csv"
    out.write_text("hello\n", encoding="utf-8")
    assert run(market, "bybit", out) == 1
    assert "not a candle CSV" in capsys.readouterr().err
    assert out.read_text(encoding="utf-8") == "hello\n"
