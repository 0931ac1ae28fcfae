"""The container option: the image's entry points are the commands the unit, cron and docs give."""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.deploy.templates import DEPLOY, ROOT
from tests.deploy.test_serving import UnixHTTPConnection, wait_for

ENTRYPOINT = DEPLOY / "docker-entrypoint.sh"
DOCS = (ROOT / "docs" / "DEPLOYMENT.md").read_text()


def dockerfile() -> dict[str, str]:
    """The Dockerfile's last value of each instruction."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    found = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            found[word] = rest.strip()
    return found


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def entrypoint_branch(name: str) -> list[str]:
    """The command lines of one branch of docker-entrypoint.sh's case."""
    text = ENTRYPOINT.read_text()
    body = re.search(rf"^  {name}\)\n(.*?);;", text, re.S | re.M).group(1)
    return [line.strip() for line in body.splitlines() if line.strip()]


def unit_exec_start() -> str:
    """dcabot-web.service's ExecStart, relative to its WorkingDirectory."""
    unit = (DEPLOY / "dcabot-web.service").read_text()
    workdir = re.search(r"^WorkingDirectory=(.*)$", unit, re.M).group(1)
    start = re.search(r"^ExecStart=(.*)$", unit, re.M).group(1)
    return start.replace(f"{workdir}/.venv/bin/", "").replace(f"{workdir}/", "")


def test_the_image_runs_the_entrypoint_in_the_installers_layout():
    """ENTRYPOINT docker-entrypoint.sh, CMD web, the code where install.sh puts the live release."""
    image = dockerfile()

    assert json.loads(image["ENTRYPOINT"]) == ["deploy/docker-entrypoint.sh"]
    assert json.loads(image["CMD"]) == ["web"]
    assert image["WORKDIR"] == "/opt/dcabot/current"
    assert image["USER"] == "dcabot"
    assert "PROMETHEUS_MULTIPROC_DIR=/run/dcabot/metrics" in image["ENV"]


def test_the_web_entry_point_is_the_units_gunicorn_after_the_migration():
    """`web` = `flask --app saas db upgrade`, then exactly the unit's ExecStart."""
    lines = entrypoint_branch("web")

    assert lines == ["migrate", f"exec {unit_exec_start()}"]
    assert unit_exec_start() == "gunicorn --config deploy/gunicorn.conf.py"
    assert "then flask --app saas db upgrade" in ENTRYPOINT.read_text()


def test_the_runner_entry_point_is_the_crontab_command():
    """`runner` runs the crontab's `main.py run-due` (settings from the environment)."""
    cron = (DEPLOY / "crontab").read_text().splitlines()[-1]
    command = re.search(r"/\.venv/bin/(python)3 /opt/dcabot/current/(main\.py run-due)", cron)

    assert f"{command.group(1)} {command.group(2)} ||" in "\n".join(entrypoint_branch("runner"))


