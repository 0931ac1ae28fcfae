"""Error pages (400, 401, 403, 404, 405, 429, 500): a short page or JSON, never a stack trace."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

logger = logging.getLogger("dcabot.web")

MESSAGES = {
    400: ("Bad request", "The request could not be understood."),
    401: ("Please log in", "You need to log in to do that."),
    403: ("Not allowed", "You do not have permission to see this page."),
    404: ("Not found", "There is nothing here. It may have been moved or deleted."),
    405: ("Not allowed", "This page cannot be used that way."),
    413: ("Too large", "What you sent is too large."),
    429: (
        "Too many requests",
        "You have tried that too many times. Please wait a few minutes and try again.",
    ),
    500: (
        "Something went wrong",
        "We could not finish that. The error has been logged; please try again in a moment.",
    ),
}
# Headers of an HTTP error worth passing on (when to retry, which methods work).
KEPT_HEADERS = ("Retry-After", "Allow")
CSRF_MESSAGE = (
    "The form had expired or did not come from this site, so nothing was changed. Reload the "
    "page and try again."
)


def wants_json() -> bool:
    """JSON callers (an API path, a JSON body, or JSON preferred over HTML) get JSON errors."""
    if request.path.startswith("/api/") or request.is_json:
        return True
    accept = request.accept_mimetypes
    return accept.best == "application/json" or (accept["application/json"] > accept["text/html"])


def error_response(code: int, message: str | None = None):
    """The page (or JSON) for an HTTP error code."""
    title, default = MESSAGES.get(code, ("Error", "The request failed."))
    message = message or default
    if request.path.startswith("/api/"):
        from saas.api.problems import problem  # noqa: PLC0415 - RFC 9457 for API callers

        return problem(code, message), code
    if wants_json():
        return jsonify({"error": title, "message": message, "status": code}), code
    try:
        return render_template("errors/error.html", code=code, title=title, message=message), code
    except Exception:  # noqa: BLE001 - the page itself failed (say, the database is down)
        logger.exception("could not render the error page")
        return f"{code} {title}\n", code, {"Content-Type": "text/plain; charset=utf-8"}


def _http_error(error: HTTPException):
    """Any HTTP error: our message for its code, keeping headers such as Retry-After."""
    code = error.code or 500
    kept = {name: value for name, value in error.get_headers() if name in KEPT_HEADERS}
    body, status, *rest = error_response(code)
    headers = {**(rest[0] if rest else {}), **kept}
    return body, status, headers


def _csrf_error(_error: CSRFError):
    """A refused form: nothing changed; say how to recover."""
    return error_response(400, CSRF_MESSAGE)


def _server_error(error: Exception):
    """An unexpected failure: log it with its traceback, show the short page."""
    original = getattr(error, "original_exception", None) or error
    if not isinstance(original, HTTPException):
        logger.error(
            "unhandled error on %s %s",
            request.method,
            request.path,
            exc_info=(type(original), original, original.__traceback__),
        )
    _rollback()
    return error_response(500)


def _rollback() -> None:
    """Leave the request's database session usable for the error page."""
    try:
        from saas.extensions import db  # noqa: PLC0415

        db.session.rollback()
    except Exception:  # noqa: BLE001, S110 - nothing more to do on the way out
        pass


def register_error_handlers(app: Flask) -> None:
    """Install the handlers on ``app``."""
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(InternalServerError, _server_error)
    app.register_error_handler(HTTPException, _http_error)
