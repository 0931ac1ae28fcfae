"""Backtests in the browser: the form (prefilled from a pair), progress, and the report.

Jobs run outside the request in the process's BacktestQueue; the page polls status.json. The
report is the backtester's own HTML (inline plotly and styles), so it is served on its own
route with a CSP of its own and as a sandboxed document without the app's origin: its scripts
run, but cannot read the app's cookies or call its endpoints.
"""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flask import current_app, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user

from saas import ROOT
from saas.dashboard import bp, candle_files
from saas.dashboard.common import now, owned_pair, private_json
from saas.dashboard.forms import BacktestForm
from saas.db import make_session_factory
from saas.extensions import db
from saas.models import Backtest
from saas.services.bots.exchange_checks import client_settings
from saas.services.insights import backtests as service
from saas.services.insights.backtests import (
    BacktestError,
    BacktestQueue,
    BacktestRequest,
    BacktestSettings,
)

QUEUE_KEY = "dashboard.backtest_queue"
DEFAULT_DAYS = 30
REPORT_CSP = (
    "sandbox allow-scripts; default-src 'none'; script-src 'unsafe-inline'; "
    "style-src 'unsafe-inline'; img-src data: blob:; font-src data:; frame-ancestors 'self'"
)
_queue_lock = threading.Lock()


def _setting(name: str, default):
    """A BACKTEST_* value from the app config, else the environment, else the default."""
    value = current_app.config.get(name)
    if value in (None, ""):
        value = os.environ.get(name)
    return default if value in (None, "") else value


def backtest_settings() -> BacktestSettings:
    """The app's backtest settings (see docs/DASHBOARD.md for each name)."""
    return BacktestSettings(
        data_dir=Path(_setting("BACKTEST_DATA_DIR", ROOT / "instance" / "candles")),
        report_dir=Path(
            _setting("BACKTEST_REPORT_DIR", Path(current_app.instance_path) / "backtests")
        ),
        workers=int(_setting("BACKTEST_WORKERS", 1)),
        max_queued=int(_setting("BACKTEST_MAX_QUEUED", 3)),
        max_days=int(_setting("BACKTEST_MAX_DAYS", 366)),
        download_exchange=str(_setting("BACKTEST_DOWNLOAD", "")).strip().lower(),
        client_env=client_settings(os.environ, current_app.config),
    )


def backtest_queue() -> BacktestQueue:
    """This process's queue, made on first use (after gunicorn forked its workers)."""
    app = current_app._get_current_object()
    with _queue_lock:
        queue = app.extensions.get(QUEUE_KEY)
        if queue is None:
            queue = BacktestQueue(make_session_factory(db.engine), backtest_settings())
            app.extensions[QUEUE_KEY] = queue
    return queue


def _default_period(settings: BacktestSettings, symbol: str) -> tuple:
    """The last DEFAULT_DAYS days the folder has candles for (else the last DEFAULT_DAYS)."""
    spans = [f.last_ms for f in candle_files.catalogue(settings.data_dir) if f.symbol == symbol]
    end = (datetime.fromtimestamp(max(spans) / 1000, UTC) if spans else now()).date()
    return end - timedelta(days=DEFAULT_DAYS), end


def _prefill(form: BacktestForm, settings: BacktestSettings):
    """Fill an empty form from ?pair=<id> (owner-scoped) or the defaults; the pair or None."""
    pair = owned_pair(request.args["pair"]) if request.args.get("pair") else None
    if pair is not None:
        values = service.prefill_from_pair(pair)
        form.symbol.data, form.side.data = values["symbol"], values["side"]
        form.strategy.data, form.params.data = values["strategy"], values["params"]
        form.leverage.data, form.pair_id.data = values["leverage"], str(pair.id)
        form.ema_interval.data = str(values["ema_interval"])
        form.margin_mode.data = values["margin_mode"]
    form.symbol.data = form.symbol.data or "BTCUSDT"
    form.start.data, form.end.data = _default_period(settings, form.symbol.data)
    return pair


