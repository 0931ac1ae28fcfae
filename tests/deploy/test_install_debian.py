"""deploy/install.sh as a sysadmin runs it, on a fresh Debian 12 without systemd (make test-deploy).

One sandbox (tests/deploy/debian/sandbox.py) for the whole story, in order: first install, a
second run, an upgrade with a schema change, a rollback, PostgreSQL down (one `error:` line,
nothing changed) and the repaired run; the site answers /healthz through nginx after each.
Slow (minutes) and root-only: `make test-deploy` runs it, `make test` and CI never do.
"""

from __future__ import annotations

import json
import os
import re
import shutil

import pytest

from tests.deploy.debian.sandbox import Sandbox

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        os.environ.get("DCABOT_TEST_DEPLOY") != "1",
        reason="the debootstrap install test runs under `make test-deploy` only",
    ),
]

INSTALL = "cd /root/dcabot-src && deploy/install.sh --domain bots.example.test"
UPGRADE = "cd /root/dcabot-src-v2 && deploy/install.sh --domain bots.example.test"
# The new table of the upgrade: a real Alembic revision on top of the checkout's head.
PROBE_REVISION = '''"""Install test: one new table, the schema change of an upgrade."""

import sqlalchemy as sa
from alembic import op

revision = "deploy_probe_1"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table("deploy_probe", sa.Column("id", sa.Integer, primary_key=True))


def downgrade():
    op.drop_table("deploy_probe")
'''
SNAPSHOT = (
    "readlink /opt/dcabot/current; ls /opt/dcabot/releases /opt/dcabot/venvs; "
    "cat /opt/dcabot/releases/*/.dcabot-release; sha256sum /etc/dcabot/dcabot.env "
    "/etc/cron.d/dcabot /etc/nginx/sites-available/dcabot /usr/local/bin/dcabot-flask "
    "/etc/dcabot/install.conf; ls -l --time-style=+ /etc/dcabot"
)


