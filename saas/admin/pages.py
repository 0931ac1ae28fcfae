"""Admin overview pages: system health, revenue and the audit trail."""

from __future__ import annotations

from flask import current_app, render_template, request

from saas import environment
from saas.admin import bp, filters
from saas.admin.access import now, staff_route
from saas.extensions import db
from saas.services.admin.audit import AuditFilters, all_audit_rows
from saas.services.admin.revenue import revenue_report
from saas.services.admin.system import CAUSES, system_report

TARGET_TYPES = ("user", "bot", "trading_pair", "backtest")
CAUSE_CLASSES = ("c-auth", "c-timeout", "c-config", "c-crash", "c-other")


@bp.get("/system")
@staff_route
def system():
    """Runner health, failures by cause, activity, database size and delivery backlog."""
    env = {
        **environment(),
        **{k: str(v) for k, v in current_app.config.items() if k.startswith("RUNNER_")},
    }
    report = system_report(db.session, env, now())
    failures = [
        (lo.strftime("%H:00"), [(cause, parts.get(cause, 0)) for cause in CAUSES])
        for lo, parts, _total in report.failure_hours
    ]
    trend = [
        (lo.strftime("%m-%d"), [("failed", bad), ("good", runs - bad)])
        for lo, runs, bad in report.error_trend
    ]
    return render_template(
        "admin/system.html",
        r=report,
        causes=CAUSES,
        chart_failures=failures,
        failure_series=list(zip(CAUSES, CAUSE_CLASSES, strict=True)),
        chart_trend=trend,
        trend_series=[("failed", "c-failed"), ("good", "c-runs")],
    )


@bp.get("/revenue")
@staff_route
def revenue():
    """MRR and its history, plans, new and churned subscriptions, ARPU, LTV, failed payments."""
    report = revenue_report(db.session, now())
    months = [
        (lo, new, churned, at_start, mrr)
        for (lo, new, churned, at_start), (_lo, mrr, _manual) in zip(
            report.months, report.history, strict=True
        )
    ]
    chart = [
        (lo.strftime("%b %y"), [("Stripe", mrr), ("set by hand", manual)])
        for lo, mrr, manual in report.history
    ]
    return render_template("admin/revenue.html", r=report, months=months, chart=chart)


@bp.get("/audit")
@staff_route
def audit():
    """Every audited action, filterable by actor, action, target and day."""
    args = request.args
    chosen = AuditFilters(
        actor=filters.text(args, "actor"),
        action=filters.text(args, "action"),
        target_type=filters.text(args, "target_type", TARGET_TYPES),
        target_id=filters.object_id(args, "target_id"),
        day_from=filters.day(args, "from"),
        day_to=filters.day(args, "to"),
    )
    page = all_audit_rows(db.session, chosen, filters.page(args))
    return render_template(
        "admin/audit.html",
        page=page,
        f=chosen,
        target_types=TARGET_TYPES,
        args=filters.query_without(args, "page"),
    )
