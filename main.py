"""dcabot's command line: one run of the bot (``python main.py``) or a subcommand."""

from __future__ import annotations

import importlib
import logging
import os
import sys
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
COMMANDS = {
    "backtest": "workflows.backtest",
    "download": "clients.download",
    "run-due": "workflows.runner",
    "demo": "workflows.demo",
    "deliver": "saas.services.notifications.command",
}
USAGE = (
    "usage: python main.py [backtest|download|run-due|demo|deliver] ...\n"
    "  with no command: one run of every configured pair (BOT_ID set: database mode, "
    "otherwise the .env / environment)"
)
EXIT_FAILED = 1  # transient: database or exchange unreachable, lock lost, an outcome unknown
EXIT_CONFIG = 2  # a setting to fix; 3 (another run holds the lock) comes from the workflow


def utc_now() -> datetime:
    """The one clock of a live run."""
    return datetime.now(UTC)


def configure_logging(level: int = logging.INFO) -> None:
    """Structured JSON logs on stdout, as the existing bot wrote them (now on stdout)."""
    from pythonjsonlogger.json import JsonFormatter  # noqa: PLC0415 - keep start-up light

    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def build_workflow(source, env: Mapping, clock: Callable[[], datetime], data_dir: Path, notifier):
    """The client, journal and workflow for a configuration source."""
    from clients.factory import make_client  # noqa: PLC0415
    from workflows.journal import FileJournal  # noqa: PLC0415
    from workflows.trading import TradingWorkflow  # noqa: PLC0415

    # A source may bring its own client and journal (the database source keeps paper state and
    # the journal in the database); the environment source uses files under data_dir.
    if hasattr(source, "make_client"):
        client = source.make_client(env=env, clock=clock)
    else:
        key, secret = source.get_api_credentials()
        client = make_client(
            source.get_exchange(),
            key,
            secret,
            testnet=source.is_testnet(),
            env=env,
            clock=clock,
            data_dir=data_dir,
        )
    journal = source.journal() if hasattr(source, "journal") else FileJournal(data_dir)
    return TradingWorkflow(client, journal, notifier, bot_key=source.bot_key)


def build_pairs(source) -> list:
    """Pair settings with their validated strategies; errors name the bad setting."""
    from strategies import get_strategy  # noqa: PLC0415
    from workflows.trading import PairSettings  # noqa: PLC0415

    return [
        PairSettings(
            p.pair_key,
            p.symbol,
            p.side,
            p.auto,
            p.leverage,
            p.ema_interval,
            get_strategy(p.strategy, p.params),
        )
        for p in source.get_pairs()
    ]


def startup_event(source):
    """The "bot started" message for BOT_STARTUP."""
    from notifications.base import BOT_STARTED, Event  # noqa: PLC0415

    network = "TESTNET" if source.is_testnet() else "MAINNET"
    pairs = [f"{symbol} ({side})" for symbol, side, _ in source.get_symbols()]
    return Event(
        BOT_STARTED, {"network": network, "pairs": pairs, "exchange": source.get_exchange()}
    )


def run_once(
    env: Mapping,
    clock: Callable[[], datetime] = utc_now,
    data_dir: Path | None = None,
    notifier=None,
    report: Callable | None = None,
) -> int:
    """One run of every configured pair; returns the exit status (see EXIT_* and docs).

    Every failure ends as one line on stderr (its details in the JSON log), never a traceback.
    """
    from config_loader import NothingToDo  # noqa: PLC0415

    try:
        return _run_once(env, clock, data_dir, notifier, report)
    except NothingToDo as exc:
        return nothing_to_do(exc)
    except Exception as exc:  # noqa: BLE001 - the operator reads one line; the log has the rest
        logging.getLogger("dcabot").exception("run failed")
        print(f"error: {one_line(exc)}", file=sys.stderr)
        return EXIT_FAILED


