"""Monte Carlo risk of ruin: reproducible paths, a bootstrap true to the data, liquidation odds."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

import numpy as np
import pytest

from clients.candle_market import CandleSeries
from strategies import STRATEGIES
from strategies.base import Strategy
from strategies.types import Action, ActionKind, Decision, Snapshot, entry_side
from workflows.backtest import main as backtest_main
from workflows.backtest_montecarlo import (
    MonteCarloSpec,
    block_indices,
    path_seeds,
    resample,
    run_monte_carlo,
)
from workflows.backtest_run import BacktestConfig

START_MS = 1_672_531_200_000  # 2023-01-01 00:00 UTC
FIVE = 300_000


def random_walk(count: int, seed: int, vol: float = 0.004) -> CandleSeries:
    """BTC-like 5-minute candles with fat tails (Student t steps) on a 0.1 tick."""
    rng = np.random.default_rng(seed)
    steps = rng.standard_t(3, count + 1) * vol / np.sqrt(3)
    path = 30_000.0 * np.exp(np.cumsum(steps))
    opens, closes = np.round(path[:-1], 1), np.round(path[1:], 1)
    wick = np.abs(rng.normal(0.0, vol / 2, (2, count)))
    highs = np.round(np.maximum(opens, closes) * (1 + wick[0]), 1)
    lows = np.round(np.minimum(opens, closes) * (1 - wick[1]), 1)
    ts = START_MS + np.arange(count, dtype=np.int64) * FIVE
    return CandleSeries(ts, opens, highs, lows, closes, np.full(count, 5.0), 5)


def write_csv(series: CandleSeries, path: Path) -> Path:
    """The series as a candle file."""
    table = np.column_stack(
        [series.ts, series.open, series.high, series.low, series.close, series.volume]
    )
    rows = "\n".join(
        f"{int(r[0])},{r[1]!r},{r[2]!r},{r[3]!r},{r[4]!r},{r[5]!r}" for r in table.tolist()
    )
    path.write_text("timestamp_ms,open,high,low,close,volume\n" + rows + "\n")
    return path


@pytest.fixture(scope="module")
def market_file(tmp_path_factory) -> Path:
    """Twelve days of volatile 5-minute candles after the 100-hour warm-up."""
    folder = tmp_path_factory.mktemp("mc")
    return write_csv(random_walk(1200 + 12 * 288, seed=11, vol=0.006), folder / "walk.csv")


def config(path: Path, **changes) -> BacktestConfig:
    """A single-symbol Long on the generated file, 1,000 USDT."""
    values = {"symbols": ["BTCUSDT"], "data": [path], "balance": D(1000)}
    values.update(changes)
    return BacktestConfig(**values)


def test_a_fixed_seed_gives_identical_results_and_another_seed_differs(market_file):
    spec = MonteCarloSpec(paths=3, block=48, seed=42, workers=1)
    first = run_monte_carlo(config(market_file), spec)
    again = run_monte_carlo(config(market_file), spec)
    assert first == again
    assert first["path_seeds"] == path_seeds(42, 3)
    other = run_monte_carlo(config(market_file), MonteCarloSpec(3, 48, 43, 1))
    assert other["per_path"] != first["per_path"]


def test_block_bootstrap_preserves_the_return_distribution():
    series = random_walk(40_000, seed=3)
    original = np.diff(np.log(series.close))
    rng = np.random.default_rng(5)
    picks = block_indices(len(series), 288, rng)
    assert len(picks) == len(series) - 1 and picks.min() >= 1 and picks.max() < len(series)
    path = resample(series, picks, D("0.1"))
    returns = np.diff(np.log(path.close))
    for q in (1, 5, 25, 50, 75, 95, 99):
        expected = np.percentile(original, q)
        assert np.percentile(returns, q) == pytest.approx(expected, rel=0.06, abs=5e-5)
    assert returns.std() == pytest.approx(original.std(), rel=0.05)
    # Within a block consecutive candles are the data's own consecutive candles.
    assert (np.diff(picks[:288]) == 1).all()
    assert (path.high >= np.maximum(path.open, path.close)).all()
    assert (path.low <= np.minimum(path.open, path.close)).all()
    assert (path.ts == series.ts).all()


class OpenOnce(Strategy):
    """Opens one small position at market on its first decision and never adds."""

    name = "open_once_test"

    def __init__(self, params=None):
        super().__init__({})
        self.opened = False

    def decide(self, snapshot: Snapshot) -> Decision:
        """A 20 %-of-balance notional once; nothing after."""
        if self.opened:
            return Decision(actions=(), conclusion="holding")
        self.opened = True
        qty = (snapshot.balance * D("0.2") / snapshot.ask).quantize(D("0.001"))
        action = Action(
            ActionKind.OPEN, snapshot.side, entry_side(snapshot.side), qty, None, False, False, "t"
        )
        return Decision(actions=(action,), conclusion="open")


def test_a_strategy_that_never_adds_is_never_liquidated(market_file, monkeypatch):
    monkeypatch.setitem(STRATEGIES, OpenOnce.name, OpenOnce)
    result = run_monte_carlo(
        config(market_file, strategy=OpenOnce.name), MonteCarloSpec(8, 48, 1, workers=1)
    )
    assert result["liquidation_probability"] == 0.0
    assert all(p["liquidations"] == 0 for p in result["per_path"])
    assert all(p["return_pct"] != 0 for p in result["per_path"])  # it did hold a position


def test_the_probability_of_liquidation_rises_with_leverage(market_file):
    spec = MonteCarloSpec(paths=10, block=48, seed=7, workers=1)
    odds = [
        run_monte_carlo(config(market_file, leverage=D(lev), margin_mode="isolated"), spec)[
            "liquidation_probability"
        ]
        for lev in (2, 10, 50)
    ]
    assert odds[0] <= odds[1] <= odds[2]
    assert odds[2] > odds[0]


def test_the_command_prints_the_distribution_and_writes_the_report(market_file, tmp_path, capsys):
    report, out = tmp_path / "mc.html", tmp_path / "mc.json"
    argv = ["--symbol", "BTCUSDT", "--data", str(market_file), "--monte-carlo", "2"]
    argv += ["--block", "48", "--seed", "9", "--workers", "1"]
    assert backtest_main([*argv, "--report", str(report), "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "Monte Carlo: 2 paths, block 48 candles, seed 9" in printed
    assert "P(at least one liquidation)" in printed
    page = report.read_text()
    assert 'id="bands"' in page and "liquidation-probability" in page
    assert str(path_seeds(9, 2)[0]) in out.read_text()


def test_bad_monte_carlo_options_are_one_line_errors(market_file, capsys):
    argv = ["--symbol", "BTCUSDT", "--data", str(market_file), "--monte-carlo", "0"]
    assert backtest_main(argv) == 2
    assert capsys.readouterr().err.strip() == "error: --monte-carlo needs at least one path"
