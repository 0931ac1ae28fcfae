"""RFC 9457 problem details: every API error is ``application/problem+json``."""

from __future__ import annotations

from flask import jsonify

PROBLEM_TYPE = "application/problem+json"
TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    429: "Too many requests",
    500: "Internal server error",
}


class ApiProblem(Exception):
    """Raised by API views; rendered as a problem response by the blueprint's handler."""

    def __init__(self, status: int, detail: str, *, headers: dict | None = None, **extra):
        super().__init__(detail)
        self.status, self.detail = status, detail
        self.headers = headers or {}
        self.extra = extra


def problem(status: int, detail: str | None = None, *, headers: dict | None = None, **extra):
    """A problem+json response: type, title, status, detail and any extension members."""
    body = {"type": "about:blank", "title": TITLES.get(status, "Error"), "status": status}
    if detail:
        body["detail"] = detail
    body.update(extra)
    response = jsonify(body)
    response.status_code = status
    response.mimetype = PROBLEM_TYPE
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def problem_from(exc: ApiProblem):
    """The response of a raised ApiProblem."""
    return problem(exc.status, exc.detail, headers=exc.headers, **exc.extra)
