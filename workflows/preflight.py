"""Checks before a run's first request that writes: each pair's symbol, candle interval, leverage.

A wrong setting must stop the run with one line and exit 2 before any order is sent, rather than
reach the exchange (or the paper exchange, which would happily trade a symbol that does not exist).
"""

from __future__ import annotations

import re
from decimal import Decimal

from clients.base import ExchangeClient
from clients.errors import InvalidOrderError, UnknownSymbolError

# A USDT perpetual as both exchanges spell it: upper-case letters and digits, then USDT.
SYMBOL_PATTERN = re.compile(r"^[A-Z0-9]{1,24}USDT$")
MIN_LEVERAGE = Decimal(1)
# Bybit's "request parameter error", its answer for a symbol it cannot find.
SYMBOL_REFUSED_CODES = frozenset({10001})


class PreflightError(ValueError):
    """A pair the exchange cannot trade as configured; the one line the operator reads."""


def check_pairs(client: ExchangeClient, pairs) -> None:
    """Every pair's symbol grammar, listing, candle interval and leverage range, in that order."""
    for pair in pairs:
        check_pair(client, pair)


def check_pair(client: ExchangeClient, pair) -> None:
    """One pair; PreflightError names the pair and the setting."""
    where = f"{pair.symbol} {pair.side}"
    if not SYMBOL_PATTERN.match(pair.symbol):
        raise PreflightError(
            f"{where}: {pair.symbol!r} is not a USDT perpetual symbol (for example BTCUSDT)"
        )
    offered = client.candle_intervals
    if offered is not None and pair.ema_interval not in offered:
        allowed = ", ".join(str(m) for m in sorted(offered))
        raise PreflightError(
            f"{where}: {client.name} has no {pair.ema_interval}-minute candles "
            f"(EMA_INTERVAL must be one of {allowed})"
        )
    try:
        rules = client.get_instrument(pair.symbol)
    except InvalidOrderError as exc:
        # Not listed, or (Bybit 10001) a symbol the exchange cannot parse; any other refusal
        # of a read is the exchange's trouble, not the setting's.
        if isinstance(exc, UnknownSymbolError) or exc.code in SYMBOL_REFUSED_CODES:
            raise PreflightError(f"{where}: {pair.symbol} is not listed on {client.name}") from None
        raise
    leverage = Decimal(pair.leverage)
    if not leverage.is_finite() or not MIN_LEVERAGE <= leverage <= rules.max_leverage:
        raise PreflightError(
            f"{where}: leverage {leverage} is outside {pair.symbol}'s range "
            f"{MIN_LEVERAGE}-{rules.max_leverage} on {client.name}"
        )
