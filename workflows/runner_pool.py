"""A pool of bot processes: start each at its time, at most N at once, kill any past its limit."""

from __future__ import annotations

import os
import selectors
import signal
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAIN = ROOT / "main.py"
# The child keeps only these of the runner's environment; the operator's Telegram token,
# web secrets and anything else stay out of a process that runs a tenant's strategy.
CHILD_ENV_NAMES = ("DATABASE_URL", "ENCRYPTION_KEY", "PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ")
STDERR_TAIL = 2000
KILL_GRACE_S = 5.0


@dataclass(frozen=True)
class Job:
    """One bot run to start: which bot, not before when (monotonic), and its time limit."""

    bot_id: int
    start_at: float = 0.0
    time_limit: float = 240.0


@dataclass
class Finished:
    """How one bot process ended."""

    job: Job
    started_at: datetime
    finished_at: datetime
    returncode: int
    timed_out: bool = False
    killed: bool = False
    stderr: str = ""
    cpu_s: float = 0.0
    max_rss_kb: int = 0

    @property
    def duration_ms(self) -> int:
        """Wall time from start to exit."""
        return int((self.finished_at - self.started_at).total_seconds() * 1000)


@dataclass
class _Running:
    job: Job
    pid: int
    started_at: datetime
    deadline: float
    stderr_file: object
    pidfd: int | None = None
    term_sent_at: float | None = None
    killed: bool = False


@dataclass
class PoolStats:
    """What the pool did in one pass: for logs and the benchmark."""

    started: int = 0
    timed_out: int = 0
    skipped_running: int = 0
    peak_running: int = 0
    cpu_s: float = 0.0
    max_rss_kb: int = 0
    per_bot_cpu: list[float] = field(default_factory=list)


def child_env(environ: Mapping[str, str], bot_id: int, extra: Iterable[str] = ()) -> dict:
    """The environment one bot process gets: its id, the database, the key, PATH and locale."""
    env = {name: environ[name] for name in (*CHILD_ENV_NAMES, *extra) if name in environ}
    env.setdefault("PATH", os.defpath)
    env.setdefault("LANG", "C.UTF-8")
    env.setdefault("TZ", "UTC")
    env["BOT_ID"] = str(bot_id)
    env["DCABOT_RUN_CLAIMED"] = "1"  # this pass claimed the slot (config_loader)
    return env


def bot_command(python: str | None = None, main: Path = MAIN) -> list[str]:
    """The command of one bot run: this interpreter (the venv's) and main.py."""
    return [python or sys.executable, str(main)]


