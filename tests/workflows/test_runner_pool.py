"""The process pool of run-due: environment, concurrency, time limits, one run per bot."""

from __future__ import annotations

import json
import sys
import time

import pytest

from workflows.runner_pool import Job, ProcessPool, child_env

OPERATOR_ENV = {
    "PATH": "/usr/bin:/bin",
    "LANG": "C.UTF-8",
    "TZ": "UTC",
    "DATABASE_URL": "postgresql://dcabot@localhost/dcabot",
    "ENCRYPTION_KEY": "k1,k2",
    "SECRET_KEY": "web-session-secret",
    "TELEGRAM_BOT_TOKEN": "operator-telegram-token",
    "TELEGRAM_CHAT_ID": "operator-chat",
    "STRIPE_SECRET_KEY": "sk_live_x",
    "METRICS_TOKEN": "scrape-token",
    "API_KEY": "standalone-key",
    "API_SECRET": "standalone-secret",
    "HOME": "/root",
}
ALLOWED = {"BOT_ID", "DCABOT_RUN_CLAIMED", "DATABASE_URL", "ENCRYPTION_KEY", "PATH", "LANG", "TZ"}


def script(code: str) -> list[str]:
    """A child command running a Python snippet (stands in for main.py)."""
    return [sys.executable, "-c", code]


def dump_env_to(folder) -> str:
    """Snippet: write the child's environment to <folder>/<BOT_ID>.json."""
    return (
        "import json, os; "
        f"open(os.path.join({str(folder)!r}, os.environ['BOT_ID'] + '.json'), 'w')"
        ".write(json.dumps(dict(os.environ)))"
    )


def alive(pid: int) -> bool:
    """Whether a process exists and is not a zombie waiting for its reaper."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_child_env_keeps_only_what_a_bot_run_needs():
    """BOT_ID, the database, the key, PATH and locale; no operator secrets."""
    env = child_env(OPERATOR_ENV, 7)

    assert set(env) == ALLOWED
    assert env["BOT_ID"] == "7" and env["ENCRYPTION_KEY"] == "k1,k2"


def test_child_env_adds_only_the_names_the_operator_lists():
    """RUNNER_CHILD_ENV-style extras pass through by name, nothing else does."""
    env = child_env(
        {**OPERATOR_ENV, "BYBIT_BASE_URL": "http://127.0.0.1:9"},
        1,
        extra=["BYBIT_BASE_URL", "NOT_SET_ANYWHERE"],
    )

    assert set(env) == ALLOWED | {"BYBIT_BASE_URL"}


@pytest.mark.parametrize("spawn", ["exec", "fork"])
def test_a_bot_process_sees_only_the_allowed_environment(tmp_path, spawn):
    """What the process really receives, in both spawn modes."""
    code = dump_env_to(tmp_path)

    def target() -> int:
        exec(code)  # noqa: S102 - the same snippet as the exec mode's child runs
        return 0

    pool = ProcessPool(
        OPERATOR_ENV,
        max_workers=2,
        command=script(code),
        fork_target=target if spawn == "fork" else None,
    )
    [finished] = pool.run([Job(3)])

    assert finished.returncode == 0, finished.stderr
    seen = json.loads((tmp_path / "3.json").read_text())
    assert set(seen) - {"PWD", "SHLVL", "_", "LC_CTYPE"} == ALLOWED
    assert "operator-telegram-token" not in json.dumps(seen)


def test_no_more_processes_than_the_concurrency_limit(tmp_path):
    """Six 0.3 s jobs through two slots: never more than two alive, three waves."""
    pool = ProcessPool(OPERATOR_ENV, max_workers=2, command=script("import time; time.sleep(0.3)"))

    began = time.monotonic()
    finished = pool.run([Job(i) for i in range(6)])

    assert len(finished) == 6 and {f.returncode for f in finished} == {0}
    assert pool.stats.peak_running == 2
    assert time.monotonic() - began >= 0.85


def test_a_job_starts_at_its_time_not_before():
    """Jobs carry a start time (the bot's slot); the pool waits for it."""
    start = time.monotonic() + 0.4
    pool = ProcessPool(
        OPERATOR_ENV,
        max_workers=4,
        command=script("import sys, time; print(time.monotonic(), file=sys.stderr)"),
    )

    [finished] = pool.run([Job(1, start_at=start)])

    assert start <= float(finished.stderr) < start + 0.5  # CLOCK_MONOTONIC is system-wide


def test_a_bot_already_running_in_this_pass_is_not_started_twice():
    """Two jobs for one bot: one process."""
    pool = ProcessPool(OPERATOR_ENV, max_workers=4, command=script("import time; time.sleep(0.2)"))

    finished = pool.run([Job(5), Job(5)])

    assert [f.job.bot_id for f in finished] == [5]
    assert pool.stats.skipped_running == 1


def test_a_run_past_its_limit_gets_sigterm():
    """A sleeping child is stopped at its time limit and reported as timed out."""
    pool = ProcessPool(OPERATOR_ENV, max_workers=1, command=script("import time; time.sleep(30)"))

    began = time.monotonic()
    [finished] = pool.run([Job(1, time_limit=0.5)])

    assert finished.timed_out and not finished.killed
    assert finished.returncode == -15
    assert 0.4 < time.monotonic() - began < 3


def test_a_run_that_ignores_sigterm_is_killed_after_the_grace_period():
    """SIGTERM ignored: SIGKILL follows after the grace period."""
    code = (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "print('ready', flush=True); time.sleep(30)"
    )
    pool = ProcessPool(OPERATOR_ENV, max_workers=1, command=script(code), kill_grace=0.5)

    began = time.monotonic()
    [finished] = pool.run([Job(1, time_limit=0.5)])

    assert finished.timed_out and finished.killed
    assert finished.returncode == -9
    assert 0.9 < time.monotonic() - began < 4


def test_a_child_that_forks_is_stopped_with_its_whole_group(tmp_path):
    """The time limit reaches the grandchildren too (each bot is its own session)."""
    marker = tmp_path / "grandchild.pid"
    code = (
        "import subprocess, sys, time; "
        "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)']); "
        f"open({str(marker)!r}, 'w').write(str(p.pid)); time.sleep(30)"
    )
    pool = ProcessPool(OPERATOR_ENV, max_workers=1, command=script(code))

    pool.run([Job(1, time_limit=1.0)])

    grandchild = int(marker.read_text())
    for _ in range(100):
        if not alive(grandchild):
            break
        time.sleep(0.02)
    else:
        pytest.fail("the grandchild survived its bot's time limit")


def test_stderr_tail_and_exit_status_come_back():
    """The child's last error line and status reach the runner."""
    pool = ProcessPool(
        OPERATOR_ENV,
        max_workers=1,
        command=script("import sys; print('error: bot 9 is paused', file=sys.stderr); sys.exit(2)"),
    )

    [finished] = pool.run([Job(9)])

    assert finished.returncode == 2
    assert finished.stderr == "error: bot 9 is paused"
    assert finished.cpu_s > 0 and finished.max_rss_kb > 0


def test_a_forked_child_that_raises_exits_1_with_its_traceback():
    """fork mode: an exception in the run is a failed run, never the runner's own."""

    def target() -> int:
        raise RuntimeError("boom in the bot")

    pool = ProcessPool(OPERATOR_ENV, max_workers=1, fork_target=target)

    [finished] = pool.run([Job(4)])

    assert finished.returncode == 1
    assert "RuntimeError: boom in the bot" in finished.stderr
