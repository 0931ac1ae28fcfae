"""What the web app asks an exchange before saving: does a key work, is a symbol listed.

Both calls are made while a person waits for the page, so the client gets a short timeout and a
single attempt. Neither a key nor a secret ever reaches a message: the clients' errors carry
none (clients.errors), and the reports below only name the exchange.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from clients.errors import (
    AuthenticationError,
    ExchangeDataError,
    ExchangeError,
    InvalidOrderError,
    TemporaryError,
)
from clients.factory import ClientConfigError, paper_price_source, real_client
from strategies.types import InstrumentRules

CHECK_TIMEOUT_S = 5.0
# Base URLs and price settings the web app hands to the clients (tests point them at loopback).
CLIENT_SETTINGS = ("BYBIT_BASE_URL", "PHEMEX_BASE_URL", "PAPER_PRICES")
SYMBOL_PATTERN = re.compile(r"^[A-Z0-9]{1,24}USDT$")
EXCHANGE_NAMES = {"bybit": "Bybit", "phemex": "Phemex", "paper": "Paper"}
PERMISSIONS_NOTE = (
    "This check proves the key and secret are accepted and can read the balance. The exchange "
    "clients cannot read a key's permissions, so it cannot tell whether the key may trade or "
    "withdraw: give the key trade permission and never withdrawal permission."
)

ClientFactory = Callable[..., object]


class UnknownSymbolError(ValueError):
    """The exchange answered and does not list the symbol."""


@dataclass(frozen=True)
class ConnectionReport:
    """The outcome of a connection test, worded for the bot's owner."""

    ok: bool
    message: str
    wallet: Decimal | None = None
    # The clients cannot read permissions, so the page always shows PERMISSIONS_NOTE.
    permissions_checked: bool = False
    note: str = PERMISSIONS_NOTE


@dataclass(frozen=True)
class SymbolCheck:
    """A symbol's rules when the exchange was reachable, else a warning to show."""

    rules: InstrumentRules | None
    warning: str | None = None


def venue(exchange: str, testnet: bool) -> str:
    """ "Bybit testnet", "Phemex mainnet", "Paper"."""
    name = EXCHANGE_NAMES.get(exchange, exchange)
    if exchange == "paper":
        return name
    return f"{name} {'testnet' if testnet else 'mainnet'}"


def client_settings(*sources: Mapping) -> dict[str, str]:
    """The client settings found in ``sources`` (later ones win), blank values left out."""
    found: dict[str, str] = {}
    for source in sources:
        for name in CLIENT_SETTINGS:
            value = source.get(name)
            if value:
                found[name] = str(value)
    return found


def quick_client(
    exchange: str,
    api_key: str,
    api_secret: str,
    *,
    testnet: bool,
    env: Mapping,
    factory: ClientFactory = real_client,
):
    """A real client with a short timeout and one attempt: a person is waiting."""
    client = factory(exchange, api_key, api_secret, testnet, env)
    client.timeout = CHECK_TIMEOUT_S
    client.max_attempts = 1
    return client


def check_connection(
    exchange: str,
    api_key: str,
    api_secret: str,
    *,
    testnet: bool,
    env: Mapping,
    factory: ClientFactory = real_client,
) -> ConnectionReport:
    """Read the balance with these keys and say what that proved."""
    where = venue(exchange, testnet)
    if exchange == "paper":
        return ConnectionReport(True, "Paper bots trade a simulated account and need no keys.")
    if not api_key or not api_secret:
        return ConnectionReport(False, "Enter both the API key and the API secret to test them.")
    try:
        client = quick_client(
            exchange, api_key, api_secret, testnet=testnet, env=env, factory=factory
        )
    except ClientConfigError as exc:
        return ConnectionReport(False, str(exc))
    try:
        balance = client.get_balance()
    except AuthenticationError as exc:
        return ConnectionReport(
            False,
            f"{where} refused this key ({exc.message}). Check the key and the secret, and that "
            f"the key was created for {'the testnet' if testnet else 'mainnet'}.",
        )
    except TemporaryError as exc:
        return ConnectionReport(False, f"Could not reach {where} ({exc.message}); try again.")
    except ExchangeError as exc:
        return ConnectionReport(False, f"{where} answered unexpectedly: {exc.message}")
    finally:
        client.close()
    return ConnectionReport(
        True,
        f"Connected to {where}: the key reads the account (wallet {balance.wallet} USDT).",
        wallet=balance.wallet,
    )


def check_symbol_format(symbol: str) -> str:
    """The symbol upper-cased; UnknownSymbolError unless it looks like a USDT perpetual."""
    symbol = (symbol or "").strip().upper()
    if not SYMBOL_PATTERN.match(symbol):
        raise UnknownSymbolError(
            f"{symbol or 'The symbol'} is not a USDT perpetual symbol (for example BTCUSDT)."
        )
    return symbol


def lookup_instrument(
    exchange: str,
    symbol: str,
    *,
    testnet: bool,
    env: Mapping,
    factory: ClientFactory = real_client,
) -> SymbolCheck:
    """The symbol's rules from the bot's exchange; a warning instead when it cannot be asked.

    UnknownSymbolError when the exchange answered without the symbol.
    """
    symbol = check_symbol_format(symbol)
    where = venue(exchange, testnet)
    try:
        if exchange == "paper":
            source = paper_price_source(env, testnet)
            try:
                return SymbolCheck(source.instrument(symbol))
            finally:
                close = getattr(source, "close", None)
                if close is not None:
                    close()
        client = quick_client(exchange, "", "", testnet=testnet, env=env, factory=factory)
        try:
            return SymbolCheck(client.get_instrument(symbol))
        finally:
            client.close()
    except InvalidOrderError:
        # Bybit answers a parameter error (10001, "symbol invalid") for an unlisted symbol.
        raise UnknownSymbolError(f"{symbol} is not listed on {where}.") from None
    except ExchangeDataError as exc:
        if "unknown symbol" in exc.message:
            raise UnknownSymbolError(f"{symbol} is not listed on {where}.") from None
        return SymbolCheck(None, _unchecked(symbol, where, exc))
    except (ExchangeError, ClientConfigError) as exc:
        return SymbolCheck(None, _unchecked(symbol, where, exc))


def _unchecked(symbol: str, where: str, exc: Exception) -> str:
    """The warning shown when a symbol was saved without the exchange's confirmation."""
    reason = getattr(exc, "message", None) or str(exc)
    return (
        f"Could not check {symbol} with {where} ({reason}); it was saved unchecked and the "
        "leverage limited to 125. A wrong symbol shows as an error on the bot's next run."
    )
