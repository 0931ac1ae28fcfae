"""Backtests from the browser: validated requests, per-user limits, a bounded queue, the records.

A request becomes a ``backtests`` row (queued). A small thread pool per web process drains the
queue: a job is claimed atomically in the database (never while its user has one running), the
backtester runs with its progress written to the row, and the report is written to
``report_dir/backtest-<id>.html``. Jobs that lost their process are marked failed by the next
claim, so a crash never blocks a user's queue.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import exists, func, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from saas.inputs import InputError, parse_decimal, parse_json
from saas.models import Backtest
from saas.models.backtests import (
    BACKTEST_DONE,
    BACKTEST_ERROR,
    BACKTEST_QUEUED,
    BACKTEST_RUNNING,
)
from saas.models.scoping import user_id_of
from saas.models.trading import MAX_LEVERAGE, SIDES
from strategies import STRATEGIES, StrategyParamError, get_strategy

logger = logging.getLogger("dcabot.backtests")

INTERVALS = (1, 5, 15, 30, 60)
MAX_BALANCE = Decimal(1_000_000_000)
MAX_PARAMS_BYTES = 10_000
MAX_PARAMS_DEPTH = 4  # an object of parameters, some of them lists
PROGRESS_SECONDS = 0.5
CLAIM_LOCK = 7_310_001  # PostgreSQL advisory lock serialising claims across web processes
INTERRUPTED = "The backtest stopped when its server process did; start it again."
UNEXPECTED = "The backtest failed unexpectedly; the error is logged for the operator."


class BacktestError(ValueError):
    """A request that cannot run, or a limit reached; ``field`` names the form field."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message, self.field = message, field


@dataclass(frozen=True)
class BacktestSettings:
    """Where candles and reports live and how much may run (from the app config)."""

    data_dir: Path
    report_dir: Path
    workers: int = 1
    max_queued: int = 3
    max_days: int = 366
    download_exchange: str = ""  # "bybit" or "phemex": fetch missing candles into data_dir
    client_env: dict = field(default_factory=dict)
    stale_after: timedelta = timedelta(minutes=10)


@dataclass(frozen=True)
class BacktestRequest:
    """What the form asks for; ``validate`` turns text into checked values."""

    symbol: str
    side: str
    start: date
    end: date
    strategy: str = "martingale"
    params: dict = field(default_factory=dict)
    balance: Decimal = Decimal(1000)
    leverage: Decimal = Decimal(10)
    interval_minutes: int = 5
    ema_interval: int | None = None
    pair_id: int | None = None
    margin_mode: str = "cross"


def parse_params(raw: str) -> dict:
    """Strategy parameters from the form's JSON text ({} when blank)."""
    raw = (raw or "").strip()
    if not raw:
        return {}
    try:
        value = parse_json(raw, max_bytes=MAX_PARAMS_BYTES, max_depth=MAX_PARAMS_DEPTH)
    except InputError as exc:
        raise BacktestError(f"Parameters must be JSON: {exc}", "params") from None
    if not isinstance(value, dict):
        raise BacktestError(
            'Parameters must be a JSON object, like {"profit_pnl": 0.05}.', "params"
        )
    return value


def validate(request: BacktestRequest, settings: BacktestSettings) -> BacktestRequest:
    """The request with its parameters checked by the strategy; BacktestError names the field."""
    symbol = (request.symbol or "").strip().upper()
    if not symbol.isalnum() or len(symbol) > 32:
        raise BacktestError("The symbol is letters and digits, like BTCUSDT.", "symbol")
    if request.side not in SIDES:
        raise BacktestError("The side is Long or Short.", "side")
    if request.strategy not in STRATEGIES:
        raise BacktestError(f"Unknown strategy {request.strategy!r}.", "strategy")
    try:
        params = get_strategy(request.strategy, request.params).params
    except StrategyParamError as exc:
        raise BacktestError(str(exc), "params") from None
    try:
        balance = parse_decimal(request.balance, high=MAX_BALANCE)
        leverage = parse_decimal(request.leverage)
    except InputError as exc:
        raise BacktestError(f"Balance and leverage: {exc}", "balance") from None
    if not balance > 0:
        raise BacktestError("The starting balance must be positive.", "balance")
    if not 0 < leverage <= MAX_LEVERAGE:
        raise BacktestError(f"Leverage is between 1 and {MAX_LEVERAGE}.", "leverage")
    if request.interval_minutes not in INTERVALS:
        raise BacktestError(
            f"Decisions run every {', '.join(map(str, INTERVALS))} minutes.", "interval_minutes"
        )
    if request.margin_mode not in ("cross", "isolated"):
        raise BacktestError("Margin is cross or isolated.", "margin_mode")
    if not request.start < request.end:
        raise BacktestError("The period must end after it starts.", "end")
    if (request.end - request.start).days > settings.max_days:
        raise BacktestError(f"The period is at most {settings.max_days} days.", "end")
    changed = {k: v for k, v in params.items() if k in request.params}
    return BacktestRequest(
        symbol,
        request.side,
        request.start,
        request.end,
        request.strategy,
        changed,
        balance,
        leverage,
        request.interval_minutes,
        request.ema_interval,
        request.pair_id,
        request.margin_mode,
    )


