"""deploy/: the install script parses, nginx and systemd accept what it renders, files agree."""

from __future__ import annotations

import os
import re
import runpy
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from saas.ops.cli import DEFAULT_ENV_FILE, DEFAULT_LOG, crontab_text
from tests.deploy.templates import DEPLOY, ROOT, render

SCRIPTS = ("install.sh", "run-web.sh", "backup.sh", "restore.sh", "docker-entrypoint.sh")


@pytest.mark.parametrize("script", SCRIPTS)
def test_deploy_scripts_are_valid_shell(script):
    """`bash -n` (and shellcheck, following install.sh's lib/ files, where installed) accept it."""
    subprocess.run(["bash", "-n", str(DEPLOY / script)], check=True)
    assert os.access(DEPLOY / script, os.X_OK), f"{script} is not executable"
    if shutil.which("shellcheck"):
        done = subprocess.run(
            ["shellcheck", "-x", f"deploy/{script}"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stdout


def test_install_script_does_every_step_idempotently():
    """The steps DEPLOYMENT.md promises, each guarded so a second run changes nothing."""
    script = "".join(p.read_text() for p in [DEPLOY / "install.sh", *DEPLOY.glob("lib/*.sh")])

    for step in (
        "useradd --system",
        "python3 -m venv",
        'pip" install --quiet',
        "CREATE ROLE",
        'createdb -p "$DB_PORT" --owner',
        "db upgrade",
        "db downgrade",
        "systemctl enable dcabot-web",
        "nginx -t",
        "/etc/cron.d/dcabot",
        "/etc/logrotate.d/dcabot",
        "compileall",
    ):
        assert step in script, step
    # Secrets are generated once: an existing env file is never rewritten.
    assert 'if [ -f "$ENV_FILE" ]; then' in script
    assert "SELECT 1 FROM pg_roles" in script and "SELECT 1 FROM pg_database" in script


def test_nginx_accepts_the_rendered_site(tmp_path, certificate):
    """`nginx -t` on the site inside a minimal nginx.conf (Debian's nginx or nginx-light)."""
    nginx = shutil.which("nginx") or (
        Path("/usr/sbin/nginx") if Path("/usr/sbin/nginx").exists() else None
    )
    if nginx is None:
        pytest.skip("nginx is not installed (apt-get install nginx-light); .ci/run installs it")
    cert, key = certificate
    site = render("nginx-dcabot.conf", tmp_path, CERT=str(cert), CERT_KEY=str(key))
    site = site.replace("/var/log/nginx/", f"{tmp_path}/")
    (tmp_path / "site.conf").write_text(site)
    mime = "/etc/nginx/mime.types"
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{\n  {'include ' + mime + ';' if Path(mime).exists() else ''}\n"
        f"  access_log {tmp_path}/access.log;\n  include {tmp_path}/site.conf;\n}}\n"
    )

    done = subprocess.run(
        [str(nginx), "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
        capture_output=True,
        text=True,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert "test is successful" in done.stderr


def test_the_site_holds_what_the_docs_promise(tmp_path):
    """TLS, the gunicorn socket, static files from disk, size limits, the Stripe webhook."""
    site = render("nginx-dcabot.conf", tmp_path)

    assert "return 301 https://$host$request_uri;" in site
    assert "listen 443 ssl http2;" in site and "ssl_certificate /nonexistent.pem;" in site
    assert "server unix:/run/dcabot/gunicorn.sock" in site
    assert f"alias {ROOT}/static/;" in site
    assert re.search(r"client_max_body_size 1m;", site)
    webhook = site[site.index("location = /billing/webhook") :]
    webhook = webhook[: webhook.index("}")]
    assert "proxy_pass http://dcabot_app;" in webhook
    assert "rewrite" not in webhook
    assert "__" not in site  # every placeholder filled in


def test_systemd_accepts_the_rendered_unit(tmp_path):
    """`systemd-analyze verify` knows every key and finds gunicorn in the venv."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    if not (ROOT / ".venv" / "bin" / "gunicorn").exists():
        pytest.skip("no .venv/bin/gunicorn in this checkout (make venv)")
    (tmp_path / "dcabot.env").write_text("")
    unit = render("dcabot-web.service", tmp_path).replace(
        "/etc/dcabot/dcabot.env", str(tmp_path / "dcabot.env")
    )
    path = tmp_path / "dcabot-web.service"
    path.write_text(unit)

    done = subprocess.run(
        [analyze, "verify", str(path)], capture_output=True, text=True, check=False
    )

    problems = [line for line in done.stderr.splitlines() if "dcabot-web.service" in line]
    assert done.returncode == 0 and problems == [], done.stderr
    assert f"ExecStart={ROOT}/.venv/bin/gunicorn --config {ROOT}/deploy/gunicorn.conf.py" in unit
    assert "EnvironmentFile=" in unit and "RuntimeDirectory=dcabot" in unit


def test_gunicorn_config_binds_the_socket_and_builds_the_app(monkeypatch):
    """The socket nginx proxies to, the app factory, blank settings meaning defaults."""
    monkeypatch.setenv("GUNICORN_WORKERS", "")
    monkeypatch.setenv("GUNICORN_THREADS", "8")
    settings = runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))

    assert settings["bind"] == "unix:/run/dcabot/gunicorn.sock"
    assert settings["wsgi_app"] == "saas:create_app()"
    assert settings["workers"] >= 3 and settings["threads"] == 8


def test_the_example_crontab_is_what_the_crontab_command_prints():
    """deploy/crontab is `flask --app saas crontab` on a default install."""
    expected = crontab_text(
        "/opt/dcabot/current/.venv/bin/python3",
        Path("/opt/dcabot/current/main.py"),
        DEFAULT_ENV_FILE,
        DEFAULT_LOG,
        "dcabot",
    )

    assert (DEPLOY / "crontab").read_text() == expected


def settings_read_by(path: Path, pattern: str) -> set[str]:
    """Names of environment settings a module reads."""
    return set(re.findall(pattern, path.read_text()))


def test_the_env_template_explains_every_server_setting():
    """Each setting the web app's Config and the runner read is in the template, commented."""
    template = (DEPLOY / "dcabot.env.example").read_text().splitlines()
    names = {line.split("=", 1)[0] for line in template if re.match(r"^[A-Z_]+=", line)}
    wanted = settings_read_by(ROOT / "saas" / "config.py", r'env\.get\("([A-Z_]+)"\)')
    wanted |= settings_read_by(ROOT / "workflows" / "runner.py", r'"(RUNNER_[A-Z_]+)"')
    wanted |= {"METRICS_TOKEN", "RUNNER_STATE_FILE", "RUNNER_STALE_AFTER"}

    assert wanted - {"BOT_ID"} <= names, sorted(wanted - names)
    for i, line in enumerate(template):
        if re.match(r"^[A-Z_]+=", line):
            # The setting's paragraph (its own lines back to a blank or a heading) has a comment.
            j = i
            while j > 0 and re.match(r"^[A-Z_]+=", template[j - 1]):
                j -= 1
            assert template[j - 1].startswith("# "), line


def install_step(step: str, tmp_path: Path, **values: str) -> subprocess.CompletedProcess:
    """One function of install.sh, on a release that is this checkout, folders under tmp_path."""
    releases = tmp_path / "releases"
    releases.mkdir(exist_ok=True)
    if not (releases / "r1").exists():
        (releases / "r1").symlink_to(ROOT)
    settings = {
        "APP_DIR": str(tmp_path),
        "RELEASES": str(releases),
        "NEW_RELEASE": "r1",
        "APP_USER": "root",
        "ENV_FILE": str(tmp_path / "dcabot.env"),
        "STATE_DIR": str(tmp_path),
        "BASE_URL": "https://bots.example.test",
        **values,
    }
    assigns = " ".join(f"{name}={shlex.quote(value)}" for name, value in settings.items())
    return subprocess.run(
        ["bash", "-c", f"source deploy/install.sh && {assigns} && {step}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


def test_install_writes_the_env_file_with_fresh_secrets_once(tmp_path):
    """First run: secrets generated, file 0640; second run: untouched, missing settings named."""
    if os.geteuid() != 0:
        pytest.skip("install.sh's env step chowns the file (run as root, as the installer is)")
    first = install_step("write_env_file", tmp_path)
    env_file = tmp_path / "dcabot.env"
    written = env_file.read_text()
    env_file.write_text(written.replace("METRICS_TOKEN=\n", ""))
    second = install_step("write_env_file", tmp_path)

    assert first.returncode == 0, first.stderr
    values = dict(
        line.split("=", 1) for line in written.splitlines() if re.match(r"^[A-Z_]+=", line)
    )
    assert re.fullmatch(r"[0-9a-f]{64}", values["SECRET_KEY"])
    assert len(values["ENCRYPTION_KEY"]) == 44 and values["ENCRYPTION_KEY"].endswith("=")
    assert re.fullmatch(
        r"postgresql://dcabot:[0-9a-f]{48}@127\.0\.0\.1:5432/dcabot", values["DATABASE_URL"]
    )
    assert values["RUNNER_STATE_FILE"] == f"{tmp_path}/runner-state.json"
    assert oct(env_file.stat().st_mode & 0o777) == "0o640"
    assert second.returncode == 0
    assert env_file.read_text() == written.replace("METRICS_TOKEN=\n", "")  # secrets kept
    assert "has no METRICS_TOKEN" in second.stderr
