"""Per-bot cron lines: one `BOT_ID=n python main.py` line per running bot, in a managed block.

The block sits between two marker comments in /etc/cron.d/dcabot, another file, or the service
user's crontab; lines outside it (the run-due line, the operator's own) are never touched.
Each line fires on the minute of the bot's spread slot (saas.services.runs.scheduling), and a
`BOT_ID` run claims its slot as run-due does, so a bot scheduled both ways runs once per slot.
"""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from saas.models import BOT_RUNNING, Bot
from saas.services.runs.scheduling import spread_offset

BEGIN = "# BEGIN dcabot per-bot lines (managed by `flask --app saas crontab --per-bot --install`)"
END = "# END dcabot per-bot lines"
USER_CRONTAB = "crontab"  # the target meaning "the crontab of the user running the command"
MINUTES_PER_DAY = 1440


class CronError(RuntimeError):
    """The crontab could not be read or written; one line for the operator."""


@dataclass(frozen=True)
class CronCommand:
    """How a line runs a bot: the interpreter, main.py, the env file, the log and cron user."""

    python: str
    main: Path
    env_file: str
    log: str
    user: str | None


def schedule(bot_id: int, interval_minutes: int) -> str:
    """The cron schedule of a bot: on the minute of its slot when the interval divides an hour
    or a day evenly, else every minute (the run itself then skips until the bot is due)."""
    interval = max(1, int(interval_minutes))
    minute = spread_offset(bot_id, interval * 60) // 60
    if interval == 1:
        return "* * * * *"
    if interval < 60 and 60 % interval == 0:
        return f"{minute}-59/{interval} * * * *"
    if interval % 60 == 0 and MINUTES_PER_DAY % interval == 0:
        hours = interval // 60
        start_hour, at_minute = divmod(minute, 60)
        hour = "*" if hours == 1 else str(start_hour) if hours == 24 else f"{start_hour}-23/{hours}"
        return f"{at_minute} {hour} * * *"
    return "* * * * *"


def bot_line(bot_id: int, interval_minutes: int, command: CronCommand) -> str:
    """One bot's line: its schedule, the cron user, and `BOT_ID=n main.py` with the env file."""
    dotenv = Path(command.python).parent / "dotenv"
    run = (
        f"BOT_ID={int(bot_id)} {shlex.quote(str(dotenv))} -f {shlex.quote(command.env_file)} "
        f"run --no-override {shlex.quote(command.python)} {shlex.quote(str(command.main))} "
        f">> {shlex.quote(command.log)} 2>&1"
    )
    who = f"{command.user} " if command.user else ""
    return f"{schedule(bot_id, interval_minutes)} {who}{run}"


def running_bots(session: Session) -> list[tuple[int, int]]:
    """(id, interval) of every running bot, by id (an operator's view: every tenant)."""
    query = select(Bot.id, Bot.run_interval_minutes).where(Bot.status == BOT_RUNNING)
    return [(bot_id, interval) for bot_id, interval in session.execute(query.order_by(Bot.id))]


def block(bots: Iterable[tuple[int, int]], command: CronCommand) -> list[str]:
    """The managed block's lines, markers included."""
    return [BEGIN, *(bot_line(b, i, command) for b, i in bots), END]


def replace_block(text: str, lines: list[str]) -> str:
    """``text`` with its managed block replaced by ``lines`` (appended when there is none)."""
    current = text.splitlines()
    if BEGIN in current and END in current[current.index(BEGIN) :]:
        start = current.index(BEGIN)
        end = current.index(END, start)
        kept = current[:start] + lines + current[end + 1 :]
    else:
        kept = [*current, *([""] if current and current[-1].strip() else []), *lines]
    return "\n".join(kept) + "\n"


def read_target(target: str) -> str:
    """The current text of a crontab file, or of the user's crontab ("" when there is none)."""
    if target == USER_CRONTAB:
        listed = subprocess.run(["crontab", "-l"], capture_output=True, text=True, check=False)  # noqa: S603, S607
        return listed.stdout if listed.returncode == 0 else ""
    path = Path(target)
    try:
        return path.read_text() if path.exists() else ""
    except OSError as exc:
        raise CronError(f"cannot read {path}: {exc.strerror or exc}") from None


def write_target(target: str, text: str) -> None:
    """Write the crontab back (a file atomically; the user's crontab with `crontab -`)."""
    if target == USER_CRONTAB:
        done = subprocess.run(["crontab", "-"], input=text, capture_output=True, text=True)  # noqa: S603, S607
        if done.returncode != 0:
            raise CronError(f"crontab refused the new table: {done.stderr.strip()}")
        return
    path = Path(target)
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        temporary.write_text(text)
        temporary.chmod(0o644)  # cron ignores group- or world-writable files
        temporary.replace(path)
    except OSError as exc:
        raise CronError(f"cannot write {path}: {exc.strerror or exc}") from None


def install(target: str, lines: list[str]) -> str:
    """Replace the managed block of ``target`` with ``lines``; the new text."""
    text = replace_block(read_target(target), lines)
    write_target(target, text)
    return text


def installed_command(config, python: str, main: Path, default_env_file: str, log: str):
    """(target, CronCommand) of an install that keeps per-bot lines, from CRON_PER_BOT_TARGET
    (a file such as /etc/cron.d/dcabot, or "crontab"); None when it does not use them."""
    target = str(config.get("CRON_PER_BOT_TARGET") or "").strip()
    if not target:
        return None
    user = None if target == USER_CRONTAB else str(config.get("CRON_PER_BOT_USER") or "dcabot")
    env_file = str(config.get("DCABOT_ENV_FILE") or default_env_file)
    return target, CronCommand(python, main, env_file, log, user)


def sync_installed_block(session: Session, installed) -> bool:
    """Rewrite the managed block after a bot started or stopped; False when it could not."""
    import logging  # noqa: PLC0415

    if installed is None:
        return True
    target, command = installed
    try:
        install(target, block(running_bots(session), command))
    except CronError as exc:
        logging.getLogger("dcabot.web").error("per-bot cron lines not updated: %s", exc)
        return False
    return True
