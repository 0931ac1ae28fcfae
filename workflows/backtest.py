"""`python main.py backtest`: the live strategy replayed over candle files, with metrics, a report.

The decision at time t sees exactly what a live run at t sees (closed candles, the touch, the
simulated exchange's positions and wallet) and goes through the same ``decide()`` and the same
paper engine; see docs/BACKTESTING.md for the simulation model and its limits. This module is the
command line; ``workflows.backtest_run`` does the work.
"""

from __future__ import annotations

import argparse
import json
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path

import numpy as np

from strategies import StrategyParamError, get_strategy
from workflows.backtest_data import DataError, parse_when
from workflows.backtest_metrics import metric_lines
from workflows.backtest_run import BacktestConfig, BacktestRun, run_backtest

__all__ = ["BacktestConfig", "BacktestRun", "main", "run_backtest"]

EXIT_OK = 0
EXIT_BAD_INPUT = 2


# -- command line ------------------------------------------------------------------------------


def _decimal(text: str) -> Decimal:
    """An argparse type for money and rates."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value.is_finite():
        raise argparse.ArgumentTypeError(f"not a finite number: {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The backtest command's options (DESIGN.md's CLI plus multi-symbol, funding and sweeps)."""
    parser = argparse.ArgumentParser(
        prog="python main.py backtest",
        description="Replay the live strategy over candle files (timestamp_ms,open,high,low,"
        "close,volume) through the paper exchange's engine.",
    )
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--symbol", help="one symbol, e.g. BTCUSDT")
    which.add_argument("--symbols", help="comma-separated symbols sharing one balance")
    parser.add_argument("--side", default="Long", help="Long or Short (default Long)")
    parser.add_argument("--data", required=True, help="candle CSV, one per symbol, comma-separated")
    parser.add_argument("--params", default="{}", help="strategy parameters as JSON")
    parser.add_argument("--strategy", default="martingale", help="strategy name")
    parser.add_argument("--balance", type=_decimal, default=Decimal(1000))
    parser.add_argument("--leverage", type=_decimal, default=Decimal(10))
    parser.add_argument(
        "--interval-minutes",
        type=int,
        default=None,
        help="decision cadence in minutes (default 5, the cron cadence)",
    )
    parser.add_argument(
        "--ema-interval",
        type=int,
        default=None,
        help="candle interval of EMA50/EMA200 in minutes (default: the data's)",
    )
    parser.add_argument("--funding", help="funding CSV (timestamp_ms,funding_rate) per symbol")
    parser.add_argument(
        "--margin-mode",
        choices=("cross", "isolated"),
        default="cross",
        help="cross (the exchanges' default: the wallet backs every position) or isolated",
    )
    parser.add_argument(
        "--liquidation-fee",
        type=_decimal,
        default=Decimal("0.00055"),
        help="fee on a cross liquidation's notional (default 0.00055)",
    )
    parser.add_argument("--maker-fee", type=_decimal, default=Decimal("0.0002"))
    parser.add_argument("--taker-fee", type=_decimal, default=Decimal("0.00055"))
    parser.add_argument(
        "--slippage",
        type=_decimal,
        default=Decimal("0.0005"),
        help="market-order slippage as a fraction of the touch",
    )
    parser.add_argument("--start", help="first decision (UTC date/time); earlier data warms up")
    parser.add_argument("--end", help="end of the run (UTC date/time)")
    parser.add_argument("--json", help="write metrics and trades to this JSON file")
    parser.add_argument("--report", help="write a self-contained HTML report to this file")
    parser.add_argument("--sweep", help="parameter grid, e.g. 'profit_pnl=0.05,0.1;leverage=5,10'")
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="processes for --sweep (default 2) and --monte-carlo (default: every core)",
    )
    parser.add_argument(
        "--monte-carlo",
        type=int,
        metavar="N",
        help="run over N price paths resampled by block bootstrap and report risk of ruin",
    )
    parser.add_argument(
        "--block", type=int, default=288, help="bootstrap block length in candles (default 288)"
    )
    parser.add_argument("--seed", type=int, default=0, help="Monte Carlo seed (default 0)")
    return parser


