"""Risk of ruin: the strategy over price paths resampled from the data by block bootstrap.

Each path keeps the data's timestamps and replaces its candles with blocks of consecutive
candles drawn at random (moving-block bootstrap), each candle rebuilt from its open, high, low
and close relative to the previous close, chained from the first close. Blocks keep short-range
structure (volatility clusters, trends within a block); the shuffle breaks longer ones. Several
symbols are resampled with the same blocks, which keeps their co-movement. Every path is a full
replay of the live ``decide()`` through the paper engine; paths run on every core.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, replace
from decimal import Decimal

import numpy as np

from clients.candle_market import CandleSeries
from clients.market import default_instrument
from workflows.backtest_data import CandleFile, DataError
from workflows.backtest_run import BacktestConfig, _load, prepare, run_replay

BAND_POINTS = 400  # equity samples per path for the percentile-band chart
PERCENTILES = (5, 25, 50, 75, 95)
_CACHE: dict = {}  # candle files a worker process has read, by path


@dataclass(frozen=True)
class MonteCarloSpec:
    """How many paths, how long the blocks, which seed."""

    paths: int
    block: int = 288  # one day of 5-minute candles
    seed: int = 0
    workers: int = 0  # 0: every core


def path_seeds(seed: int, paths: int) -> list[int]:
    """One recorded seed per path, derived from the run's seed (same seed, same paths)."""
    return [int(s) for s in np.random.SeedSequence(seed).generate_state(paths, dtype=np.uint64)]