def prefill_from_pair(pair) -> dict:
    """Form values copied from a trading pair (the caller found it owner-scoped)."""
    return {
        "symbol": pair.symbol,
        "side": pair.side,
        "strategy": pair.strategy,
        "params": json.dumps(pair.strategy_params or {}, default=str, sort_keys=True),
        "leverage": pair.leverage,
        "ema_interval": pair.ema_interval,
        "pair_id": pair.id,
        "margin_mode": pair.margin_mode,
    }


def _json_params(params: dict) -> dict:
    """Parameters as JSON values (Decimals as strings, so nothing is rounded)."""
    return {k: str(v) if isinstance(v, Decimal) else v for k, v in params.items()}


def submit_backtest(
    session: Session,
    user,
    request: BacktestRequest,
    *,
    now: datetime,
    settings: BacktestSettings,
    ip: str | None = None,
) -> Backtest:
    """Queue a validated backtest (audited); refused when the user has max_queued waiting."""
    request = validate(request, settings)
    waiting = session.scalar(
        select(func.count())
        .select_from(Backtest)
        .where(Backtest.user_id == user_id_of(user), Backtest.status == BACKTEST_QUEUED)
    )
    if waiting >= settings.max_queued:
        raise BacktestError(
            f"You already have {waiting} backtests waiting; start another when one has run."
        )
    job = Backtest(
        user_id=user_id_of(user),
        pair_id=request.pair_id,
        symbol=request.symbol,
        side=request.side,
        strategy=request.strategy,
        params=_json_params(request.params),
        balance=request.balance,
        leverage=request.leverage,
        interval_minutes=request.interval_minutes,
        ema_interval=request.ema_interval,
        margin_mode=request.margin_mode,
        start_at=datetime.combine(request.start, datetime.min.time(), UTC),
        end_at=datetime.combine(request.end, datetime.min.time(), UTC),
        status=BACKTEST_QUEUED,
        created_at=now,
        message="Waiting for a free worker.",
    )
    session.add(job)
    session.flush()
    from saas.services.accounts.audit import record_audit  # noqa: PLC0415 - the web app's module

    after = {"symbol": job.symbol, "side": job.side, "strategy": job.strategy}
    record_audit(user, "backtest.submit", target=job, after=after, ip=ip, session=session, now=now)
    return job


def list_backtests(session: Session, user, limit: int = 50) -> list[Backtest]:
    """The user's backtests, newest first."""
    return list(
        session.scalars(
            Backtest.owned_by(user)
            .order_by(Backtest.created_at.desc(), Backtest.id.desc())
            .limit(limit)
        )
    )


def report_path(settings: BacktestSettings, job_id: int) -> Path:
    """Where a job's HTML report is written."""
    return settings.report_dir / f"backtest-{int(job_id)}.html"


# -- claiming and recording --------------------------------------------------------------------


def fail_stale(session: Session, now: datetime, stale_after: timedelta) -> int:
    """Mark running jobs whose heartbeat stopped as failed; how many."""
    result = session.execute(
        update(Backtest)
        .where(Backtest.status == BACKTEST_RUNNING, Backtest.heartbeat_at < now - stale_after)
        .values(status=BACKTEST_ERROR, message=INTERRUPTED, finished_at=now)
    )
    return result.rowcount or 0


def claim_next(session: Session, now: datetime) -> int | None:
    """Take the oldest queued job whose user has none running; its id (committed) or None."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CLAIM_LOCK})
    other = Backtest.__table__.alias("other")
    busy = exists().where(other.c.user_id == Backtest.user_id, other.c.status == BACKTEST_RUNNING)
    job_id = session.scalar(
        select(Backtest.id)
        .where(Backtest.status == BACKTEST_QUEUED, ~busy)
        .order_by(Backtest.created_at, Backtest.id)
        .limit(1)
    )
    if job_id is None:
        session.commit()
        return None
    claimed = session.execute(
        update(Backtest)
        .where(Backtest.id == job_id, Backtest.status == BACKTEST_QUEUED)
        .values(
            status=BACKTEST_RUNNING,
            started_at=now,
            heartbeat_at=now,
            progress=0,
            message="Running.",
        )
    ).rowcount
    session.commit()
    return job_id if claimed else None


def _record(factory: sessionmaker, job_id: int, **values) -> None:
    """Write values to a job's row in a short transaction of its own."""
    with factory() as session:
        session.execute(update(Backtest).where(Backtest.id == job_id).values(**values))
        session.commit()