@pytest.fixture(scope="module")
def box(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.skip("the install test needs root (namespaces, chroot)")
    for tool in ("debootstrap", "unshare", "nsenter", "rsync"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (apt-get install debootstrap util-linux rsync)")
    sandbox = Sandbox(tmp_path_factory.mktemp("debian"))
    try:
        sandbox.start()
        yield sandbox
    finally:
        sandbox.stop()


def run(box: Sandbox, script: str, timeout: float = 900):
    done = box.sh(script, timeout)
    print(f"$ {script}\n{done.stdout}{done.stderr}")
    return done


def ok(box: Sandbox, script: str, timeout: float = 900) -> str:
    done = run(box, script, timeout)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def healthz(box: Sandbox) -> tuple[int, dict]:
    """/healthz through nginx over HTTPS (self-signed), as a monitoring check would ask."""
    out = ok(
        box,
        "curl -sk -o /tmp/h.json -w '%{http_code}' --resolve bots.example.test:443:127.0.0.1 "
        "https://bots.example.test/healthz; echo; cat /tmp/h.json",
    )
    code, body = out.split("\n", 1)
    return int(code), json.loads(body)


def web_pid(box: Sandbox) -> str:
    return ok(box, "cat /run/dcabot/web.pid").strip()


def test_first_install_starts_everything_without_systemd(box):
    """PostgreSQL, gunicorn (run-web.sh), nginx and cron come up; /healthz is ok through nginx."""
    assert run(box, "test -d /run/systemd/system").returncode == 1  # no systemd here
    out = ok(box, INSTALL)

    assert "error:" not in out
    code, body = healthz(box)
    assert code == 200 and body["status"] == "ok"
    for daemon in ("cron", "nginx", "postgres"):
        ok(box, f"pgrep -x {daemon}")
    release = ok(box, "readlink /opt/dcabot/current").strip()
    assert re.fullmatch(r"releases/\d{8}-\d{6}-[0-9a-f]{12}", release)
    assert ok(box, f"readlink /proc/{web_pid(box)}/cwd").strip() == f"/opt/dcabot/{release}"
    assert ok(box, "stat -c '%a %U:%G' /etc/dcabot/dcabot.env").strip() == "640 root:dcabot"
    assert ok(box, "stat -c '%U' /opt/dcabot/current/main.py").strip() == "root"
    cron = ok(box, "cat /etc/cron.d/dcabot")
    assert "/opt/dcabot/current/.venv/bin/python3 /opt/dcabot/current/main.py run-due" in cron
    assert "port 5432" not in ok(box, "grep ^DATABASE_URL= /etc/dcabot/dcabot.env")
    assert ok(box, "dcabot-flask health; echo rc=$?").strip().endswith("rc=0")


def test_second_run_changes_nothing_but_restarts(box):
    """Same code: the same release, the same secrets, the site still up."""
    before = ok(box, SNAPSHOT)

    ok(box, INSTALL)

    assert ok(box, SNAPSHOT) == before
    assert healthz(box)[0] == 200


def has_migrations(box: Sandbox) -> bool:
    return run(box, "test -d /root/dcabot-src/saas/migrations").returncode == 0


def second_version(box: Sandbox) -> str:
    """/root/dcabot-src-v2: the checkout plus a revision adding a table; the head before it."""
    if run(box, "test -d /root/dcabot-src-v2").returncode != 0:
        ok(box, "cp -a /root/dcabot-src /root/dcabot-src-v2")
        if not has_migrations(box):
            # Before migrations existed: a new release all the same, without a schema change.
            ok(box, "echo '# v2' >> /root/dcabot-src-v2/README.md")
            return ""
        head = ok(box, "dcabot-flask db heads").split()[0]
        ok(
            box,
            "cat > /root/dcabot-src-v2/saas/migrations/versions/zz_deploy_probe.py <<'EOF'\n"
            + PROBE_REVISION.format(head=head)
            + "EOF",
        )
        ok(box, f"echo {head} > /root/probe-head")
    return ok(box, "cat /root/probe-head 2>/dev/null || true").strip()


def test_upgrade_migrates_before_switching_and_restarts_gunicorn(box):
    """A new table: backup, `db upgrade`, then the switch and restart; cron on the new code."""
    if not has_migrations(box):
        pytest.skip("this checkout has no saas/migrations yet: no schema change to upgrade with")
    head = second_version(box)
    old_release = ok(box, "readlink /opt/dcabot/current").strip()
    old_pid = web_pid(box)

    ok(box, UPGRADE)

    new_release = ok(box, "readlink /opt/dcabot/current").strip()
    assert new_release != old_release
    meta = ok(box, f"cat /opt/dcabot/{new_release}/.dcabot-release")
    assert f"PREVIOUS={old_release.split('/')[1]}" in meta
    assert f"DB_REVISION_BEFORE={head}" in meta and "DB_REVISION_AFTER=deploy_probe_1" in meta
    assert "database: deploy_probe_1\n" in ok(box, "dcabot-flask db current")
    ok(box, "runuser -u postgres -- psql -tA dcabot -c 'SELECT count(*) FROM deploy_probe'")
    assert ok(box, "ls /var/backups/dcabot/").count(".dump") == 1
    assert web_pid(box) != old_pid
    assert ok(box, f"readlink /proc/{web_pid(box)}/cwd").strip() == f"/opt/dcabot/{new_release}"
    assert healthz(box)[0] == 200


def test_rollback_downgrades_then_switches_back(box):
    """--rollback: the recorded `db downgrade`, the previous release live, the table gone."""
    if not has_migrations(box):
        pytest.skip("this checkout has no saas/migrations yet: nothing to downgrade")
    previous = ok(box, "cat /opt/dcabot/current/.dcabot-release | sed -n 's/^PREVIOUS=//p'").strip()

    out = ok(box, "cd /root/dcabot-src-v2 && deploy/install.sh --rollback")

    assert "db downgrade" in out
    assert ok(box, "readlink /opt/dcabot/current").strip() == f"releases/{previous}"
    gone = run(box, "runuser -u postgres -- psql -tA dcabot -c 'SELECT 1 FROM deploy_probe'")
    assert gone.returncode != 0 and "does not exist" in gone.stderr
    assert (
        ok(box, f"readlink /proc/{web_pid(box)}/cwd").strip() == f"/opt/dcabot/releases/{previous}"
    )
    assert "/opt/dcabot/current/main.py run-due" in ok(box, "cat /etc/cron.d/dcabot")
    assert healthz(box)[0] == 200


def test_postgresql_down_is_one_error_line_and_changes_nothing(box):
    """A cluster that cannot start: the upgrade stops before touching code, cron or the site."""
    second_version(box)
    ok(
        box,
        "pg_ctlcluster 15 main stop && "
        "echo 'not_a_setting = 1' > /etc/postgresql/15/main/conf.d/broken.conf",
    )
    before = ok(box, SNAPSHOT)

    done = run(box, UPGRADE)

    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "PostgreSQL at 127.0.0.1:5432" in errors[0], done.stderr
    assert "could not change directory" not in done.stderr
    assert ok(box, SNAPSHOT) == before
    code, body = healthz(box)
    assert code == 503 and body["database"] == "down"


def test_repaired_postgresql_is_started_by_the_installer(box):
    """Fix the config and run again: the installer starts PostgreSQL and finishes the upgrade."""
    ok(box, "rm /etc/postgresql/15/main/conf.d/broken.conf")

    out = ok(box, UPGRADE)

    assert "starting PostgreSQL at 127.0.0.1:5432" in out
    if has_migrations(box):
        assert "database: deploy_probe_1\n" in ok(box, "dcabot-flask db current")
    assert healthz(box)[0] == 200


def test_the_cron_runner_has_run(box):
    """By now more than a minute has passed: cron ran run-due from the live release."""
    ok(
        box,
        "for i in $(seq 1 90); do test -s /var/lib/dcabot/runner-state.json && exit 0; "
        "sleep 1; done; exit 1",
        timeout=120,
    )
    assert (
        '"pass"' in ok(box, "tail -n 3 /var/log/dcabot/runner.log")
        or ok(box, "test -s /var/log/dcabot/runner.log && echo yes").strip() == "yes"
    )
