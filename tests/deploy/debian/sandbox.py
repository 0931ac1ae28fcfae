"""A fresh Debian 12 root filesystem in its own network, PID and mount namespaces.

The base system comes from Debian's archive through debootstrap (tests/deploy/debian/
make-rootfs.sh, cached), and the Python wheels of requirements.txt through pip, both fetched
here before the sandbox starts. Inside, the network is loopback only: its PostgreSQL, nginx
and gunicorn ports are its own, and nothing in it can reach any other address.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
CACHE = Path(os.environ.get("DCABOT_DEPLOY_CACHE", "/var/cache/dcabot-test-deploy"))
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def base_rootfs() -> Path:
    """The cached debootstrap of Debian 12 with install.sh's packages (built on first use)."""
    base = CACHE / "bookworm"
    subprocess.run([str(HERE / "make-rootfs.sh"), str(base)], check=True, timeout=3600)
    return base


# Wheels Debian 12's Python 3.11.2 needs beyond this machine's: pip evaluates markers such as
# python_full_version < "3.11.3" (redis) for the Python that downloads, not the target one.
DEBIAN_PYTHON_EXTRAS = ["async-timeout>=4.0.3"]


def wheelhouse() -> Path:
    """requirements.txt's wheels, downloaded once with this machine's pip."""
    wheels = CACHE / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    pip = ROOT / ".venv" / "bin" / "pip"
    subprocess.run(
        [str(pip), "download", "--quiet", "--only-binary=:all:", "-d", str(wheels)]
        + ["-r", str(ROOT / "requirements.txt"), *DEBIAN_PYTHON_EXTRAS],
        check=True,
        timeout=1800,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return wheels


class Sandbox:
    """A copy of the base root filesystem with a process holding its namespaces open."""

    def __init__(self, workdir: Path):
        self.root = workdir / "root"
        self.holder: subprocess.Popen | None = None
        self.pid = 0

    def start(self) -> None:
        """Copy the base system, the wheels and this checkout in; start the namespaces."""
        subprocess.run(["cp", "-a", f"{base_rootfs()}/.", str(self.root)], check=True)
        shutil.copytree(wheelhouse(), self.root / "opt" / "wheels")
        subprocess.run(
            ["rsync", "-a", "--exclude", ".venv", "--exclude", ".git", "--exclude", "__pycache__"]
            + [f"{ROOT}/", str(self.root / "root" / "dcabot-src")],
            check=True,
        )
        # /dev from the host inside the private mount namespace only; a tmpfs /run as at boot.
        inside = (
            'mount --rbind /dev "$0/dev" && mount -t tmpfs tmpfs "$0/run" '
            '&& exec chroot "$0" /bin/sh -c "ip link set lo up && exec sleep infinity"'
        )
        self.holder = subprocess.Popen(
            ["unshare", "--net", "--pid", "--mount", "--uts", "--ipc", "--fork"]
            + [f"--mount-proc={self.root}/proc", "sh", "-c", inside, str(self.root)],
            stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            children = subprocess.run(
                ["pgrep", "-P", str(self.holder.pid)], capture_output=True, text=True
            ).stdout.split()
            if children and "sleep" in Path(f"/proc/{children[0]}/cmdline").read_text():
                self.pid = int(children[0])
                return
            time.sleep(0.2)
        raise RuntimeError("the sandbox's namespaces did not come up")

    def sh(self, script: str, timeout: float = 900) -> subprocess.CompletedProcess:
        """A bash script run as root inside the sandbox (its own root, network and processes)."""
        env = [
            f"PATH={PATH}",
            "HOME=/root",
            "LANG=C.UTF-8",
            # pip finds every wheel in the copied wheelhouse; it has no index to reach.
            "PIP_NO_INDEX=1",
            "PIP_FIND_LINKS=/opt/wheels",
        ]
        return subprocess.run(
            ["nsenter", f"--target={self.pid}", "--net", "--pid", "--mount", "--uts", "--ipc"]
            + ["--root", "--wd", "env", "-i", *env, "/bin/bash", "-c", script],
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )

    def stop(self) -> None:
        """Kill everything inside (the PID namespace ends with its first process), then delete."""
        if self.holder is not None:
            if self.pid:
                os.kill(self.pid, signal.SIGKILL)
            self.holder.wait(timeout=60)
        if self.root.exists() and not _mounted_under(self.root):
            subprocess.run(["rm", "-rf", "--one-file-system", str(self.root)], check=False)


def _mounted_under(path: Path) -> bool:
    """Whether anything is still mounted below ``path`` in this namespace (then never delete)."""
    mounts = Path("/proc/self/mounts").read_text().split("\n")
    return any(f" {path}/" in line for line in mounts)
