"""What travels between the fake exchange's server and its dialects: a request and a reply."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from tests.fake_exchange.market import Market
from tests.fake_exchange.state import Engine


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot encode {type(value).__name__}")


@dataclass
class Reply:
    """What a dialect handler answers."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    def encoded(self) -> bytes:
        """The body as bytes (objects become JSON; Decimals become strings)."""
        if isinstance(self.body, bytes):
            return self.body
        return json.dumps(self.body, default=_json_default, separators=(",", ":")).encode()


@dataclass
class Ctx:
    """One request as the dialect handlers see it."""

    exchange: str
    method: str
    path: str
    raw_query: str
    query: dict[str, str]
    raw_body: bytes
    body: dict | None
    headers: Any
    engine: Engine
    market: Market