def _request_of(form: BacktestForm) -> BacktestRequest:
    """The service request of a validated form (the pair owner-scoped again)."""
    pair_id = owned_pair(form.pair_id.data).id if form.pair_id.data else None
    return BacktestRequest(
        symbol=form.symbol.data,
        side=form.side.data,
        start=form.start.data,
        end=form.end.data,
        strategy=form.strategy.data,
        params=service.parse_params(form.params.data),
        balance=form.balance.data,
        leverage=form.leverage.data,
        interval_minutes=form.interval_minutes.data,
        ema_interval=int(form.ema_interval.data) if form.ema_interval.data else None,
        pair_id=pair_id,
        margin_mode=form.margin_mode.data,
    )


@bp.route("/backtests", methods=["GET", "POST"])
def backtests():
    """Start a backtest (prefilled from ?pair=<id>) and list the past ones."""
    settings = backtest_settings()
    form = BacktestForm()
    pair = None
    if request.method == "GET":
        pair = _prefill(form, settings)
    elif form.validate_on_submit():
        try:
            job = service.submit_backtest(
                db.session,
                current_user,
                _request_of(form),
                now=now(),
                settings=settings,
                ip=request.remote_addr,
            )
            db.session.commit()
        except BacktestError as exc:
            db.session.rollback()
            target = getattr(form, exc.field or "", None)
            if target is not None:
                target.errors = [*target.errors, exc.message]
            else:
                form.form_errors.append(exc.message)
        else:
            backtest_queue().wake()
            flash("Backtest queued; this page follows it.", "success")
            return redirect(url_for("dashboard.backtest", backtest_id=job.id))
    return render_template(
        "dashboard/backtests.html",
        form=form,
        pair=pair,
        jobs=service.list_backtests(db.session, current_user),
        symbols=candle_files.symbols(settings.data_dir),
    ), (400 if form.errors or form.form_errors else 200)


def _owned_job(backtest_id: int) -> Backtest:
    """The user's backtest, else 404; a queued one wakes this process's queue."""
    job = Backtest.get_owned_or_404(backtest_id, current_user, db.session)
    if job.status == service.BACKTEST_QUEUED:
        backtest_queue().wake()  # picks up jobs a restarted process left waiting
    return job


def _status(job: Backtest) -> dict:
    """What the progress area polls for."""
    return {
        "id": job.id,
        "status": job.status,
        "progress": job.progress,
        "message": job.message,
        "finished": job.finished,
        "report_url": url_for("dashboard.backtest_report", backtest_id=job.id)
        if job.status == service.BACKTEST_DONE
        else None,
    }


def _metric_lines(metrics: dict) -> list[tuple[str, str]]:
    """The backtester's own labels and formats; raw pairs for metrics it no longer knows."""
    if not metrics:
        return []
    from workflows.backtest_metrics import metric_lines  # noqa: PLC0415 - numpy on first use

    try:
        return metric_lines(metrics)
    except (KeyError, TypeError, ValueError):
        return [(key.replace("_", " "), str(value)) for key, value in sorted(metrics.items())]


@bp.route("/backtests/<int:backtest_id>")
def backtest(backtest_id: int):
    """A backtest: its parameters, its progress, then its metrics and report."""
    job = _owned_job(backtest_id)
    lines = _metric_lines(job.metrics) if job.status == service.BACKTEST_DONE else []
    return render_template("dashboard/backtest.html", job=job, lines=lines, status=_status(job))


@bp.route("/backtests/<int:backtest_id>/status.json")
def backtest_status(backtest_id: int):
    """The job's status and progress (per mille)."""
    return private_json(_status(_owned_job(backtest_id)))


@bp.route("/backtests/<int:backtest_id>/report")
def backtest_report(backtest_id: int):
    """The backtester's HTML report, sandboxed under a CSP of its own (framed by our page)."""
    job = Backtest.get_owned_or_404(backtest_id, current_user, db.session)
    path = service.report_path(backtest_settings(), job.id)
    if job.status != service.BACKTEST_DONE or not path.is_file():
        return render_template(
            "errors/error.html",
            code=404,
            title="Not ready",
            message="This backtest has no report (yet).",
        ), 404
    response = send_file(path, mimetype="text/html", max_age=0)
    response.headers["Content-Security-Policy"] = REPORT_CSP
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    response.headers["Cache-Control"] = "private, no-store"
    return response
