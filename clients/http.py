"""Shared REST plumbing of the real exchange clients: transport, request budget, retries, errors.

The token bucket and failure classification live in clients.http_policy, the pure encoding and
parsing helpers in clients.http_codec; both stay importable from here.

Retry policy (the one place it is decided):
- reads (GET) are retried with exponential backoff on temporary trouble: network errors,
  HTTP 5xx and rate-limit answers;
- writes are retried only after a rate-limit answer, which means the exchange refused them;
- an order request is never sent twice: a timeout, a connection dropped after sending, a 5xx
  or an unreadable answer raises OutcomeUnknownError and the workflow looks the order up.
API keys and secrets never reach a log line, an exception message or a repr.
"""

from __future__ import annotations

import json
import logging
import time
from abc import abstractmethod
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from clients.base import ExchangeClient, OrderRequest, OrderResult
from clients.errors import (
    AuthenticationError,
    DuplicateOrderIdError,
    ExchangeDataError,
    ExchangeError,
    InvalidOrderError,
    OutcomeUnknownError,
    RateLimitedError,
    TemporaryError,
)
from clients.http_codec import (
    BASE_URLS,
    acknowledged,
    encode_body,
    encode_query,
    field,
    fmt_decimal,
    hmac_sha256_hex,
    implied_position_side,
    opt_decimal,
    resolve_base_url,
    rows_of,
    to_decimal,
    utc_from_ms,
    validate_order,
)
from clients.http_policy import Call, ClockSkewError, RequestBudget, maybe_sent

__all__ = [
    "BASE_URLS",
    "REDACTED",
    "Call",
    "ClockSkewError",
    "HttpExchangeClient",
    "RequestBudget",
    "acknowledged",
    "encode_body",
    "encode_query",
    "field",
    "fmt_decimal",
    "hmac_sha256_hex",
    "implied_position_side",
    "opt_decimal",
    "resolve_base_url",
    "rows_of",
    "to_decimal",
    "utc_from_ms",
    "validate_order",
]

logger = logging.getLogger(__name__)

REDACTED = "***"


