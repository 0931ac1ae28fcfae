"""What the web app asks an exchange before saving: does a key work, what may it do, is a symbol
listed.

Both calls are made while a person waits for the page, so the client gets a short timeout and a
single attempt. Neither a key nor a secret ever reaches a message: the clients' errors carry
none (clients.errors), and the reports below only name the exchange.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from clients.errors import (
    AuthenticationError,
    ExchangeDataError,
    ExchangeError,
    InvalidOrderError,
    TemporaryError,
)
from clients.factory import ClientConfigError, paper_price_source, real_client
from saas.services.bots.key_permissions import (
    UNCHECKED,
    KeyCheck,
    egress_address,
    read_permissions,
)
from strategies.types import InstrumentRules

CHECK_TIMEOUT_S = 5.0
# Base URLs and price settings the web app hands to the clients (tests point them at loopback).
CLIENT_SETTINGS = ("BYBIT_BASE_URL", "PHEMEX_BASE_URL", "PAPER_PRICES")
SYMBOL_PATTERN = re.compile(r"^[A-Z0-9]{1,24}USDT$")
EXCHANGE_NAMES = {"bybit": "Bybit", "phemex": "Phemex", "paper": "Paper"}
PERMISSIONS_NOTE = (
    "This check proves the key and secret are accepted and can read the balance. Give the key "
    "trade permission only, never withdrawal or transfer permission."
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
    # What the exchange said about the key's permissions (None: not asked, e.g. paper).
    key_check: KeyCheck | None = None

    @property
    def permissions_checked(self) -> bool:
        """Whether the exchange told the key's permissions."""
        return self.key_check is not None and self.key_check.status != UNCHECKED

    @property
    def note(self) -> str:
        """What the page says about permissions under the outcome."""
        if self.key_check is None:
            return PERMISSIONS_NOTE
        return " ".join(self.key_check.messages)


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


def _egress(client, env: Mapping) -> str | None:
    """The address the owner should whitelist on the key."""
    return egress_address(getattr(client, "base_url", None), str(env.get("EGRESS_IP") or ""))


def check_key(
    exchange: str,
    api_key: str,
    api_secret: str,
    *,
    testnet: bool,
    env: Mapping,
    now: datetime,
    factory: ClientFactory = real_client,
) -> KeyCheck | None:
    """The key's permissions as the exchange tells them (None for paper bots)."""
    if exchange == "paper":
        return None
    try:
        client = quick_client(
            exchange, api_key, api_secret, testnet=testnet, env=env, factory=factory
        )
    except ClientConfigError as exc:
        return KeyCheck(UNCHECKED, (str(exc),), now.isoformat(timespec="seconds"))
    try:
        return read_permissions(client, venue(exchange, testnet), _egress(client, env), now)
    finally:
        client.close()


def check_connection(
    exchange: str,
    api_key: str,
    api_secret: str,
    *,
    testnet: bool,
    env: Mapping,
    factory: ClientFactory = real_client,
    now: datetime | None = None,
) -> ConnectionReport:
    """Read the balance and the key's permissions with these keys and say what that proved.

    A key the exchange says may withdraw or transfer fails the test, whatever else works.
    """
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
        check = read_permissions(client, where, _egress(client, env), now or datetime.now(UTC))
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
    if check.refused:
        return ConnectionReport(
            False,
            f"Connected to {where}, but this key is refused: {check.messages[0]}",
            wallet=balance.wallet,
            key_check=check,
        )
    return ConnectionReport(
        True,
        f"Connected to {where}: the key reads the account (wallet {balance.wallet} USDT).",
        wallet=balance.wallet,
        key_check=check,
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
