"""Settings that cannot work stop the run before any order, with one line and the right code."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from saas.services.runs.scheduling import RunReport, runner_reason
from tests.faults.harness import run
from workflows.runner import RunnerConfigError, parse_args, settings

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", ["RUNNER_TIME_LIMIT", "RUNNER_HORIZON", "RUNNER_KILL_GRACE"])
@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_a_runner_setting_must_be_a_finite_number(name, value):
    """nan passed every comparison: no time limit and a wait loop spinning a core."""
    with pytest.raises(RunnerConfigError, match=f"{name} must be a finite number"):
        settings(parse_args([]), {name: value})


@pytest.mark.parametrize("option", ["--time-limit", "--horizon"])
def test_a_runner_option_must_be_a_finite_number(option):
    """The command line refuses nan too, as one line (main prints it and exits 2)."""
    with pytest.raises(RunnerConfigError, match=f"argument {option}: must be a finite number"):
        parse_args([option, "nan"])


def test_run_due_with_a_bad_option_says_one_line_and_exits_2():
    """No argparse usage block: the operator reads one error line."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "run-due", "--time-limit", "nan"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: python main.py run-due: argument --time-limit: "
        "must be a finite number of at least 0, got 'nan'"
    ]


BAD_SETTINGS = [
    ("unlisted symbol on paper", {"EXCHANGE": "paper", "SYMBOL": "ZZZNOTREALUSDT:Long:True"},
     "ZZZNOTREALUSDT is not listed on paper"),
    ("malformed symbol", {"SYMBOL": "btc-usdt:Long:True"}, "is not a USDT perpetual symbol"),
    ("unlisted symbol", {"SYMBOL": "NOPEUSDT:Long:True"}, "NOPEUSDT is not listed on bybit"),
    ("interval not offered", {"EMA_INTERVAL": "129600"}, "bybit has no 129600-minute candles"),
    ("leverage above the instrument's", {"LEVERAGE": "101"}, "leverage 101 is outside"),
    ("DATA_DIR is a file", {"DATA_DIR": "FILE"}, "cannot be used"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "env", "message"), BAD_SETTINGS, ids=[c[0] for c in BAD_SETTINGS])
def test_a_setting_the_exchange_cannot_trade_exits_2_before_any_order(
    standalone_home, case, env, message
):
    """Exit 2, one line naming the setting; the exchange received no write at all."""
    if env.get("DATA_DIR") == "FILE":
        (standalone_home.data_dir.parent / "a-file").write_text("")
        env = {"DATA_DIR": str(standalone_home.data_dir.parent / "a-file")}
    outcome = run(standalone_home, **env)
    assert outcome.code == 2, outcome.stderr
    assert len(outcome.lines) == 1 and message in outcome.stderr, outcome.stderr
    assert [r.path for r in standalone_home.fx.requests if r.method == "POST"] == []
    assert not (standalone_home.data_dir / "paper-state.json").exists()


@pytest.mark.parametrize(
    ("code", "error", "recorded"),
    [
        (1, "error: cannot use the database at postgresql://x: refused", "cannot use the database"),
        (1, "error: the bot's run lock was lost (...)", "run lock was lost"),
        (2, "error: BTCUSDT Long: leverage 101 is outside", "configuration error: "),
    ],
)
def test_run_due_records_the_cause_the_process_gave(code, error, recorded):
    """An outage is recorded as what it is, never as a "configuration error"."""
    report = RunReport(1, NOW, NOW, returncode=code, error=error)
    reason = runner_reason(report)
    assert recorded in reason
    assert ("configuration error" in reason) == (code == 2)
