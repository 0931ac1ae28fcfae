"""One backtest from files to results: load and check, prepare the feeds, replay, measure."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path

import numpy as np

from clients.candle_market import CandleSeries
from strategies import get_strategy
from strategies.types import SIDES
from workflows.backtest_data import (
    CandleFile,
    DataError,
    FundingSeries,
    fmt_ms,
    load_candles,
    load_funding,
)
from workflows.backtest_engine import BacktestPair, EngineSettings, Replay, ReplayResult
from workflows.backtest_feed import (
    FeedPlan,
    Prepared,
    TooFewCandlesError,
    plan_intervals,
    prepare_series,
)
from workflows.backtest_metrics import (
    Deal,
    EquityCurve,
    compute_metrics,
    deals,
    equity_curve,
    trade_rows,
)

DEFAULT_INTERVAL = 5


@dataclass
class BacktestConfig:
    """Everything a run needs; one entry of ``symbols`` per entry of ``data``."""

    symbols: list[str]
    data: list[Path]
    side: str = "Long"
    strategy: str = "martingale"
    params: dict = field(default_factory=dict)
    balance: Decimal = Decimal(1000)
    leverage: Decimal = Decimal(10)
    interval_minutes: int | None = None
    ema_interval: int | None = None
    funding: list[Path] = field(default_factory=list)
    maker_fee: Decimal = Decimal("0.0002")
    taker_fee: Decimal = Decimal("0.00055")
    slippage: Decimal = Decimal("0.0005")
    margin_mode: str = "cross"
    liquidation_fee: Decimal = Decimal("0.00055")
    start_ms: int | None = None
    end_ms: int | None = None
    auto: bool = True

    def describe(self) -> dict:
        """The configuration as JSON-ready values for the report and --json."""
        return {
            "symbols": self.symbols,
            "side": self.side,
            "data": [str(p) for p in self.data],
            "strategy": self.strategy,
            "params": {k: str(v) for k, v in self.params.items()},
            "balance": str(self.balance),
            "leverage": str(self.leverage),
            "interval_minutes": self.interval_minutes,
            "ema_interval": self.ema_interval,
            "funding": [str(p) for p in self.funding],
            "maker_fee": str(self.maker_fee),
            "taker_fee": str(self.taker_fee),
            "slippage": str(self.slippage),
            "margin_mode": self.margin_mode,
            "liquidation_fee": str(self.liquidation_fee),
            "start": fmt_ms(self.start_ms) if self.start_ms is not None else None,
            "end": fmt_ms(self.end_ms) if self.end_ms is not None else None,
        }


@dataclass(eq=False)
class BacktestRun:
    """A finished run: the replay and everything computed from it."""

    config: BacktestConfig
    replay: ReplayResult
    curve: EquityCurve
    deals: list[Deal]
    metrics: dict
    trades: list[dict]
    plans: dict[str, FeedPlan]
    notes: list[str]

    def margin_cap(self) -> float | None:
        """The strategy's margin cap as a fraction, when it has one."""
        cap = self.replay.pairs[0].strategy.params.get("max_margin_pct")
        return float(cap) if cap else None


def _cut(candles: CandleFile, end_ms: int | None) -> CandleFile:
    """Drop candles that have not closed by ``end_ms``: the run knows nothing after its end."""
    if end_ms is None:
        return candles
    series = candles.series
    keep = int(np.searchsorted(series.ts, end_ms - series.interval_ms, side="right"))
    gaps = tuple(g for g in candles.gaps if g.resume_ms < end_ms)
    return CandleFile(candles.path, series.slice(0, keep), gaps)


def _interval(config: BacktestConfig, bases: list[int], notes: list[str]) -> int:
    """The decision cadence: as asked, else 5 minutes (or the data's interval when coarser)."""
    if config.interval_minutes is not None:
        if config.interval_minutes < 1:
            raise DataError("--interval-minutes must be at least 1")
        return config.interval_minutes
    coarsest = max(bases)
    if coarsest > DEFAULT_INTERVAL:
        notes.append(f"decisions every {coarsest} minutes, the data's interval (5 is finer)")
        return coarsest
    return DEFAULT_INTERVAL


def _load(config: BacktestConfig, preloaded: dict | None) -> list[CandleFile]:
    """Each symbol's candle file, from the cache when the caller keeps one."""
    files = []
    for path in config.data:
        key = str(path)
        if preloaded is not None and key in preloaded:
            files.append(preloaded[key])
            continue
        loaded = load_candles(path)
        if preloaded is not None:
            preloaded[key] = loaded
        files.append(loaded)
    return files


def _funding(config: BacktestConfig) -> dict[str, FundingSeries]:
    """Funding series per symbol (one file per symbol, in the same order)."""
    if not config.funding:
        return {}
    if len(config.funding) != len(config.symbols):
        raise DataError(
            f"--funding needs one file per symbol ({len(config.symbols)}), "
            f"got {len(config.funding)}"
        )
    return {
        sym: load_funding(path) for sym, path in zip(config.symbols, config.funding, strict=True)
    }


