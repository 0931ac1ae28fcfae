"""What the API views share: the JSON body, booleans and integers in it, and the services' time."""

from __future__ import annotations

from flask import request

from saas.api.auth import now  # noqa: F401 - re-exported for the views
from saas.api.problems import ApiProblem


def json_body() -> dict:
    """The request's JSON object; a 400 problem for anything else."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiProblem(400, "Send a JSON object with 'Content-Type: application/json'.")
    return body


def invalid(name: str, reason: str) -> ApiProblem:
    """A 422 naming the field at fault."""
    return ApiProblem(422, reason, invalid_params=[{"name": name, "reason": reason}])


def boolean(body: dict, name: str, default=None):
    """A JSON boolean member (or its default when absent)."""
    value = body.get(name, default)
    if value is not None and not isinstance(value, bool):
        raise invalid(name, f"{name} must be true or false.")
    return value


def integer(body: dict, name: str, default=None):
    """A JSON integer member (or its default when absent)."""
    value = body.get(name, default)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise invalid(name, f"{name} must be a whole number.")
    return value


def string(body: dict, name: str, default=None):
    """A JSON string member (or its default when absent)."""
    value = body.get(name, default)
    if value is not None and not isinstance(value, str):
        raise invalid(name, f"{name} must be a string.")
    return value
