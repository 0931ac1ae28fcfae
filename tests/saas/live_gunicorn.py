"""A production-like server for tests: gunicorn with several workers on the test database.

``serve(database_url, encryption_key)`` starts ``deploy/gunicorn.conf.py`` on a free loopback
port with DCABOT_ENV=production, rate limits in Redis under a prefix of its own, and ProxyFix
trusting one proxy, so a test sets the client address with X-Forwarded-For as nginx would.
``Browser`` is one visitor: a requests session that reads CSRF tokens from the pages.
"""

from __future__ import annotations

import os
import re
import secrets
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"
REDIS = ("127.0.0.1", 6379)
TOKEN = re.compile(r'name="csrf_token"[^>]*\bvalue="([^"]+)"')


def free_port() -> int:
    """A free loopback TCP port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def redis_uri() -> str:
    """The local Redis (database 13), or a skip saying how to get one."""
    try:
        socket.create_connection(REDIS, timeout=0.5).close()
    except OSError:
        pytest.skip("no Redis on 127.0.0.1:6379 (apt-get install redis-server) for this test")
    return "redis://127.0.0.1:6379/13"


@contextmanager
def serve(database_url: str, encryption_key: str, workers: int = 3, **env) -> Iterator[str]:
    """gunicorn serving the app with ``workers`` processes; yields its base URL."""
    if not GUNICORN.exists():
        pytest.skip("no .venv/bin/gunicorn in this checkout")
    port = free_port()
    settings = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DATABASE_URL": database_url,
        "ENCRYPTION_KEY": encryption_key,
        "SECRET_KEY": secrets.token_hex(32),
        "DCABOT_ENV": "production",
        "SESSION_COOKIE_SECURE": "false",  # plain HTTP on loopback; nginx adds TLS in production
        "TRUSTED_PROXIES": "1",
        "MAIL_BACKEND": "memory",
        "RATELIMIT_STORAGE_URI": redis_uri(),
        "RATELIMIT_KEY_PREFIX": f"test-{secrets.token_hex(6)}",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": str(workers),
        "GUNICORN_THREADS": "4",
        "GUNICORN_LOG_LEVEL": "warning",
        **env,
    }
    server = subprocess.Popen(
        [str(GUNICORN), "--config", str(ROOT / "deploy" / "gunicorn.conf.py")],
        cwd=ROOT,
        env=settings,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(server, base, workers)
        yield base
    finally:
        server.terminate()
        server.communicate(timeout=30)


def _wait_until_up(server: subprocess.Popen, base: str, workers: int) -> None:
    """Poll /healthz until it answers (every worker booted), or fail with gunicorn's output."""
    deadline = time.monotonic() + 90
    answered = 0
    while answered < workers:
        if server.poll() is not None:
            raise AssertionError(f"gunicorn exited: {server.stderr.read().decode()[-2000:]}")
        if time.monotonic() > deadline:
            raise AssertionError("gunicorn did not answer within 90 s")
        try:
            requests.get(f"{base}/healthz", timeout=10)
            answered += 1
        except (requests.ConnectionError, requests.Timeout):
            time.sleep(0.2)


class Browser:
    """One visitor at one client address (sent as X-Forwarded-For, as nginx does)."""

    def __init__(self, base: str, address: str):
        self.base = base
        self.http = requests.Session()
        self.http.headers["X-Forwarded-For"] = address

    def get(self, path: str, **kwargs) -> requests.Response:
        """GET a page, not following redirects."""
        return self.http.get(self.base + path, allow_redirects=False, timeout=30, **kwargs)

    def token(self, path: str) -> str:
        """The CSRF token on ``path``'s page."""
        page = self.http.get(self.base + path, timeout=30).text
        found = TOKEN.search(page)
        assert found, f"no CSRF token on {path}"
        return found.group(1)

    def post(self, path: str, data: dict, token: str | None = None) -> requests.Response:
        """POST a form with a CSRF token of this session (read from ``path`` unless given)."""
        payload = {"csrf_token": token or self.token(path), **data}
        return self.http.post(self.base + path, data=payload, allow_redirects=False, timeout=60)

    def login(self, email: str, password: str) -> requests.Response:
        """Submit the login form."""
        return self.post("/auth/login", {"email": email, "password": password})
