"""`python main.py`: exit statuses, configuration errors that place nothing, and the demo."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import main

ROOT = Path(__file__).resolve().parents[1]


def run_main(tmp_path, *args, **env):
    """Run main.py in its own process with exactly this environment (plus PATH)."""
    full_env = {"PATH": os.environ["PATH"], "DATA_DIR": str(tmp_path / "data"), **env}
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *args],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SYMBOL": "BTCUSDT:Long:True"}, "API_KEY is not set"),
        ({"EXCHANGE": "paper", "SYMBOL": "BTCUSDT:Long"}, "'BTCUSDT:Long' must look like"),
        (
            {"EXCHANGE": "paper", "SYMBOL": "BTCUSDT:Long:True", "EMA_INTERVAL": "abc"},
            "EMA_INTERVAL must be a whole number",
        ),
        (
            {"EXCHANGE": "paper", "SYMBOL": "BTCUSDT:Long:True", "STRATEGY_PARAMS": '{"foo": 1}'},
            "foo",
        ),
        (
            {"EXCHANGE": "paper", "SYMBOL": "BTCUSDT:Long:True", "LEVERAGE": "0"},
            "LEVERAGE must be above 0",
        ),
    ],
)
def test_configuration_errors_exit_non_zero_with_one_line_and_place_nothing(tmp_path, env, message):
    proc = run_main(tmp_path, **env)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]
    assert not (tmp_path / "data" / "paper-state.json").exists()


def test_paper_run_needs_no_keys_and_logs_json_on_stdout(tmp_path):
    proc = run_main(tmp_path, EXCHANGE="paper", SYMBOL="BTCUSDT:Long:True,BTCUSDT:Short:True")
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    decided = [r for r in records if r.get("action") == "decide"]
    assert {r["symbol"] for r in decided} == {"BTCUSDT"}
    assert len(decided) == 2
    assert (tmp_path / "data" / "paper-state.json").exists()


def test_unknown_command_is_an_error(tmp_path):
    proc = run_main(tmp_path, "frobnicate")
    assert proc.returncode == 2 and "unknown command" in proc.stderr


def test_dotenv_beside_main_does_not_override_the_real_environment(tmp_path, monkeypatch):
    monkeypatch.setattr(main, "HERE", tmp_path)
    (tmp_path / ".env").write_text("SYMBOL=FROMFILE:Long:True\nEMA_INTERVAL=5\n")
    monkeypatch.setenv("SYMBOL", "FROMENV:Long:True")
    monkeypatch.setenv("EMA_INTERVAL", "placeholder")  # so monkeypatch removes it afterwards
    monkeypatch.delenv("EMA_INTERVAL")
    main.load_dotenv_beside_main()
    assert os.environ["SYMBOL"] == "FROMENV:Long:True"
    assert os.environ["EMA_INTERVAL"] == "5"


def test_demo_runs_offline_and_prints_decisions(tmp_path):
    proc = run_main(tmp_path, "demo", "--runs", "3", "--step-minutes", "60")
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stdout.splitlines() if "BTCUSDT Long" in line]
    assert len(lines) == 3
