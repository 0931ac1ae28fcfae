"""Without PostgreSQL, database tests skip with one line saying how to run them (or fail in CI)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TEST = "tests/saas/test_models.py::test_leverage_of_125_is_the_maximum_allowed"


def run_pytest(**env) -> subprocess.CompletedProcess:
    """One PostgreSQL test in a child pytest with PostgreSQL pointed at a closed port."""
    full_env = {k: v for k, v in os.environ.items() if k != "DCABOT_REQUIRE_POSTGRES"}
    full_env |= {"TEST_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/none", **env}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-rs",
            "-q",
            f"{TEST}[postgresql]",
        ],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(("require", "code", "word"), [("", 0, "1 skipped"), ("1", 1, "1 error")])
def test_an_unreachable_postgresql_skips_or_fails_with_one_clear_line(require, code, word):
    proc = run_pytest(DCABOT_REQUIRE_POSTGRES=require)
    assert proc.returncode == code, proc.stdout
    (line,) = [x for x in proc.stdout.splitlines() if "PostgreSQL not reachable at" in x]
    assert word in proc.stdout.splitlines()[-1] and "During handling" not in proc.stdout
    assert "postgresql://postgres@127.0.0.1:1/none" in line
    assert "TEST_DATABASE_URL" in line
