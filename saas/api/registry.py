"""One decorator declares an API route and its OpenAPI description, so the two cannot drift."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from saas.api import bp

# Scopes in the order they include each other (saas.models.api_tokens.TOKEN_SCOPES).
RULE_ARGUMENT = re.compile(r"<(?:[a-z]+:)?([a-z_]+)>")


@dataclass(frozen=True)
class Operation:
    """What the OpenAPI document says about one method of one rule."""

    rule: str
    method: str
    endpoint: str
    summary: str
    scope: str | None
    tag: str
    body: dict | None = None
    query: tuple = ()
    response: dict | None = None
    status: int = 200
    description: str = ""
    extra_responses: tuple = field(default=())

    @property
    def path(self) -> str:
        """The OpenAPI path: ``/bots/{bot_id}`` for ``/bots/<int:bot_id>``."""
        return RULE_ARGUMENT.sub(r"{\1}", self.rule)

    @property
    def path_params(self) -> list[str]:
        """The names of the path's arguments."""
        return RULE_ARGUMENT.findall(self.rule)


OPERATIONS: list[Operation] = []


def api_route(
    rule: str,
    method: str,
    *,
    summary: str,
    scope: str | None,
    tag: str,
    body: dict | None = None,
    query: tuple = (),
    response: dict | None = None,
    status: int = 200,
) -> Callable:
    """Register ``view`` on the API blueprint for one method, and describe it for OpenAPI.

    ``scope`` is the token scope the call needs (None: no token, e.g. the document itself);
    ``body`` and ``response`` are JSON Schemas; ``query`` holds (name, schema, description).
    """

    def decorate(view):
        endpoint = view.__name__
        view.api_scope = scope
        bp.add_url_rule(rule, endpoint=endpoint, view_func=view, methods=[method])
        OPERATIONS.append(
            Operation(
                rule,
                method.lower(),
                f"{bp.name}.{endpoint}",
                summary,
                scope,
                tag,
                body,
                tuple(query),
                response,
                status,
                (view.__doc__ or "").strip(),
            )
        )
        return view

    return decorate