def _split(text: str | None) -> list[str]:
    """A comma-separated option as a list."""
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def config_from_args(args: argparse.Namespace) -> BacktestConfig:
    """The run configuration from parsed options; DataError/StrategyParamError explain misuse."""
    try:
        params = json.loads(args.params)
    except json.JSONDecodeError as exc:
        raise DataError(f"--params is not valid JSON: {exc.msg} at character {exc.pos}") from None
    if not isinstance(params, dict):
        raise DataError("--params must be a JSON object, e.g. '{\"profit_pnl\": 0.05}'")
    get_strategy(args.strategy, params)  # validates names and values with clear messages
    return BacktestConfig(
        symbols=[args.symbol.strip()] if args.symbol else _split(args.symbols),
        data=[Path(p) for p in _split(args.data)],
        side=args.side,
        strategy=args.strategy,
        params=params,
        balance=args.balance,
        leverage=args.leverage,
        interval_minutes=args.interval_minutes,
        ema_interval=args.ema_interval,
        funding=[Path(p) for p in _split(args.funding)],
        maker_fee=args.maker_fee,
        taker_fee=args.taker_fee,
        slippage=args.slippage,
        margin_mode=args.margin_mode,
        liquidation_fee=args.liquidation_fee,
        start_ms=parse_when(args.start) if args.start else None,
        end_ms=parse_when(args.end) if args.end else None,
    )


def json_default(value):
    """Decimals as strings, numpy numbers as Python numbers."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot encode {type(value).__name__}")


def write_json(run: BacktestRun, path: str | Path) -> None:
    """Configuration, metrics, notes and every trade (Decimals as strings)."""
    document = {
        "config": run.config.describe(),
        "metrics": run.metrics,
        "notes": run.notes,
        "trades": run.trades,
    }
    Path(path).write_text(json.dumps(document, indent=1, default=json_default))


def summary(run: BacktestRun) -> str:
    """The readable table printed at the end of a run."""
    config = run.config
    lines = [
        f"Backtest {','.join(config.symbols)} {config.side} x{config.leverage}, "
        f"balance {config.balance} USDT, {config.margin_mode} margin, strategy {config.strategy}"
    ]
    lines += [f"note: {note}" for note in run.notes]
    rows = metric_lines(run.metrics)
    width = max(len(label) for label, _ in rows)
    lines.append("-" * (width + 30))
    lines += [f"{label:<{width}}  {text}" for label, text in rows]
    return "\n".join(lines)


def _progress_bar(total: int, unit: str = "decision"):
    """A tqdm bar on a terminal, nothing otherwise."""
    from tqdm import tqdm  # noqa: PLC0415 - only the CLI shows progress

    return tqdm(
        total=total,
        unit=unit,
        disable=not sys.stderr.isatty(),
        file=sys.stderr,
        leave=False,
        mininterval=0.5,
    )


def _monte_carlo(config: BacktestConfig, args: argparse.Namespace) -> int:
    """Run --monte-carlo with a progress bar; print, and write --json/--report when asked."""
    from workflows.backtest_montecarlo import (  # noqa: PLC0415 - only this option needs it
        MonteCarloSpec,
        run_monte_carlo,
        summary_lines,
    )

    if args.seed < 0:
        raise DataError(f"--seed must be 0 or more, got {args.seed}")
    spec = MonteCarloSpec(args.monte_carlo, args.block, args.seed, args.workers or 0)
    bar = None

    def progress(step: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = _progress_bar(total, "path")
        bar.update(step)

    try:
        result = run_monte_carlo(config, spec, progress)
    finally:
        if bar is not None:
            bar.close()
    print(summary_lines(result))
    if args.json:
        document = {"config": config.describe(), "monte_carlo": result}
        Path(args.json).write_text(json.dumps(document, indent=1, default=json_default))
        print(f"wrote {args.json}")
    if args.report:
        from workflows.backtest_montecarlo_report import write_report  # noqa: PLC0415

        rows = [(k, str(v)) for k, v in config.describe().items()]
        write_report(result, rows, args.report)
        print(f"wrote {args.report}")
    return EXIT_OK


def main(argv: list[str]) -> int:
    """Run a backtest (or a sweep) from the command line; 2 on bad input."""
    args = build_parser().parse_args(argv)
    try:
        config = config_from_args(args)
        if args.sweep:
            from workflows.backtest_sweep import run_sweep_cli  # noqa: PLC0415

            return run_sweep_cli(config, args.sweep, args.workers or 2)
        if args.monte_carlo is not None:
            return _monte_carlo(config, args)
        bar = None

        def progress(step: int, total: int) -> None:
            nonlocal bar
            if bar is None:
                bar = _progress_bar(total)
            bar.update(step)

        try:
            run = run_backtest(config, progress)
        finally:
            if bar is not None:
                bar.close()
    except (DataError, StrategyParamError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(summary(run))
    if args.json:
        write_json(run, args.json)
        print(f"wrote {args.json}")
    if args.report:
        from workflows.backtest_report import write_report  # noqa: PLC0415

        write_report(run, args.report)
        print(f"wrote {args.report}")
    return EXIT_OK
