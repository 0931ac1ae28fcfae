"""Parameter sweeps: a grid of backtests run on every core, ranked by return."""

from __future__ import annotations

import itertools
import multiprocessing
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from decimal import Decimal, InvalidOperation

from strategies import STRATEGIES, StrategyParamError
from workflows.backtest_data import DataError
from workflows.backtest_run import BacktestConfig, run_backtest

LEVERAGE = "leverage"  # the pair's leverage, not a strategy parameter
_LOADED: dict = {}  # candle files a worker process has read, by path


def parse_sweep(spec: str, strategy: str = "martingale") -> dict[str, list]:
    """'profit_pnl=0.05,0.1;leverage=5,10' as {name: [values]}, each value validated."""
    strategy_class = STRATEGIES.get(strategy)
    if strategy_class is None:
        raise StrategyParamError(f"unknown strategy {strategy!r}")
    known = {info.name: info for info in strategy_class.describe_params()}
    grid: dict[str, list] = {}
    for part in filter(None, (p.strip() for p in spec.split(";"))):
        name, sep, values = part.partition("=")
        name = name.strip()
        texts = [v.strip() for v in values.split(",") if v.strip()]
        if not sep or not name or not texts:
            raise DataError(f"--sweep item {part!r} is not name=value1,value2,...")
        if name in grid:
            raise DataError(f"--sweep names {name!r} twice")
        if name == LEVERAGE:
            grid[name] = [_leverage(text) for text in texts]
        elif name in known:
            grid[name] = [known[name].coerce(text) for text in texts]
        else:
            raise StrategyParamError(
                f"--sweep: unknown parameter {name!r} (known: leverage, {', '.join(known)})"
            )
    if not grid:
        raise DataError("--sweep is empty; e.g. 'profit_pnl=0.05,0.1;leverage=5,10'")
    return grid


def _leverage(text: str) -> Decimal:
    """A positive leverage."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise DataError(f"--sweep leverage {text!r} is not a number") from None
    if not value.is_finite() or value <= 0:
        raise DataError(f"--sweep leverage must be positive, got {text}")
    return value


def combinations(base: BacktestConfig, grid: dict[str, list]) -> list[tuple[dict, BacktestConfig]]:
    """Every point of the grid as (the values swept, the configuration to run)."""
    names = list(grid)
    points = []
    for values in itertools.product(*(grid[n] for n in names)):
        chosen = dict(zip(names, values, strict=True))
        params = dict(base.params)
        params.update({k: v for k, v in chosen.items() if k != LEVERAGE})
        leverage = chosen.get(LEVERAGE, base.leverage)
        points.append((chosen, replace(base, params=params, leverage=leverage)))
    return points


def run_point(config: BacktestConfig) -> dict:
    """One grid point in a worker: the figures the ranking shows (files cached per process)."""
    run = run_backtest(config, preloaded=_LOADED)
    m = run.metrics
    return {
        "return_pct": m["total_return_pct"],
        "max_drawdown_pct": m["max_drawdown_pct"],
        "liquidations": m["liquidations"],
        "deals": m["deals_completed"],
        "win_rate_pct": m["win_rate_pct"],
        "final_equity": m["final_equity"],
    }


def run_sweep(base: BacktestConfig, grid: dict[str, list], workers: int = 2) -> list[dict]:
    """Run every point (on ``workers`` processes) and rank them by return, best first."""
    points = combinations(base, grid)
    workers = max(1, min(workers, len(points)))
    if workers == 1:
        results = [run_point(config) for _, config in points]
    else:
        # spawn: workers start clean (no inherited threads or locks), on every platform.
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            results = list(pool.map(run_point, [config for _, config in points]))
    rows = [
        {"values": chosen, **figures} for (chosen, _), figures in zip(points, results, strict=True)
    ]
    rows.sort(
        key=lambda r: (
            -(r["return_pct"] if r["return_pct"] is not None else -1e18),
            r["max_drawdown_pct"],
        )
    )
    return rows


def _fmt(value, pattern: str) -> str:
    """A number with a pattern, '-' for None."""
    return "-" if value is None else format(value, pattern)


def ranking_table(rows: list[dict]) -> str:
    """The ranked results as an aligned text table."""
    names = list(rows[0]["values"]) if rows else []
    head = ["#", *names, "return %", "max DD %", "liq", "deals", "win %"]
    body = [
        [
            str(i),
            *(str(r["values"][n]) for n in names),
            _fmt(r["return_pct"], ".2f"),
            _fmt(r["max_drawdown_pct"], ".2f"),
            str(r["liquidations"]),
            str(r["deals"]),
            _fmt(r["win_rate_pct"], ".1f"),
        ]
        for i, r in enumerate(rows, start=1)
    ]
    widths = [max(len(row[c]) for row in [head, *body]) for c in range(len(head))]
    lines = [
        "  ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True))
        for row in [head, *body]
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def run_sweep_cli(base: BacktestConfig, spec: str, workers: int) -> int:
    """Parse, run and print a sweep; bad input raises DataError/StrategyParamError."""
    grid = parse_sweep(spec, base.strategy)
    count = len(combinations(base, grid))
    print(
        f"sweep: {count} runs of {','.join(base.symbols)} {base.side} on "
        f"{max(1, min(workers, count))} processes",
        file=sys.stderr,
    )
    print(ranking_table(run_sweep(base, grid, workers)))
    return 0