class ProcessPool:
    """Runs jobs as processes, concurrency-limited, each with a time limit (TERM, then KILL)."""

    def __init__(
        self,
        environ: Mapping[str, str],
        *,
        max_workers: int,
        command: list[str] | None = None,
        extra_env: Iterable[str] = (),
        kill_grace: float = KILL_GRACE_S,
        on_finished: Callable[[Finished], None] | None = None,
        child_output: str = "discard",
        cwd: Path = ROOT,
        clock: Callable[[], float] = time.monotonic,
        fork_target: Callable[[], int] | None = None,
    ):
        self.environ = dict(environ)
        self.max_workers = max(1, max_workers)
        self.command = command or bot_command()
        self.extra_env = tuple(extra_env)
        self.kill_grace = kill_grace
        self.on_finished = on_finished
        self.child_output = child_output
        self.cwd = cwd
        self.clock = clock
        # Set: children are forks of this process calling it (see _fork); else fresh main.py.
        self.fork_target = fork_target
        self.stats = PoolStats()
        self._running: dict[int, _Running] = {}
        self._selector = selectors.DefaultSelector()

    def run(self, jobs: Iterable[Job]) -> list[Finished]:
        """Run every job (a bot already running in this pool is skipped); return how each ended."""
        pending = deque(sorted(jobs, key=lambda j: j.start_at))
        done: list[Finished] = []
        try:
            while pending or self._running:
                self._start_ready(pending)
                self._enforce_limits()
                done.extend(self._reap())
                self._wait(pending)
        finally:
            self._abort_all()
            done.extend(self._reap())
            self._selector.close()
        return done

    def _start_ready(self, pending: deque) -> None:
        """Start the jobs whose time has come while there is room."""
        now = self.clock()
        while pending and len(self._running) < self.max_workers and pending[0].start_at <= now:
            job = pending.popleft()
            if any(r.job.bot_id == job.bot_id for r in self._running.values()):
                self.stats.skipped_running += 1  # never two runs of one bot from one pass
                continue
            self._spawn(job, now)

    def _spawn(self, job: Job, now: float) -> None:
        """Start one bot process in its own session, stderr to a temporary file."""
        stderr_file = tempfile.TemporaryFile()  # noqa: SIM115 - closed when the child is reaped
        devnull = os.open(os.devnull, os.O_RDWR)
        stdout_fd = 1 if self.child_output == "inherit" else devnull
        env = child_env(self.environ, job.bot_id, self.extra_env)
        started_at = datetime.now(UTC)  # before the child exists: its own records come later
        try:
            if self.fork_target is not None:
                pid = self._fork(env, devnull, stdout_fd, stderr_file.fileno())
            else:
                pid = self._exec(env, devnull, stdout_fd, stderr_file.fileno())
        except OSError:
            stderr_file.close()
            raise
        finally:
            os.close(devnull)
        running = _Running(job, pid, started_at, now + job.time_limit, stderr_file)
        running.pidfd = self._watch(pid)
        self._running[pid] = running
        self.stats.started += 1
        self.stats.peak_running = max(self.stats.peak_running, len(self._running))

    def _exec(self, env: dict, stdin: int, stdout: int, stderr: int) -> int:
        """A fresh interpreter running main.py (posix_spawn: no copy of the runner's memory)."""
        actions = [
            (os.POSIX_SPAWN_DUP2, stdin, 0),
            (os.POSIX_SPAWN_DUP2, stdout, 1),
            (os.POSIX_SPAWN_DUP2, stderr, 2),
        ]
        old_cwd = os.getcwd()
        os.chdir(self.cwd)  # posix_spawn has no cwd argument
        try:
            return os.posix_spawn(
                self.command[0], self.command, env, file_actions=actions, setsid=True
            )
        finally:
            os.chdir(old_cwd)

    def _fork(self, env: dict, stdin: int, stdout: int, stderr: int) -> int:
        """A fork of this (pre-imported) runner that calls ``fork_target``: no start-up cost."""
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid:
            return pid
        code = 1
        try:
            os.setsid()
            for fd, target in ((stdin, 0), (stdout, 1), (stderr, 2)):
                os.dup2(fd, target)
            # The runner's sys.std* may be wrappers of other descriptors (a test's capture).
            sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115
            sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGCHLD):
                signal.signal(sig, signal.SIG_DFL)
            os.chdir(self.cwd)
            os.environ.clear()
            os.environ.update(env)
            code = self.fork_target()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:  # noqa: BLE001 - the child reports and exits, never returns
            import traceback  # noqa: PLC0415

            traceback.print_exc()
        finally:
            try:
                sys.stdout.flush()
                sys.stderr.flush()
            finally:
                os._exit(code if isinstance(code, int) else 1)

    def _watch(self, pid: int) -> int | None:
        """A pidfd that becomes readable when the child exits, where the kernel has them."""
        try:
            fd = os.pidfd_open(pid)
        except (AttributeError, OSError):
            return None
        self._selector.register(fd, selectors.EVENT_READ, pid)
        return fd

    def _enforce_limits(self) -> None:
        """SIGTERM a process group past its limit; SIGKILL it when it ignores that."""
        now = self.clock()
        for r in self._running.values():
            if r.term_sent_at is None and now >= r.deadline:
                r.term_sent_at = now
                self.stats.timed_out += 1
                _signal_group(r.pid, signal.SIGTERM)
            elif (
                r.term_sent_at is not None
                and not r.killed
                and now >= r.term_sent_at + (self.kill_grace)
            ):
                r.killed = True
                _signal_group(r.pid, signal.SIGKILL)

    def _reap(self) -> list[Finished]:
        """Collect every child that has exited, with its CPU time and peak memory."""
        finished = []
        for pid in list(self._running):
            try:
                got, status, usage = os.wait4(pid, os.WNOHANG)
            except ChildProcessError:
                got, status, usage = pid, 0, None
            if got == 0:
                continue
            r = self._running.pop(pid)
            if r.pidfd is not None:
                self._selector.unregister(r.pidfd)
                os.close(r.pidfd)
            # A killed child leaves its group behind only if it forked; clear those too.
            _signal_group(pid, signal.SIGKILL)
            item = Finished(
                job=r.job,
                started_at=r.started_at,
                finished_at=datetime.now(UTC),
                returncode=os.waitstatus_to_exitcode(status) if usage is not None else -1,
                timed_out=r.term_sent_at is not None,
                killed=r.killed,
                stderr=_tail(r.stderr_file),
                cpu_s=(usage.ru_utime + usage.ru_stime) if usage else 0.0,
                max_rss_kb=usage.ru_maxrss if usage else 0,
            )
            self.stats.cpu_s += item.cpu_s
            self.stats.per_bot_cpu.append(item.cpu_s)
            self.stats.max_rss_kb = max(self.stats.max_rss_kb, item.max_rss_kb)
            if self.on_finished is not None:
                self.on_finished(item)
            finished.append(item)
        return finished

    def _wait(self, pending: deque) -> None:
        """Sleep until a child exits, the next job is due, or a time limit passes."""
        if not self._running and not pending:
            return
        now = self.clock()
        wakeups = [r.deadline for r in self._running.values() if r.term_sent_at is None]
        wakeups += [
            r.term_sent_at + self.kill_grace
            for r in self._running.values()
            if r.term_sent_at is not None and not r.killed
        ]
        if pending and len(self._running) < self.max_workers:
            wakeups.append(pending[0].start_at)
        timeout = max(0.0, min(wakeups) - now) if wakeups else 1.0
        if any(r.pidfd is None for r in self._running.values()):
            timeout = min(timeout, 0.01)  # no pidfd: poll
        if self._selector.get_map():
            self._selector.select(min(timeout, 1.0))
        else:
            time.sleep(min(timeout, 1.0))

    def _abort_all(self) -> None:
        """On an error or interrupt in the runner, stop every child before leaving."""
        for r in self._running.values():
            _signal_group(r.pid, signal.SIGKILL)
            r.killed = True
        deadline = time.monotonic() + 5
        while self._running and time.monotonic() < deadline:
            for pid in list(self._running):
                try:
                    got, _, _ = os.wait4(pid, os.WNOHANG)
                except ChildProcessError:
                    got = pid
                if got:
                    self._finish_aborted(pid)
            time.sleep(0.01)

    def _finish_aborted(self, pid: int) -> None:
        r = self._running.pop(pid)
        if r.pidfd is not None:
            self._selector.unregister(r.pidfd)
            os.close(r.pidfd)
        r.stderr_file.close()


def _signal_group(pid: int, sig: int) -> None:
    """Signal the child's whole process group; it may already be gone."""
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _tail(stderr_file) -> str:
    """The last lines the child wrote on stderr; closes the file."""
    try:
        stderr_file.seek(0, os.SEEK_END)
        size = stderr_file.tell()
        stderr_file.seek(max(0, size - STDERR_TAIL))
        return stderr_file.read().decode("utf-8", "replace").strip()
    finally:
        stderr_file.close()
