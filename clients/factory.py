"""Build the exchange client a configuration asks for."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from clients.base import ExchangeClient
from clients.market import PathMarket, PriceSource
from clients.paper import PaperClient
from clients.paper_engine import PaperEngine

PAPER_PRICE_SOURCES = ("simulated", "bybit", "phemex")


class ClientConfigError(ValueError):
    """A client setting that cannot work, worded for the operator."""


def real_client(exchange: str, api_key: str, api_secret: str, testnet: bool, env: Mapping):
    """A Bybit or Phemex client; base URLs are overridable for tests only."""
    if exchange == "bybit":
        from clients.bybit import BybitClient  # noqa: PLC0415 - imported only when used

        return BybitClient(api_key, api_secret, testnet=testnet, base_url=env.get("BYBIT_BASE_URL"))
    if exchange == "phemex":
        from clients.phemex import PhemexClient  # noqa: PLC0415

        return PhemexClient(
            api_key, api_secret, testnet=testnet, base_url=env.get("PHEMEX_BASE_URL")
        )
    raise ClientConfigError(f"unknown exchange {exchange!r}")


def paper_price_source(env: Mapping, testnet: bool) -> PriceSource:
    """The offline simulated market, or real public prices when PAPER_PRICES names an exchange."""
    source = (env.get("PAPER_PRICES") or "simulated").strip().lower()
    if source not in PAPER_PRICE_SOURCES:
        raise ClientConfigError(
            f"PAPER_PRICES must be one of {', '.join(PAPER_PRICE_SOURCES)}, got {source!r}"
        )
    if source == "simulated":
        return PathMarket()
    from clients.live_prices import ExchangePriceSource  # noqa: PLC0415

    return ExchangePriceSource(real_client(source, "", "", testnet, env))


def paper_balance(env: Mapping) -> Decimal:
    """PAPER_BALANCE, the simulated account's starting USDT (default 10000)."""
    raw = (env.get("PAPER_BALANCE") or "10000").strip()
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise ClientConfigError(f"PAPER_BALANCE must be a number, got {raw!r}") from None
    if not value.is_finite() or value <= 0:
        raise ClientConfigError(f"PAPER_BALANCE must be positive, got {raw}")
    return value


def make_client(
    exchange: str,
    api_key: str,
    api_secret: str,
    *,
    testnet: bool,
    env: Mapping,
    clock: Callable[[], datetime],
    data_dir: Path,
) -> ExchangeClient:
    """The client for ``exchange``; the paper one keeps its state under ``data_dir``."""
    if exchange != "paper":
        return real_client(exchange, api_key, api_secret, testnet, env)
    state_path = Path(env.get("PAPER_STATE_FILE") or data_dir / "paper-state.json")
    engine = None if state_path.exists() else PaperEngine(balance=paper_balance(env))
    return PaperClient(
        paper_price_source(env, testnet), clock, engine=engine, state_path=state_path
    )
