"""The deploy files serving for real: gunicorn on its socket, nginx with TLS in front."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import ssl
import subprocess
import time
from pathlib import Path

import pytest

from tests.deploy.templates import DEPLOY, ROOT, render


def free_port() -> int:
    """A free loopback TCP port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(check, seconds: float = 20) -> None:
    """Poll until ``check()`` is true."""
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.05)


@pytest.fixture
def gunicorn_socket(tmp_path, sqlite_url):
    """gunicorn with deploy/gunicorn.conf.py serving the app on a unix socket."""
    if not (ROOT / ".venv" / "bin" / "gunicorn").exists():
        pytest.skip("no .venv/bin/gunicorn in this checkout (make venv)")
    sock = tmp_path / "gunicorn.sock"
    metrics = tmp_path / "metrics"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DATABASE_URL": sqlite_url,
        "SECRET_KEY": "deploy-test",
        "GUNICORN_BIND": f"unix:{sock}",
        "GUNICORN_WORKERS": "1",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics),
        "RUNNER_STATE_FILE": str(tmp_path / "runner-state.json"),
    }
    server = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "gunicorn"), "--config", str(DEPLOY / "gunicorn.conf.py")],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for(sock.exists)
        yield sock
    finally:
        server.terminate()
        server.communicate(timeout=30)


class UnixHTTPConnection(http.client.HTTPConnection):
    """HTTP over a unix socket, as nginx talks to gunicorn."""

    def __init__(self, path: Path):
        super().__init__("localhost")
        self.path = str(path)

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.path)


def test_gunicorn_serves_the_app_on_its_socket(gunicorn_socket):
    """The unit's command line answers /healthz and /metrics (multiprocess mode) on the socket."""
    conn = UnixHTTPConnection(gunicorn_socket)
    try:
        conn.request("GET", "/healthz")
        health = conn.getresponse()
        body = json.loads(health.read())
        # Over a unix socket there is no client address: /metrics wants the token.
        conn.request("GET", "/metrics")
        metrics = conn.getresponse()
        metrics.read()
    finally:
        conn.close()

    assert health.status == 200 and body["status"] == "ok"
    assert metrics.status == 403


def test_nginx_proxies_https_to_gunicorn(tmp_path, certificate, gunicorn_socket):
    """The rendered site: HTTP redirects to HTTPS, HTTPS reaches the app, bodies are capped."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        pytest.skip("nginx is not installed (apt-get install nginx-light); .ci/run installs it")
    http_port, https_port = free_port(), free_port()
    cert, key = certificate
    site = render("nginx-dcabot.conf", tmp_path, CERT=str(cert), CERT_KEY=str(key))
    site = (
        site.replace("/run/dcabot/gunicorn.sock", str(gunicorn_socket))
        .replace("/var/log/nginx/", f"{tmp_path}/")
        .replace("listen 80;", f"listen 127.0.0.1:{http_port};")
        .replace("listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;")
        .replace("listen [::]:80;", "")
        .replace("listen [::]:443 ssl http2;", "")
    )
    (tmp_path / "site.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(
        f"user root;\npid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\n"
        f"daemon off;\nevents {{}}\nhttp {{\n  access_log {tmp_path}/access.log;\n"
        f"  include {tmp_path}/site.conf;\n}}\n"
    )
    server = subprocess.Popen(
        [nginx, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")], stderr=subprocess.PIPE
    )
    try:
        wait_for(lambda: (tmp_path / "nginx.pid").exists())
        plain = http.client.HTTPConnection("127.0.0.1", http_port, timeout=10)
        plain.request("GET", "/healthz", headers={"Host": "bots.example.test"})
        redirect = plain.getresponse()
        plain.close()
        context = ssl.create_default_context(cafile=str(cert))
        context.check_hostname = False
        secure = http.client.HTTPSConnection("127.0.0.1", https_port, context=context, timeout=10)
        secure.request("GET", "/healthz", headers={"Host": "bots.example.test"})
        health = secure.getresponse()
        health_body, hsts = health.read(), health.getheader("Strict-Transport-Security")
        secure.request(
            "POST",
            "/account/settings",
            body=b"x" * (2 * 1024 * 1024),
            headers={"Host": "bots.example.test"},
        )
        too_big = secure.getresponse()
        too_big.read()
        secure.close()
    finally:
        server.terminate()
        server.communicate(timeout=10)

    assert redirect.status == 301
    assert redirect.getheader("Location") == "https://bots.example.test/healthz"
    assert health.status == 200 and json.loads(health_body)["database"] == "ok"
    assert hsts == "max-age=63072000"
    assert too_big.status == 413
