"""`python main.py backtest`: the summary, --json, --report, sweeps and one-line errors."""

from __future__ import annotations

import json
from decimal import Decimal as D

import numpy as np
import pytest

import main as cli
from benchmarks.backtest_bench import generated_year
from clients.candle_market import CandleSeries, aggregate

EXACT = D("1e-18")  # average entry prices are 28-digit Decimals, so sums differ past that
SEED_ROWS = 60 * 24 * 9  # nine days of minutes: four days of warm-up, five of decisions


def write_csv(series: CandleSeries, path) -> str:
    """A candle file in the shared data format."""
    lines = ["timestamp_ms,open,high,low,close,volume"]
    lines += [
        f"{t},{o!r},{h!r},{lo!r},{c!r},{v!r}"
        for t, o, h, lo, c, v in zip(
            series.ts.tolist(),
            series.open.tolist(),
            series.high.tolist(),
            series.low.tolist(),
            series.close.tolist(),
            series.volume.tolist(),
            strict=True,
        )
    ]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


@pytest.fixture(scope="module")
def five_minute_file(tmp_path_factory):
    """Nine days of generated BTC-like five-minute candles."""
    series = aggregate(generated_year(SEED_ROWS, seed=10), 5)
    return write_csv(series, tmp_path_factory.mktemp("data") / "btc-5m.csv")


@pytest.fixture(scope="module")
def second_file(tmp_path_factory):
    """Another symbol over the same days."""
    series = aggregate(generated_year(SEED_ROWS, seed=13), 5)
    return write_csv(series, tmp_path_factory.mktemp("data") / "eth-5m.csv")


