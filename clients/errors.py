"""Exchange error taxonomy: each type says what the caller should do next.

    ExchangeError
    ├── TemporaryError            retry later; the pair is skipped this run, the bot keeps running
    │   └── RateLimitedError      back off, then retry (reads only; orders are looked up instead)
    ├── OutcomeUnknownError       an order may or may not exist: look it up, never re-send
    ├── AuthenticationError       bad key, signature or permission: pause the bot, tell its owner
    ├── InsufficientFundsError    the order was refused for lack of margin
    ├── InvalidOrderError         the order breaks a rule (size, price, post-only would cross)
    │   ├── DuplicateOrderIdError an order with this client id already exists: "already placed"
    │   └── UnknownSymbolError    the exchange does not list the symbol (a configuration error)
    └── ExchangeDataError         a malformed or unexpected answer

Every error keeps the exchange's own code and message; none ever carries an API key.
"""

from __future__ import annotations


class ExchangeError(Exception):
    """Base of every error raised by an exchange client."""

    def __init__(self, message: str, *, code: str | int | None = None, exchange: str = ""):
        super().__init__(message)
        self.message = message
        self.code = code
        self.exchange = exchange

    def __str__(self) -> str:
        prefix = f"{self.exchange}: " if self.exchange else ""
        suffix = f" (code {self.code})" if self.code not in (None, "") else ""
        return f"{prefix}{self.message}{suffix}"


class TemporaryError(ExchangeError):
    """Network trouble, a 5xx on a read, maintenance: try again later."""


class RateLimitedError(TemporaryError):
    """The exchange asked us to slow down."""

    def __init__(self, message: str, *, retry_after: float = 1.0, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class OutcomeUnknownError(ExchangeError):
    """An order create whose answer does not prove a refusal: a timeout, a 5xx, an unreadable
    answer, or an exchange code the docs call uncertain (Bybit 10000/10016) or we do not know.
    The order is left "unknown" and looked up by its client order id; it is never re-sent."""


class AuthenticationError(ExchangeError):
    """The key, the signature or its permissions were refused."""


class InsufficientFundsError(ExchangeError):
    """Not enough available margin for the order."""


class InvalidOrderError(ExchangeError):
    """The exchange refused the order as malformed or against its rules."""


class DuplicateOrderIdError(InvalidOrderError):
    """An order with this client order id already exists."""


class ExchangeDataError(ExchangeError):
    """The answer could not be understood (malformed JSON, missing fields, zero maintenance)."""


class UnknownSymbolError(InvalidOrderError):
    """The exchange does not list this symbol."""
