"""Per-bot cron lines: the managed block, installing it, keeping it current, one run per slot."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from saas.models import Bot, BotRun
from saas.ops import cron_block
from saas.services.runs.scheduling import on_grid, spread_offset
from tests.fixtures.database import open_market
from tests.test_database_mode import deploy, recorded
from tests.workflows.test_runner import run_due, runner_env

OTHER_LINES = "# the operator's own\n15 4 * * * root /usr/local/bin/backup\n"
LINE = re.compile(r"^(?P<schedule>(\S+ ){5})dcabot BOT_ID=(?P<bot>\d+) .*main\.py >> ")


@pytest.fixture
def market(fake_exchange):
    """The fake exchange scripted so the Long pair opens at once."""
    return open_market(fake_exchange)


def per_bot(app, *args: str):
    """`flask --app saas crontab --per-bot ...` on this app."""
    result = app.test_cli_runner().invoke(args=["crontab", "--per-bot", *args])
    assert result.exit_code == 0, result.output
    return result.output


def bot_lines(text: str) -> dict[int, str]:
    """Bot id -> schedule of every per-bot line."""
    found = {}
    for line in text.splitlines():
        match = LINE.match(line)
        if match:
            found[int(match["bot"])] = match["schedule"].strip()
    return found


def test_the_block_has_one_line_per_running_bot_on_its_slot_minute(site):
    uid = site.user()
    running = [site.bot(uid, status="running", run_interval_minutes=m) for m in (5, 15, 60)]
    site.bot(uid, status="stopped")
    site.bot(uid, status="paused")
    text = per_bot(site.app)
    lines = text.splitlines()
    assert lines[0] == cron_block.BEGIN and lines[-1] == cron_block.END
    schedules = bot_lines(text)
    assert sorted(schedules) == running
    for bot_id, minutes in zip(running, (5, 15, 60), strict=True):
        minute = spread_offset(bot_id, minutes * 60) // 60
        expected = f"{minute} * * * *" if minutes == 60 else f"{minute}-59/{minutes} * * * *"
        assert schedules[bot_id] == expected
    assert "dotenv -f /etc/dcabot/dcabot.env run --no-override" in text


def test_installing_replaces_only_the_managed_block(site, tmp_path):
    target = tmp_path / "dcabot"
    target.write_text(OTHER_LINES)
    uid = site.user()
    first = site.bot(uid, status="running")
    per_bot(site.app, "--install", "--target", str(target))
    site.bot(uid, status="running")
    per_bot(site.app, "--install", "--target", str(target))
    text = target.read_text()
    assert text.startswith(OTHER_LINES)
    assert text.count(cron_block.BEGIN) == 1 and text.count(cron_block.END) == 1
    assert len(bot_lines(text)) == 2 and first in bot_lines(text)
    assert target.stat().st_mode & 0o777 == 0o644


def test_stopping_or_starting_a_bot_in_the_web_app_updates_the_installed_block(site, tmp_path):
    target = tmp_path / "dcabot"
    target.write_text(OTHER_LINES)
    site.app.config["CRON_PER_BOT_TARGET"] = str(target)
    uid = site.user(plan="enterprise", plan_status="active")
    bots = [site.bot(uid, status="running") for _ in range(2)]
    per_bot(site.app, "--install", "--target", str(target))
    browser = site.client(uid)
    assert browser.post(f"/bots/{bots[0]}/stop").status_code == 302
    assert sorted(bot_lines(target.read_text())) == [bots[1]]
    site.pair(bots[0])
    assert browser.post(f"/bots/{bots[0]}/start").status_code == 302
    assert sorted(bot_lines(target.read_text())) == bots
    assert target.read_text().startswith(OTHER_LINES)


def test_a_bot_run_by_its_line_and_by_run_due_in_the_same_minute_runs_once(
    sqlite_url, market, encryption_key, tmp_path
):
    deployment = deploy(sqlite_url, market, key=encryption_key)
    own_line = deployment.run(BOT_FORCE=None)
    assert own_line.returncode == 0, own_line.stderr
    runner = run_due(
        runner_env(sqlite_url, market, encryption_key, tmp_path), "--child-logs", "inherit"
    )
    assert runner.returncode == 0, runner.stderr
    rows = recorded(sqlite_url)
    assert len(rows["runs"]) == 1 and len(rows["orders"]) == 1
    assert len(market.requests_to("/v5/order/create")) == 1
    again = deployment.run(BOT_FORCE=None)
    assert again.returncode == 0 and "not due" in again.stdout


def test_run_due_first_then_the_bots_own_line_runs_once(
    sqlite_url, market, encryption_key, tmp_path
):
    deployment = deploy(sqlite_url, market, key=encryption_key)
    runner = run_due(runner_env(sqlite_url, market, encryption_key, tmp_path))
    assert runner.returncode == 0, runner.stderr
    own_line = deployment.run(BOT_FORCE=None)
    assert own_line.returncode == 0 and own_line.stderr == ""
    assert "not due" in own_line.stdout
    assert len(recorded(sqlite_url)["runs"]) == 1
    assert len(market.requests_to("/v5/order/create")) == 1


def test_a_bot_id_run_moves_the_bot_to_its_next_slot_as_run_due_does(sqlite_url, market):
    deployment = deploy(sqlite_url, market)
    assert deployment.run(BOT_FORCE=None).returncode == 0
    with deployment.session() as session:
        bot = session.get(Bot, deployment.bot_id)
        run = session.scalars(select(BotRun)).one()
        assert on_grid(bot.next_run_at, bot.run_interval_minutes, bot.id)
        half = timedelta(minutes=bot.run_interval_minutes) / 2
        assert run.started_at + half <= bot.next_run_at <= run.started_at + 3 * half