def run(argv, capsys) -> tuple[int, str, str]:
    """main.py with arguments; (exit code, stdout, stderr)."""
    code = cli.main(["backtest", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_a_run_prints_a_summary_and_writes_json_with_decimals_as_strings(
    five_minute_file, tmp_path, capsys
):
    """The JSON's money is exact: the final balance is the start plus the trades' PnL less fees."""
    out_json = tmp_path / "out.json"
    code, out, err = run(
        [
            "--symbol",
            "BTCUSDT",
            "--side",
            "Long",
            "--data",
            five_minute_file,
            "--params",
            '{"profit_pnl": 0.05}',
            "--balance",
            "500",
            "--json",
            str(out_json),
        ],
        capsys,
    )
    assert code == 0 and err == ""  # no progress bar when stderr is not a terminal
    for label in ("Total return", "Max drawdown (equity)", "Win rate", "Sharpe", "Liquidations"):
        assert label in out
    document = json.loads(out_json.read_text())
    metrics, trades = document["metrics"], document["trades"]
    assert document["config"]["params"] == {"profit_pnl": "0.05"}
    assert isinstance(metrics["final_balance"], str) and trades
    assert {t["action"] for t in trades} == {"OPEN", "ADD", "REDUCE", "CLOSE"}
    realised = sum(D(t["realised_pnl"]) for t in trades)
    fees = sum(D(t["fee"]) for t in trades)
    assert D(metrics["fees_paid"]) == fees
    expected = D(500) + realised - fees - D(metrics["funding_paid"])
    assert abs(D(metrics["final_balance"]) - expected) < EXACT  # 28-digit Decimal rounding


def test_the_report_is_one_self_contained_html_file(five_minute_file, tmp_path, capsys):
    """Plotly's JavaScript is inlined, nothing is fetched from a CDN, the charts are declared."""
    report = tmp_path / "report.html"
    code, out, _ = run(
        ["--symbol", "BTCUSDT", "--data", five_minute_file, "--report", str(report)], capsys
    )
    assert code == 0 and f"wrote {report}" in out
    page = report.read_text()
    assert "<script src=" not in page and "cdn.plot.ly/plotly" not in page.split("</script>")[-1]
    assert "Plotly.newPlot" in page and 'id="charts"' in page
    assert "Max margin usage" in page and "EMA100 (1h)" in page
    assert len(page) < 8_000_000  # plotly.js is ~4.8 MB; the data is decimated


def test_two_symbols_share_one_balance(five_minute_file, second_file, tmp_path, capsys):
    """--symbols/--data pairs: both trade, and the one wallet books both symbols' fills."""
    out_json, report = tmp_path / "multi.json", tmp_path / "multi.html"
    code, _, _ = run(
        [
            "--symbols",
            "BTCUSDT,ETHUSDT",
            "--data",
            f"{five_minute_file},{second_file}",
            "--json",
            str(out_json),
            "--report",
            str(report),
        ],
        capsys,
    )
    assert code == 0
    page = report.read_text()
    assert "BTCUSDT price, EMAs and fills" in page and "ETHUSDT price, EMAs and fills" in page
    document = json.loads(out_json.read_text())
    trades = document["trades"]
    assert {t["symbol"] for t in trades} == {"BTCUSDT", "ETHUSDT"}
    net = sum(D(t["realised_pnl"]) - D(t["fee"]) for t in trades)
    assert abs(D(document["metrics"]["final_balance"]) - (D(1000) + net)) < EXACT


class Terminal:
    """A stderr that says it is a terminal and keeps what is written."""

    def __init__(self):
        self.text = ""

    def isatty(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self.text += text
        return len(text)

    def flush(self) -> None:
        pass


def test_a_progress_bar_shows_on_a_terminal(five_minute_file, capsys, monkeypatch):
    """On a terminal tqdm counts decisions; elsewhere (the tests above) stderr stays empty."""
    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    code, _, _ = run(["--symbol", "BTCUSDT", "--data", five_minute_file], capsys)
    assert code == 0 and "decision" in terminal.text


BAD_ARGS = [
    (["--side", "long"], "--side must be Long or Short"),
    (["--params", "{oops"], "--params is not valid JSON"),
    (["--params", '{"profit_pnl": "lots"}'], "'profit_pnl' must be a number"),
    (["--params", '{"nope": 1}'], "unknown strategy parameter 'nope'"),
    (["--ema-interval", "7"], "--ema-interval 7 is not a multiple"),
    (["--interval-minutes", "3"], "--interval-minutes 3 is not a multiple"),
    (["--balance", "0"], "--balance must be positive"),
    (["--start", "2031-01-01"], "is after the last candle"),
    (["--end", "2023-01-01T06:00"], "too few candles for the indicators"),
]


@pytest.mark.parametrize("extra, message", BAD_ARGS)
def test_bad_options_exit_2_with_one_line(five_minute_file, capsys, extra, message):
    """Misuse is one readable line on stderr and exit code 2."""
    code, out, err = run(["--symbol", "BTCUSDT", "--data", five_minute_file, *extra], capsys)
    assert code == 2 and out == ""
    assert message in err and err.count("\n") == 1 and err.startswith("error: ")


def test_bad_data_exits_2_naming_the_file_and_line(tmp_path, capsys):
    """An unsorted file is refused before anything runs."""
    path = tmp_path / "bad.csv"
    path.write_text(
        "timestamp_ms,open,high,low,close,volume\n"
        "1700006460000,1,1,1,1,1\n1700006400000,1,1,1,1,1\n"
    )
    code, _, err = run(["--symbol", "BTCUSDT", "--data", str(path)], capsys)
    assert code == 2 and f"{path} line 3: timestamps are not sorted" in err


def test_hourly_data_says_how_it_was_adapted(tmp_path, capsys):
    """Coarser than five minutes: decisions every hour, volatility read on hourly candles."""
    hourly = aggregate(generated_year(60 * 24 * 30, seed=5), 60)
    path = write_csv(hourly, tmp_path / "btc-1h.csv")
    code, out, _ = run(["--symbol", "BTCUSDT", "--data", path], capsys)
    assert code == 0
    assert "decisions every 60 minutes" in out
    assert "the last 100 60-minute candles instead" in out


def test_a_sweep_runs_the_grid_on_two_processes_and_ranks_by_return(five_minute_file, capsys):
    """'profit_pnl=...;leverage=...' is a 2 x 2 grid; rows come best return first."""
    code, out, err = run(
        [
            "--symbol",
            "BTCUSDT",
            "--data",
            five_minute_file,
            "--sweep",
            "profit_pnl=0.05,0.2;leverage=5,10",
        ],
        capsys,
    )
    assert code == 0 and "4 runs" in err and "2 processes" in err
    lines = out.strip().splitlines()
    assert lines[0].split()[:3] == ["#", "profit_pnl", "leverage"]
    body = [line.split() for line in lines[2:]]
    assert len(body) == 4
    assert {(row[1], row[2]) for row in body} == {
        ("0.05", "5"),
        ("0.05", "10"),
        ("0.2", "5"),
        ("0.2", "10"),
    }
    returns = [float(row[3]) for row in body]
    assert returns == sorted(returns, reverse=True)


@pytest.mark.parametrize(
    "spec, message",
    [
        ("foo=1,2", "unknown parameter 'foo'"),
        ("leverage=0", "leverage must be positive"),
        ("profit_pnl", "is not name=value1,value2"),
        ("profit_pnl=-1", "'profit_pnl' must be between"),
    ],
)
def test_a_bad_sweep_is_refused_before_anything_runs(five_minute_file, capsys, spec, message):
    """Names are checked against the strategy's parameters, values against their ranges."""
    code, _, err = run(["--symbol", "BTCUSDT", "--data", five_minute_file, "--sweep", spec], capsys)
    assert code == 2 and message in err


def test_generated_candles_are_a_plausible_market():
    """The CLI tests' data: positive, on a 0.1 tick, high/low around open/close."""
    series = generated_year(SEED_ROWS, seed=10)
    assert (series.low <= np.minimum(series.open, series.close)).all()
    assert (series.high >= np.maximum(series.open, series.close)).all()
    assert np.allclose(series.close * 10, np.round(series.close * 10))


def test_the_report_names_data_files_without_their_folders(tmp_path):
    """A report shown in the web app must not reveal the server's paths."""
    from workflows.backtest_report import _config_rows  # noqa: PLC0415
    from workflows.backtest_run import BacktestConfig  # noqa: PLC0415

    class Run:
        config = BacktestConfig(
            symbols=["BTCUSDT"], data=[tmp_path / "deep" / "BTC.csv"], funding=[tmp_path / "f.csv"]
        )
        plans = {}

    rows = dict(_config_rows(Run()))
    assert rows["data"] == '["BTC.csv"]' and rows["funding"] == '["f.csv"]'
    assert str(tmp_path) not in "".join(rows.values())