def one_line(exc: BaseException) -> str:
    """An exception as one short line (driver errors span several)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:300]


def run_notifier(source, env: Mapping):
    """Database mode: the outbox (sent by `deliver`); standalone: Telegram straight away."""
    if hasattr(source, "notifier"):
        return source.notifier()
    from notifications import build_notifier  # noqa: PLC0415

    token, chat = source.get_telegram_config()
    return build_notifier(token, chat, api_base=env.get("TELEGRAM_API_BASE"))


def _run_once(env, clock, data_dir, notifier, report) -> int:
    """run_once without the last-resort handler."""
    from clients.factory import ClientConfigError  # noqa: PLC0415
    from config_loader import ConfigError, SourceUnavailableError, get_config_source  # noqa: PLC0415
    from strategies import StrategyParamError  # noqa: PLC0415

    data_dir = Path(data_dir or env.get("DATA_DIR") or HERE / ".dcabot")
    try:
        source = get_config_source(env)
        pairs = build_pairs(source)
        notifier = run_notifier(source, env) if notifier is None else notifier
        workflow = build_workflow(source, env, clock, data_dir, notifier)
    except (ConfigError, StrategyParamError, ClientConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except SourceUnavailableError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except OSError as exc:
        # DATA_DIR (or the paper state file) is not a usable folder: a setting to fix.
        print(f"error: DATA_DIR {data_dir} cannot be used: {one_line(exc)}", file=sys.stderr)
        return EXIT_CONFIG
    refused = preflight(workflow.client, pairs)
    if refused is not None:
        workflow.client.close()
        return refused
    if source.send_startup_message():
        notifier.send(startup_event(source))
    try:
        result = workflow.run(pairs, clock(), finished=clock)
    finally:
        workflow.client.close()
    if hasattr(source, "record_result"):
        source.record_result(result)  # e.g. pause the bot after an authentication error
    if report is not None:
        report(result)
    for pair in result.pairs:
        if pair.error:
            print(f"{pair.symbol} {pair.side}: {one_line_text(pair.error)}", file=sys.stderr)
    if result.error:
        print(f"error: {result.error}", file=sys.stderr)
    return result.exit_code


def nothing_to_do(reason) -> int:
    """A stopped or paused bot, or a slot that already ran: one info line, exit 0 (a cron line
    must not mail an error every few minutes while a bot is stopped)."""
    logging.getLogger("dcabot").info(str(reason))
    return 0


def preflight(client, pairs) -> int | None:
    """Check every pair before anything is sent; the exit status when a check failed."""
    from clients.errors import ExchangeError  # noqa: PLC0415
    from workflows.preflight import PreflightError, check_pairs  # noqa: PLC0415

    try:
        check_pairs(client, pairs)
    except PreflightError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except ExchangeError as exc:
        print(f"error: could not check the pairs with the exchange: {exc}", file=sys.stderr)
        return EXIT_FAILED
    return None


def one_line_text(text: str) -> str:
    """A message on one line."""
    return " ".join(str(text).split())


def load_dotenv_beside_main() -> None:
    """Load the .env next to main.py without overriding the real environment, in every mode,
    as `flask --app saas` commands read it (saas.environment)."""
    from dotenv import load_dotenv  # noqa: PLC0415

    load_dotenv(HERE / ".env", override=False)


def main(argv: list[str] | None = None) -> int:
    """Dispatch a subcommand, or run the bot once."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in COMMANDS:
        return importlib.import_module(COMMANDS[args[0]]).main(args[1:])
    if args and args[0] in ("-h", "--help", "help"):
        print(USAGE)
        return 0
    if args:
        print(f"error: unknown command {args[0]!r}; {USAGE.splitlines()[0]}", file=sys.stderr)
        return EXIT_CONFIG
    load_dotenv_beside_main()
    configure_logging()
    return run_once(os.environ)


if __name__ == "__main__":
    sys.exit(main())
