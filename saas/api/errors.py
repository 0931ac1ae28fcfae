"""Every failure under /api/v1/ is problem+json: refused service calls, HTTP errors, limits."""

from __future__ import annotations

from werkzeug.exceptions import HTTPException

from saas.api import bp
from saas.api.problems import ApiProblem, problem, problem_from
from saas.extensions import db
from saas.services.accounts.api_tokens import TokenError
from saas.services.bots.edit import BotError
from saas.services.insights.backtests import BacktestError
from saas.services.insights.trade_history import FilterError
from saas.services.notifications.settings import SettingsError


@bp.before_request
def _authenticate():
    """Every API request is authenticated by its bearer token (saas.api.auth)."""
    from saas.api.auth import authenticate  # noqa: PLC0415

    authenticate()


@bp.errorhandler(ApiProblem)
def _api_problem(exc: ApiProblem):
    """A problem raised by the API layer itself."""
    db.session.rollback()
    return problem_from(exc)


@bp.errorhandler(BotError)
@bp.errorhandler(BacktestError)
def _refused(exc):
    """A service refused the change: nothing was written (422, naming the field when known)."""
    db.session.rollback()
    extra = {}
    if getattr(exc, "field", None):
        extra["invalid_params"] = [{"name": exc.field, "reason": exc.message}]
    return problem(422, exc.message, **extra)


@bp.errorhandler(FilterError)
@bp.errorhandler(TokenError)
@bp.errorhandler(SettingsError)
def _bad_value(exc):
    """A value the service cannot use."""
    db.session.rollback()
    return problem(422, str(exc))


@bp.errorhandler(HTTPException)
def _http(exc: HTTPException):
    """404 for another tenant's object, 405, and the rest, as problems."""
    db.session.rollback()
    headers = {k: v for k, v in exc.get_headers() if k in ("Retry-After", "Allow")}
    return problem(exc.code or 500, exc.description if exc.code != 404 else None, headers=headers)