class HttpExchangeClient(ExchangeClient):
    """Transport, signing hooks, request budget, retries and error mapping for both clients."""

    max_attempts = 3
    backoff_base = 0.5
    max_backoff = 10.0
    user_agent = "dcabot/0.1"

    def __init__(
        self,
        api_key: str,
        api_secret: str,
        *,
        testnet: bool = False,
        base_url: str | None = None,
        timeout: float = 10.0,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self._api_key = api_key or ""
        self._api_secret = api_secret or ""
        self.base_url = resolve_base_url(self.name, testnet=testnet, base_url=base_url)
        self.timeout = timeout
        self._clock = clock
        self._sleep = sleep
        self._session = requests.Session()
        # No transport-level retries at all: an order must never be re-sent behind our back.
        adapter = HTTPAdapter(max_retries=0)
        self._session.mount("https://", adapter)
        self._session.mount("http://", adapter)
        self._session.headers.update({"User-Agent": self.user_agent})
        self._cache: dict[str, tuple[float, Any]] = {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r})"

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        """Release pooled connections."""
        self._session.close()

    @property
    def has_credentials(self) -> bool:
        """Whether private endpoints can be called."""
        return bool(self._api_key and self._api_secret)

    # Hooks each exchange fills in.
    @abstractmethod
    def _auth_headers(self, method: str, path: str, query: str, body: bytes) -> dict[str, str]:
        """The signature headers of one request."""

    @abstractmethod
    def _budget_for(self, path: str) -> tuple[RequestBudget, float]:
        """The rate-limit bucket a path draws from and its weight."""

    @abstractmethod
    def _check(self, status: int, payload: Any, headers: Mapping[str, str], call: Call) -> Any:
        """Return the useful part of an answer or raise the mapped clients.errors type."""

    # Error helpers.
    def scrub(self, text: str) -> str:
        """Remove the API key and secret from text that came from outside (exchange messages)."""
        for secret in (self._api_secret, self._api_key):
            if secret:
                text = text.replace(secret, REDACTED)
        return text

    def error(self, cls: type[ExchangeError], message: str, code: Any = None, **kwargs):
        """An exception of ``cls`` with a scrubbed message and the exchange's code."""
        return cls(self.scrub(str(message)), code=code, exchange=self.name, **kwargs)

    error_classes: Mapping[int, type[ExchangeError]] = {}

    def mapped_error(self, code: int, message: str, call: Call, retry_after: float = 1.0):
        """The clients.errors type of an exchange code.

        On an order create, a code not in the table does not prove a refusal: the outcome is
        unknown and the order is looked up. Off an order, "unknown outcome" means "try later".
        """
        cls = self.error_classes.get(code) or (OutcomeUnknownError if call.order else ExchangeError)
        if cls is OutcomeUnknownError and not call.order:
            cls = TemporaryError
        text = f"{call}: {message or 'error'}"
        if issubclass(cls, DuplicateOrderIdError):
            return self.error(cls, f"{text} (already placed)", code)
        if issubclass(cls, RateLimitedError):
            return self.error(cls, text, code, retry_after=retry_after)
        return self.error(cls, text, code)

    def _cached(self, key: str, loader: Callable[[], Any], ttl: float = 600.0) -> Any:
        """A value loaded at most once per ``ttl`` seconds (instrument rules change rarely)."""
        hit = self._cache.get(key)
        if hit is None or self._clock() - hit[0] >= ttl:
            hit = (self._clock(), loader())
            self._cache[key] = hit
        return hit[1]

    # Order workflow shared by both exchanges.
    order_gone_codes: frozenset = frozenset()

    @abstractmethod
    def _submit(self, order: OrderRequest) -> OrderResult:
        """Send one order request (exactly once) and return what the acknowledgement says."""

    @abstractmethod
    def _open_orders(self, symbol: str) -> list[tuple[str, Any]]:
        """(client order id, cancel handle) of every open order on the symbol."""

    @abstractmethod
    def _cancel(self, symbol: str, handle: Any) -> None:
        """Cancel one open order."""

    def place_order(self, order: OrderRequest) -> OrderResult:
        """Place one order, never re-sent; a not-yet-final answer is read back once, best effort."""
        validate_order(order)
        placed = self._submit(order)
        if placed.is_final:
            return placed
        try:
            return self.get_order(order.symbol, order.client_order_id) or placed
        except ExchangeError:
            return placed  # the order exists; the next run's reconciliation reads its fate

    def cancel_orders(self, symbol: str, client_id_prefix: str) -> list[str]:
        """Cancel our open orders on the symbol (client id starts with the prefix); their ids."""
        if not client_id_prefix:
            raise self.error(InvalidOrderError, "refusing to cancel with an empty client id prefix")
        cancelled = []
        for client_id, handle in self._open_orders(symbol):
            if not client_id.startswith(client_id_prefix):
                continue  # another side's, another bot's or the user's own order
            try:
                self._cancel(symbol, handle)
            except ExchangeError as exc:
                if exc.code in self.order_gone_codes:
                    continue  # filled or cancelled meanwhile
                raise
            cancelled.append(client_id)
        return cancelled

    def _backoff(self, attempt: int) -> float:
        return min(self.max_backoff, self.backoff_base * 2 ** (attempt - 1))

    # The request pipeline.
    def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
        auth: str = "required",
        order: bool = False,
    ) -> Any:
        """One logical request under the retry policy of the module docstring."""
        query = encode_query(params)
        payload = encode_body(body)
        call = Call(method, path, order)
        is_read = method == "GET" and not order
        for attempt in range(1, self.max_attempts + 1):
            try:
                return self._send(call, query, payload, auth)
            except RateLimitedError as exc:
                if attempt == self.max_attempts or exc.retry_after > self.max_backoff:
                    raise
                delay, reason = max(exc.retry_after, self._backoff(attempt)), exc
            except ClockSkewError:
                raise
            except TemporaryError as exc:
                if not is_read or attempt == self.max_attempts:
                    raise
                delay, reason = self._backoff(attempt), exc
            logger.warning(
                "%s; retry %d of %d in %.2f s", reason, attempt, self.max_attempts - 1, delay
            )
            self._sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _send(self, call: Call, query: str, body: bytes, auth: str) -> Any:
        """Sign, send and decode one HTTP request."""
        headers = {"Content-Type": "application/json"} if body else {}
        if auth == "required" and not self.has_credentials:
            raise self.error(AuthenticationError, f"{call} needs an API key and secret")
        if auth != "none" and self.has_credentials:
            headers.update(self._auth_headers(call.method, call.path, query, body))
        budget, weight = self._budget_for(call.path)
        budget.acquire(weight)
        url = self.base_url + call.path + (f"?{query}" if query else "")
        try:
            response = self._session.request(
                call.method, url, data=body or None, headers=headers, timeout=self.timeout
            )
        except requests.RequestException as exc:
            raise self._network_error(exc, call) from exc
        logger.debug("%s %s -> HTTP %s", self.name, call, response.status_code)
        return self._decode(response, call)

    def _network_error(self, exc: requests.RequestException, call: Call) -> ExchangeError:
        """Timeouts and dropped connections: unknown outcome for orders, temporary otherwise."""
        kind = type(exc).__name__
        if call.order and maybe_sent(exc):
            return self.error(
                OutcomeUnknownError,
                f"{call}: {kind} after the order may have been sent; look it up, do not re-send",
            )
        return self.error(TemporaryError, f"{call}: {kind} talking to {self.name}")

    def _decode(self, response: requests.Response, call: Call) -> Any:
        status = response.status_code
        if status >= 500:
            if call.order:
                raise self.error(
                    OutcomeUnknownError,
                    f"{call}: HTTP {status} after the order was sent; look it up, do not re-send",
                    code=status,
                )
            raise self.error(TemporaryError, f"{call}: HTTP {status} from {self.name}", code=status)
        try:
            payload = json.loads(response.content, parse_float=Decimal)
        except ValueError:
            payload = None
            if 200 <= status < 300:
                snippet = response.content[:60].decode("utf-8", "replace")
                message = f"{call}: malformed JSON (HTTP {status}): {snippet!r}"
                if call.order:
                    raise self.error(
                        OutcomeUnknownError, message + "; the order may exist, look it up"
                    ) from None
                raise self.error(ExchangeDataError, message) from None
        return self._check(status, payload, response.headers, call)