def test_compose_runs_app_runner_postgres_and_redis():
    """The four services, the app and runner on the one image, the runner after the app."""
    spec = compose()
    services = spec["services"]

    assert set(services) == {"app", "runner", "postgres", "redis"}
    assert services["app"]["command"] == ["web"]
    assert services["runner"]["command"] == ["runner"]
    assert services["runner"]["depends_on"]["app"]["condition"] == "service_healthy"
    assert services["app"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("app", "runner"):
        environment = services[name]["environment"]
        assert "@postgres:5432/dcabot" in environment["DATABASE_URL"]
        assert environment["RATELIMIT_STORAGE_URI"] == "redis://redis:6379/0"
        assert services[name]["build"] == "." and services[name]["env_file"] == "dcabot.env"
    assert services["app"]["ports"] == ["127.0.0.1:8000:8000"]


def test_the_docs_give_the_same_container_commands():
    """DEPLOYMENT.md's container section uses the entry point's commands and compose's services."""
    section = re.search(r"^## \d+\. Containers\n(.*?)^## ", DOCS, re.S | re.M).group(1)

    for command in (
        "docker compose up -d --build",
        "docker compose exec app deploy/docker-entrypoint.sh flask create-admin",
        "docker compose exec app deploy/docker-entrypoint.sh flask health",
        "docker compose exec app deploy/docker-entrypoint.sh migrate",
        "cp deploy/dcabot.env.example dcabot.env",
        "POSTGRES_PASSWORD",
    ):
        assert command in section, command
    for branch in ("web", "runner", "migrate", "flask"):
        assert f"`{branch}" in section, branch


def compose_command() -> list[str] | None:
    """`docker compose` (v2) or Debian's `docker-compose` (v1), whichever is installed."""
    docker = shutil.which("docker")
    if (
        docker
        and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0
    ):
        return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


def test_docker_compose_accepts_the_file_and_wants_the_database_password(tmp_path):
    """`docker compose config` (no engine needed): valid, and no start without POSTGRES_PASSWORD."""
    command = compose_command()
    if command is None:
        pytest.skip("neither docker compose nor docker-compose is installed (.ci/run installs it)")
    project = tmp_path / "project"
    project.mkdir()
    for name in ("docker-compose.yml", "Dockerfile", ".dockerignore"):
        shutil.copy(ROOT / name, project / name)
    (project / "dcabot.env").write_text("SECRET_KEY=x\n")

    missing = subprocess.run(
        [*command, "config", "-q"], cwd=project, capture_output=True, text=True
    )
    (project / ".env").write_text("POSTGRES_PASSWORD=x\n")
    done = subprocess.run([*command, "config"], cwd=project, capture_output=True, text=True)

    assert missing.returncode != 0 and "put POSTGRES_PASSWORD in .env" in missing.stderr
    assert done.returncode == 0, done.stderr
    assert "postgresql://dcabot:x@postgres:5432/dcabot" in done.stdout


@pytest.fixture
def container_env(tmp_path, sqlite_url):
    """The environment the image gives its commands, on this checkout and a SQLite database."""
    return {
        "PATH": f"{ROOT / '.venv' / 'bin'}:/usr/bin:/bin",
        "DATABASE_URL": sqlite_url,
        "SECRET_KEY": "container-test",
        "DCABOT_ENV": "test",
        "GUNICORN_BIND": f"unix:{tmp_path / 'app.sock'}",
        "GUNICORN_WORKERS": "1",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
        "RUNNER_STATE_FILE": str(tmp_path / "runner-state.json"),
    }


def test_the_web_entry_point_migrates_and_serves_healthz(tmp_path, container_env):
    """`docker-entrypoint.sh web` on this checkout: /healthz answers on the bound socket."""
    if not (ROOT / ".venv" / "bin" / "gunicorn").exists():
        pytest.skip("no .venv/bin/gunicorn in this checkout (make venv)")
    server = subprocess.Popen(
        [str(ENTRYPOINT), "web"],
        env=container_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for(lambda: (tmp_path / "app.sock").exists() or server.poll() is not None, 60)
        assert server.poll() is None, server.stderr.read().decode()
        conn = UnixHTTPConnection(tmp_path / "app.sock")
        conn.request("GET", "/healthz")
        response = conn.getresponse()
        body = json.loads(response.read())
        conn.close()
    finally:
        server.send_signal(signal.SIGTERM)
        server.communicate(timeout=30)

    assert response.status == 200 and body["status"] == "ok"


def test_the_runner_entry_point_makes_a_pass_and_stops_on_sigterm(tmp_path, container_env):
    """`docker-entrypoint.sh runner`: a run-due pass at once (its state file), exit 0 on TERM."""
    init = subprocess.run(
        [str(ENTRYPOINT), "migrate"], env=container_env, capture_output=True, text=True
    )
    assert init.returncode == 0, init.stderr
    runner = subprocess.Popen(
        [str(ENTRYPOINT), "runner"],
        env=container_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for(lambda: (tmp_path / "runner-state.json").exists() or runner.poll() is not None, 60)
        assert runner.poll() is None
    finally:
        runner.send_signal(signal.SIGTERM)
        out, err = runner.communicate(timeout=30)

    assert runner.returncode == 0, err
    assert json.loads((tmp_path / "runner-state.json").read_text())


def test_the_flask_entry_point_passes_its_arguments(container_env):
    """`docker-entrypoint.sh flask ARGS` is `flask --app saas ARGS`."""
    done = subprocess.run(
        [str(ENTRYPOINT), "flask", "--help"], env=container_env, capture_output=True, text=True
    )

    assert done.returncode == 0, done.stderr
    assert "create-admin" in done.stdout and "health" in done.stdout


def test_the_container_files_are_where_the_docs_say(tmp_path):
    """The entry point is the one Dockerfile and docs name; .dockerignore keeps secrets out."""
    ignored = (ROOT / ".dockerignore").read_text().split()

    assert {".git", ".venv", ".env", "dcabot.env", "instance"} <= set(ignored)
    assert Path(ENTRYPOINT).stat().st_mode & 0o111
