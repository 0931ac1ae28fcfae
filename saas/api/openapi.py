"""The OpenAPI 3.1 document, built from the routes' own declarations (saas.api.registry)."""

from __future__ import annotations

from saas.api.registry import OPERATIONS, Operation
from saas.api.schemas import COMPONENTS, ref
from saas.models.api_tokens import TOKEN_SCOPES

TITLE = "dcabot API"
VERSION = "1.0.0"
ERROR_CODES = {
    "400": "The body is not a JSON object.",
    "401": "No token, or a token that is unknown, revoked or expired.",
    "403": "The token's scope or the plan does not allow this call.",
    "404": "No such object among yours.",
    "422": "The service refused the value (invalid_params names the field).",
    "429": "The token's rate limit is spent (see Retry-After).",
}


def _problem(description: str) -> dict:
    """A problem+json response."""
    return {
        "description": description,
        "content": {"application/problem+json": {"schema": ref("Problem")}},
    }


def _operation(op: Operation) -> dict:
    """One operation object."""
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "integer"}}
        for name in op.path_params
    ]
    parameters += [
        {"name": name, "in": "query", "required": False, "schema": schema, "description": text}
        for name, schema, text in op.query
    ]
    ok = {"description": "Done." if op.status == 204 else "OK."}
    if op.response is not None:
        ok["content"] = {"application/json": {"schema": op.response}}
    responses = {str(op.status): ok}
    if op.scope is not None:
        codes = ("401", "403", "429") + (("404",) if op.path_params else ())
        if op.body is not None:
            codes += ("400", "422")
        responses.update({code: _problem(ERROR_CODES[code]) for code in sorted(codes)})
    result = {
        "operationId": op.endpoint.split(".", 1)[1],
        "summary": op.summary,
        "description": op.description + (f"\n\nScope: `{op.scope}`." if op.scope else ""),
        "tags": [op.tag],
        "responses": responses,
    }
    if parameters:
        result["parameters"] = parameters
    if op.body is not None:
        result["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": op.body}},
        }
    result["security"] = [{"bearer": []}] if op.scope is not None else []
    return result


def openapi_document(server_url: str = "/api/v1") -> dict:
    """The whole document for a server base URL."""
    paths: dict[str, dict] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method] = _operation(op)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": TITLE,
            "version": VERSION,
            "description": (
                "Personal access tokens are made under Account → API tokens and sent as "
                "`Authorization: Bearer <token>`. Scopes include each other in the order "
                + " < ".join(TOKEN_SCOPES)
                + ". Pro plans may read; Enterprise may also trade and administer. "
                "Errors are RFC 9457 problem details."
            ),
        },
        "servers": [{"url": server_url}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": COMPONENTS,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