class _Progress:
    """The backtester's progress callback, written to the row at most twice a second."""

    def __init__(self, factory: sessionmaker, job_id: int, clock: Callable[[], datetime]):
        self.factory, self.job_id, self.clock = factory, job_id, clock
        self.done, self.written_at = 0, 0.0

    def __call__(self, step: int, total: int) -> None:
        self.done += step
        if time.monotonic() - self.written_at < PROGRESS_SECONDS:
            return
        self.written_at = time.monotonic()
        permille = min(999, self.done * 1000 // max(1, total))
        _record(self.factory, self.job_id, progress=permille, heartbeat_at=self.clock())


def _metrics_json(metrics: dict) -> dict:
    """The backtester's metrics as JSON values (Decimals and numpy numbers as text/floats)."""
    return json.loads(
        json.dumps(
            metrics,
            default=lambda v: (
                str(v)
                if isinstance(v, Decimal)
                else float(v)
                if hasattr(v, "__float__")
                else str(v)
            ),
        )
    )


def _ema_interval(asked: int | None, data_minutes: int) -> tuple[int | None, list[str]]:
    """The EMA candle interval the data allows: as asked when it is a multiple of the data's."""
    if asked is None or asked % data_minutes == 0:
        return asked, []
    return None, [
        f"EMAs on the data's {data_minutes}-minute candles (it has no {asked}-minute ones)"
    ]


def run_job(
    factory: sessionmaker, job_id: int, settings: BacktestSettings, clock: Callable[[], datetime]
) -> None:
    """Run one claimed job to its end: data, replay, report, metrics; failures are recorded."""
    # Imported here: numpy and plotly load only in processes that run backtests, and the
    # candle catalogue sits beside the pages that list it.
    from saas.dashboard import candle_files  # noqa: PLC0415
    from workflows.backtest_data import DataError  # noqa: PLC0415
    from workflows.backtest_report import write_report  # noqa: PLC0415
    from workflows.backtest_run import BacktestConfig, run_backtest  # noqa: PLC0415

    with factory() as session:
        job = session.get(Backtest, job_id)
        session.expunge(job)

    def say(message: str) -> None:
        _record(factory, job_id, message=message, heartbeat_at=clock())

    try:
        found = candle_files.candles_for(
            settings, job.symbol, job.interval_minutes, job.start_at, job.end_at, say
        )
        data = found.path
        say(f"Replaying {data.name}.")
        ema_interval, notes = _ema_interval(job.ema_interval, found.interval_minutes)
        config = BacktestConfig(
            symbols=[job.symbol],
            data=[data],
            side=job.side,
            strategy=job.strategy,
            params=dict(job.params or {}),
            balance=job.balance,
            leverage=job.leverage,
            interval_minutes=job.interval_minutes,
            ema_interval=ema_interval,
            margin_mode=job.margin_mode,
            start_ms=int(job.start_at.timestamp() * 1000),
            end_ms=int(job.end_at.timestamp() * 1000),
        )
        run = run_backtest(config, progress=_Progress(factory, job_id, clock))
        settings.report_dir.mkdir(parents=True, exist_ok=True)
        write_report(run, report_path(settings, job_id))
        notes = "; ".join([*notes, *run.notes])
        _record(
            factory,
            job_id,
            status=BACKTEST_DONE,
            progress=1000,
            finished_at=clock(),
            metrics=_metrics_json(run.metrics),
            data_file=data.name,
            message=f"Finished. {notes}".strip(),
            heartbeat_at=clock(),
        )
    except (DataError, StrategyParamError, candle_files.CandleError, OSError) as exc:
        _record(factory, job_id, status=BACKTEST_ERROR, finished_at=clock(), message=str(exc))
    except Exception:  # noqa: BLE001 - a job must end recorded, whatever went wrong
        logger.exception("backtest %s failed", job_id)
        _record(factory, job_id, status=BACKTEST_ERROR, finished_at=clock(), message=UNEXPECTED)


class BacktestQueue:
    """A bounded pool draining the database queue; one per web process, started lazily."""

    def __init__(
        self,
        factory: sessionmaker,
        settings: BacktestSettings,
        clock: Callable[[], datetime] | None = None,
    ):
        self.factory, self.settings = factory, settings
        self.clock = clock or (lambda: datetime.now(UTC))
        self._pool = ThreadPoolExecutor(
            max_workers=max(1, settings.workers), thread_name_prefix="backtest"
        )
        self._lock = threading.Lock()
        self._draining = 0
        self._closed = False

    def wake(self) -> None:
        """Make sure a worker looks at the queue (no more drains than workers)."""
        with self._lock:
            if self._closed or self._draining >= max(1, self.settings.workers):
                return
            self._draining += 1
        self._pool.submit(self._drain)

    def run_next(self) -> int | None:
        """Claim and run one job in this thread; its id, or None when none could be claimed."""
        with self.factory() as session:
            fail_stale(session, self.clock(), self.settings.stale_after)
            job_id = claim_next(session, self.clock())
        if job_id is not None:
            run_job(self.factory, job_id, self.settings, self.clock)
        return job_id

    def _drain(self) -> None:
        """Run claimable jobs until none is left."""
        try:
            while not self._closed and self.run_next() is not None:
                pass
        except Exception:  # noqa: BLE001 - a worker thread must not die silently
            logger.exception("the backtest queue could not be drained")
        finally:
            with self._lock:
                self._draining -= 1

    def shutdown(self, wait: bool = True) -> None:
        """Stop taking jobs; with ``wait``, let the running one finish."""
        with self._lock:
            self._closed = True
        self._pool.shutdown(wait=wait)
