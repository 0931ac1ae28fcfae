"""`python main.py` against the loopback fake exchange, speaking Bybit v5 and Phemex."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SETUP_PATHS = {
    "bybit": [
        "/v5/position/switch-mode",
        "/v5/position/set-leverage",
        "/v5/market/kline",
        "/v5/position/list",
        "/v5/account/wallet-balance",
    ],
    "phemex": [
        "/g-positions/switch-pos-mode-sync",
        "/g-positions/leverage",
        "/exchange/public/md/v2/kline/last",
        "/g-accounts/accountPositions",
    ],
}


@pytest.mark.parametrize("exchange", ["bybit", "phemex"])
def test_standalone_run_against_the_fake_exchange(seeded_exchange, tmp_path, exchange):
    """The old .env way, with EXCHANGE chosen: every request signed, both pairs decided, exit 0."""
    key, secret = seeded_exchange.seed_market("BTCUSDT")[exchange]
    env = {
        "PATH": os.environ["PATH"],
        "EXCHANGE": exchange,
        "API_KEY": key,
        "API_SECRET": secret,
        "SYMBOL": "BTCUSDT:Long:True,BTCUSDT:Short:True",
        "EMA_INTERVAL": "5",
        "LEVERAGE": "7",
        f"{exchange.upper()}_BASE_URL": seeded_exchange.url,
        "DATA_DIR": str(tmp_path),
    }
    proc = subprocess.run(
        [sys.executable, str(ROOT / "main.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    decided = [(r["symbol"], r["side"]) for r in records if r.get("action") == "decide"]
    assert decided == [("BTCUSDT", "Long"), ("BTCUSDT", "Short")]
    seen = {r.path for r in seeded_exchange.requests if r.exchange == exchange}
    assert set(SETUP_PATHS[exchange]) <= seen
    (leverage_path,) = [p for p in SETUP_PATHS[exchange] if "everage" in p]
    sent = seeded_exchange.requests_to(leverage_path, exchange)[0].fields
    assert {abs(float(v)) for k, v in sent.items() if "everage" in k} == {7.0}
    assert secret not in proc.stdout + proc.stderr and key not in proc.stdout + proc.stderr


def test_a_bad_key_exits_non_zero_and_tells_why_without_the_key(seeded_exchange, tmp_path):
    env = {
        "PATH": os.environ["PATH"],
        "EXCHANGE": "bybit",
        "API_KEY": "wrong-key-123",
        "API_SECRET": "wrong-secret-456",
        "SYMBOL": "BTCUSDT:Long:True",
        "BYBIT_BASE_URL": seeded_exchange.url,
        "DATA_DIR": str(tmp_path),
    }
    proc = subprocess.run(
        [sys.executable, str(ROOT / "main.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert proc.returncode == 1
    assert "authentication failed" in proc.stderr
    assert "wrong-secret-456" not in proc.stdout + proc.stderr
    assert "wrong-key-123" not in proc.stdout + proc.stderr