def _check(config: BacktestConfig) -> None:
    """Reject settings that cannot run, naming the option."""
    if not config.symbols:
        raise DataError("give --symbol or --symbols")
    if len(config.data) != len(config.symbols):
        raise DataError(
            f"--data needs one file per symbol ({len(config.symbols)}), got {len(config.data)}"
        )
    if len(set(config.symbols)) != len(config.symbols):
        raise DataError("a symbol is listed twice in --symbols")
    if config.side not in SIDES:
        raise DataError(f"--side must be Long or Short, got {config.side!r}")
    if config.balance <= 0:
        raise DataError(f"--balance must be positive, got {config.balance}")
    if config.leverage <= 0:
        raise DataError(f"--leverage must be positive, got {config.leverage}")
    if config.margin_mode not in ("cross", "isolated"):
        raise DataError(f"--margin-mode must be cross or isolated, got {config.margin_mode!r}")
    if not 0 <= config.liquidation_fee < 1:
        raise DataError(f"--liquidation-fee must be a fraction, got {config.liquidation_fee}")


def _gap_notes(files, feeds, grid, symbols) -> list[str]:
    """One line per gap: where it is and when decisions resume."""
    notes = []
    for sym, candles in zip(symbols, files, strict=True):
        valid_times = grid[feeds[sym].valid]
        for gap in candles.gaps:
            after = valid_times[valid_times >= gap.resume_ms]
            resume = (
                f"decisions resume {fmt_ms(int(after[0]))}"
                if len(after)
                else ("no decision after it (too few candles left)")
            )
            notes.append(
                f"gap in {candles.path.name} {gap.describe(candles.series.interval_minutes)}; "
                f"{resume}"
            )
    return notes


def prepare(config: BacktestConfig, preloaded: dict | None = None) -> tuple[Prepared, list[str]]:
    """Load and check the files, then prepare the series; notes say what was adapted."""
    _check(config)
    notes: list[str] = []
    files = [_cut(f, config.end_ms) for f in _load(config, preloaded)]
    every = _interval(config, [f.series.interval_minutes for f in files], notes)
    by_symbol = {s: f.series for s, f in zip(config.symbols, files, strict=True)}
    last = max((int(f.series.ts[-1]) for f in files if len(f.series)), default=None)
    if last is None:
        raise DataError("no candles before --end")
    if config.start_ms is not None and config.start_ms > last:
        raise DataError(
            f"--start {fmt_ms(config.start_ms)} is after the last candle ({fmt_ms(last)})"
        )
    for sym, candles in zip(config.symbols, files, strict=True):
        try:
            notes.extend(
                f"{sym}: {note}"
                for note in plan_intervals(
                    candles.series.interval_minutes, config.ema_interval, every
                ).notes
            )
        except ValueError as exc:
            raise DataError(f"{candles.path}: {exc}") from None
    try:
        ready = prepare_series(by_symbol, every, config.ema_interval, config.start_ms)
    except TooFewCandlesError as exc:
        candles = files[config.symbols.index(exc.symbol)]
        raise DataError(f"{candles.path}: {exc} (last line {len(candles.series) + 1})") from None
    notes.extend(_gap_notes(files, ready.feeds, ready.grid, config.symbols))
    return ready, notes


def run_replay(config: BacktestConfig, ready: Prepared, progress=None):
    """Replay prepared feeds with the configuration's pairs and settings; (replay, curve)."""
    pairs = [
        BacktestPair(
            sym,
            config.side,
            get_strategy(config.strategy, config.params),
            config.leverage,
            config.auto,
            str(i + 1),
        )
        for i, sym in enumerate(config.symbols)
    ]
    settings = EngineSettings(
        balance=config.balance,
        interval_minutes=ready.every,
        maker_fee=config.maker_fee,
        taker_fee=config.taker_fee,
        slippage=config.slippage,
        margin_mode=config.margin_mode,
        liquidation_fee=config.liquidation_fee,
    )
    replay = Replay(ready.feeds, pairs, ready.grid, settings, _funding(config)).run(progress)
    return replay, equity_curve(replay)


def run_backtest(config: BacktestConfig, progress=None, preloaded: dict | None = None):
    """Replay the configuration and compute the curve, deals, metrics and trade list."""
    ready, notes = prepare(config, preloaded)
    replay, curve = run_replay(config, ready, progress)
    config = replace(config, interval_minutes=ready.every)  # what actually ran
    deal_list = deals(replay)
    metrics = compute_metrics(replay, curve, deal_list)
    return BacktestRun(
        config, replay, curve, deal_list, metrics, trade_rows(replay, deal_list), ready.plans, notes
    )


def replay_candles(
    series: dict[str, CandleSeries],
    pairs: list[BacktestPair],
    settings: EngineSettings,
    funding: dict[str, FundingSeries] | None = None,
    **options,
) -> ReplayResult:
    """Replay candles already in memory (tests, benchmarks); options as ``prepare_series``."""
    ready = prepare_series(series, settings.interval_minutes, **options)
    return Replay(ready.feeds, pairs, ready.grid, settings, funding).run()
