"""Request budget and failure classification of the REST clients (rate limits, sent or not)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import requests
from urllib3.exceptions import NameResolutionError, NewConnectionError

from clients.errors import TemporaryError


class ClockSkewError(TemporaryError):
    """The exchange refused the request's timestamp; resync the clock before trying again."""


class RequestBudget:
    """A token bucket keeping one client under the exchange's published rate limit."""

    def __init__(
        self,
        rate_per_second: float,
        capacity: float,
        *,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
    ):
        self.rate = rate_per_second
        self.capacity = capacity
        self._tokens = capacity
        self._stamp: float | None = None
        self._clock = clock
        self._sleep = sleep

    def acquire(self, weight: float = 1.0) -> float:
        """Take ``weight`` tokens, sleeping first when the bucket is short; the seconds slept."""
        now = self._clock()
        if self._stamp is not None:
            elapsed = max(0.0, now - self._stamp)
            self._tokens = min(self.capacity, self._tokens + elapsed * self.rate)
        self._stamp = now
        weight = min(weight, self.capacity)
        if self._tokens >= weight:
            self._tokens -= weight
            return 0.0
        wait = (weight - self._tokens) / self.rate
        self._sleep(wait)
        # The sleep paid for the missing tokens; trust it instead of a clock that may be fake.
        self._tokens = 0.0
        self._stamp = max(self._clock(), now + wait)
        return wait


@dataclass(frozen=True, slots=True)
class Call:
    """One request as the error mapping sees it."""

    method: str
    path: str
    order: bool = False

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def maybe_sent(exc: requests.RequestException) -> bool:
    """False only when the request provably never left: no connection could be opened."""
    if isinstance(exc, requests.ConnectTimeout):
        return False
    if isinstance(exc, requests.ConnectionError):
        reason = getattr(exc.args[0], "reason", None) if exc.args else None
        if isinstance(reason, NewConnectionError | NameResolutionError):
            return False
    return True
