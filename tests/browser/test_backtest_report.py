"""The backtest report opens in headless Chromium with its charts drawn and no console errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.backtest_bench import generated_year
from clients.candle_market import aggregate
from tests.fixtures.browser import ARTIFACTS, console_errors, open_chromium
from workflows.backtest_report import write_report
from workflows.backtest_run import BacktestConfig, run_backtest

pytestmark = pytest.mark.browser


@pytest.fixture
def chromium(tmp_path):
    """Headless Chromium tall enough for the whole report."""
    with open_chromium(tmp_path, (1400, 2600)) as driver:
        yield driver


def write_candles(path: Path) -> Path:
    """Twelve days of generated five-minute candles in the shared CSV format."""
    series = aggregate(generated_year(60 * 24 * 12, seed=10), 5)
    lines = ["timestamp_ms,open,high,low,close,volume"] + [
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
    return path


def test_the_report_draws_its_charts_without_console_errors(chromium, tmp_path):
    """Every panel is an SVG plot with its traces; nothing is logged as an error."""
    from selenium.webdriver.common.by import By  # noqa: PLC0415
    from selenium.webdriver.support.ui import WebDriverWait  # noqa: PLC0415

    run = run_backtest(
        BacktestConfig(
            ["BTCUSDT"],
            [write_candles(tmp_path / "btc.csv")],
            params={"profit_pnl": "0.05"},
            balance=500,
        )
    )
    report = write_report(run, tmp_path / "report.html")
    chromium.get(report.as_uri())
    WebDriverWait(chromium, 20).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, ".plotly .main-svg .scatterlayer .trace")
    )
    assert chromium.find_elements(By.CSS_SELECTOR, ".plotly .main-svg")
    traces = chromium.find_elements(By.CSS_SELECTOR, ".plotly .scatterlayer .trace")
    markers = chromium.find_elements(By.CSS_SELECTOR, ".plotly .scatterlayer .trace .point")
    titles = [t.text for t in chromium.find_elements(By.CSS_SELECTOR, ".plotly .annotation-text")]
    assert "BTCUSDT price, EMAs and fills" in titles and "Drawdown (%)" in titles
    assert len(traces) >= 9 and markers  # close, 3 EMAs, fills, equity, wallet, margin, drawdown
    assert "Max drawdown (equity)" in chromium.find_element(By.TAG_NAME, "body").text
    assert console_errors(chromium) == []
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "backtest_report.png"
    assert chromium.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