def block_indices(length: int, block: int, rng: np.random.Generator) -> np.ndarray:
    """Indices 1..length-1 of a moving-block bootstrap, cut to ``length - 1``."""
    count = length - 1  # candle 0 anchors the path; returns start at candle 1
    block = max(1, min(block, count))
    starts = rng.integers(1, length - block + 1, size=-(-count // block))
    return (starts[:, None] + np.arange(block)[None, :]).ravel()[:count]


def resample(series: CandleSeries, picks: np.ndarray, tick: Decimal) -> CandleSeries:
    """The series with candles 1.. taken from ``picks``, each relative to the previous close.

    Prices are rounded to the tick, as traded prices are (and as the replay's touch cache likes).
    """
    prev = series.close[:-1]
    ratios = [part[1:] / prev for part in (series.open, series.high, series.low, series.close)]
    closes = series.close[0] * np.cumprod(ratios[3][picks - 1])
    base = np.r_[series.close[0], closes[:-1]]
    # Rounding is monotonic, so high >= open, close >= low still hold; a price never reaches 0.
    digits = max(0, -tick.normalize().as_tuple().exponent)
    columns = [
        np.maximum(np.round(np.r_[col[0], base * ratio[picks - 1]], digits), float(tick))
        for col, ratio in zip(
            (series.open, series.high, series.low, series.close), ratios, strict=True
        )
    ]
    return CandleSeries(
        series.ts,
        *columns,
        np.r_[series.volume[0], series.volume[1:][picks - 1]],
        series.interval_minutes,
    )


def resampled_files(
    files: list[CandleFile], symbols: list[str], block: int, seed: int
) -> list[CandleFile]:
    """Every symbol's file on one bootstrap path (the same blocks for all symbols)."""
    length = len(files[0].series)
    if any(len(f.series) != length or (f.series.ts != files[0].series.ts).any() for f in files):
        raise DataError("--monte-carlo needs every symbol's candles on the same timestamps")
    if length < 3:
        raise DataError("--monte-carlo needs more candles")
    picks = block_indices(length, block, np.random.default_rng(seed))
    return [
        CandleFile(f.path, resample(f.series, picks, default_instrument(s).tick_size), f.gaps)
        for f, s in zip(files, symbols, strict=True)
    ]


def run_path(config: BacktestConfig, block: int, seed: int) -> dict:
    """One path: final return, max drawdown, liquidations and the sampled equity curve."""
    files = _load(config, _CACHE)
    paths = resampled_files(files, config.symbols, block, seed)
    ready, _ = prepare(config, {str(p): f for p, f in zip(config.data, paths, strict=True)})
    replay, curve = run_replay(config, ready)
    equity = curve.equity
    balance = float(config.balance)
    peak = np.maximum.accumulate(equity) if len(equity) else equity
    drawdown = float(((peak - equity) / peak).max()) if len(equity) else 0.0
    sample = np.linspace(0, len(equity) - 1, BAND_POINTS).astype(np.int64)
    return {
        "seed": seed,
        "return_pct": (float(equity[-1]) / balance - 1) * 100 if len(equity) else 0.0,
        "max_drawdown_pct": drawdown * 100,
        "liquidations": replay.engine.liquidations,
        "equity": equity[sample].tolist() if len(equity) else [],
        "ts": curve.ts[sample].tolist() if len(equity) else [],
    }


def _run_one(args: tuple) -> dict:
    """Worker entry point (picklable)."""
    return run_path(*args)


def run_monte_carlo(config: BacktestConfig, spec: MonteCarloSpec, progress=None) -> dict:
    """Run every path (on every core unless told) and summarise the distribution."""
    if spec.paths < 1:
        raise DataError("--monte-carlo needs at least one path")
    if spec.block < 1:
        raise DataError("--block must be at least 1 candle")
    prepare(config)  # bad settings fail here, once, with the usual message
    config = replace(config, data=[p.resolve() for p in config.data])
    seeds = path_seeds(spec.seed, spec.paths)
    jobs = [(config, spec.block, s) for s in seeds]
    workers = spec.workers or os.cpu_count() or 1
    workers = max(1, min(workers, spec.paths))
    results: list[dict | None] = [None] * len(jobs)
    if workers == 1:
        for i, job in enumerate(jobs):
            results[i] = _run_one(job)
            if progress is not None:
                progress(1, len(jobs))
    else:
        context = multiprocessing.get_context("spawn")  # clean workers, no inherited locks
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            futures = {pool.submit(_run_one, job): i for i, job in enumerate(jobs)}
            for future in as_completed(futures):
                results[futures[future]] = future.result()
                if progress is not None:
                    progress(1, len(jobs))
    return summarise(spec, [r for r in results if r is not None], workers)


def summarise(spec: MonteCarloSpec, paths: list[dict], workers: int) -> dict:
    """Percentiles of return and drawdown, the probability of a liquidation, equity bands."""
    returns = np.array([p["return_pct"] for p in paths])
    drawdowns = np.array([p["max_drawdown_pct"] for p in paths])
    liquidated = np.array([p["liquidations"] > 0 for p in paths])
    equity = np.array([p["equity"] for p in paths])
    return {
        "paths": len(paths),
        "block": spec.block,
        "seed": spec.seed,
        "workers": workers,
        "path_seeds": [p["seed"] for p in paths],
        "liquidation_probability": float(liquidated.mean()),
        "return_pct": {q: float(np.percentile(returns, q)) for q in PERCENTILES},
        "max_drawdown_pct": {q: float(np.percentile(drawdowns, q)) for q in PERCENTILES},
        "mean_return_pct": float(returns.mean()),
        "bands": {
            "ts": paths[0]["ts"],
            **{str(q): np.percentile(equity, q, axis=0).tolist() for q in PERCENTILES},
        },
        "per_path": [
            {k: p[k] for k in ("seed", "return_pct", "max_drawdown_pct", "liquidations")}
            for p in paths
        ],
    }


def summary_lines(result: dict) -> str:
    """The table printed at the end of a Monte Carlo run."""
    head = (
        f"Monte Carlo: {result['paths']} paths, block {result['block']} candles, "
        f"seed {result['seed']}, {result['workers']} processes"
    )
    cells = "  ".join(f"p{q:>2}".rjust(9) for q in PERCENTILES)
    lines = [head, f"{'':<18}{cells}"]
    for key, label in (("return_pct", "return %"), ("max_drawdown_pct", "max drawdown %")):
        values = "  ".join(f"{result[key][q]:9.2f}" for q in PERCENTILES)
        lines.append(f"{label:<18}{values}")
    probability = result["liquidation_probability"] * 100
    lines.append(f"P(at least one liquidation)  {probability:.1f} %")
    return "\n".join(lines)
