"""`python main.py demo`: the standalone bot on the simulated exchange, offline, a few runs."""

from __future__ import annotations

import argparse
import logging
import re
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from notifications.base import Event, Notifier

DEMO_START = datetime(2026, 1, 5, 0, 0, tzinfo=UTC)


class ConsoleNotifier(Notifier):
    """Prints each notification as plain text (the demo's stand-in for Telegram)."""

    name = "console"

    def send(self, event: Event) -> None:
        """Print the Telegram text without its HTML tags."""
        from notifications.telegram import format_event  # noqa: PLC0415

        text = re.sub(r"<[^>]+>", "", format_event(event))
        print("    | " + text.replace("\n", "\n    | "))


def main(argv: list[str]) -> int:
    """Run the bot N times on the simulated market with a clock that jumps between runs."""
    parser = argparse.ArgumentParser(prog="python main.py demo", description=__doc__)
    parser.add_argument("--runs", type=int, default=24, help="number of runs (default 24)")
    parser.add_argument("--step-minutes", type=int, default=60, help="time between runs")
    parser.add_argument("--symbol", default="BTCUSDT:Long:True,ETHUSDT:Short:True")
    parser.add_argument("--data-dir", help="keep the paper account and journal here")
    args = parser.parse_args(argv)
    from main import run_once  # noqa: PLC0415

    logging.basicConfig(level=logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="dcabot-demo-") as tmp:
        data_dir = Path(args.data_dir or tmp)
        env = {
            "EXCHANGE": "paper",
            "SYMBOL": args.symbol,
            "EMA_INTERVAL": "5",
            "PAPER_BALANCE": "10000",
        }
        print(
            f"dcabot demo: paper exchange, simulated market, {args.runs} runs "
            f"every {args.step_minutes} min, pairs {args.symbol}"
        )
        status = 0
        for i in range(args.runs):
            now = DEMO_START + timedelta(minutes=i * args.step_minutes)

            def report(result, now=now):
                for pair in result.pairs:
                    text = pair.conclusion or pair.error
                    print(f"{now:%Y-%m-%d %H:%M} {pair.symbol:>8} {pair.side:<5} {text}")

            status = max(
                status,
                run_once(
                    env,
                    clock=lambda now=now: now,
                    data_dir=data_dir,
                    notifier=ConsoleNotifier(),
                    report=report,
                ),
            )
        print("done; nothing was sent anywhere. Real runs: see README (standalone .env mode).")
    return status
