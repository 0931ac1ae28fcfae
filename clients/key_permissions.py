"""What an exchange says an API key may do: the value ``get_key_permissions`` returns.

Bybit answers ``GET /v5/user/query-api`` (any key may ask about itself): a ``readOnly`` flag,
named permission lists and the key's IP whitelist ("*" when it has none). Phemex's REST API has
no such endpoint, so its client returns None: the permissions cannot be read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from clients.errors import ExchangeDataError

# Permission names that move money out of the trading account (Bybit's "Wallet" group and the
# names it uses elsewhere for the same).
WITHDRAW_WORDS = ("withdraw",)
TRANSFER_WORDS = ("transfer",)
NO_WHITELIST = "*"


@dataclass(frozen=True)
class KeyPermissions:
    """An API key's permissions as the exchange reports them."""

    read_only: bool
    permissions: tuple[str, ...]  # "Group.Name", e.g. "ContractTrade.Order", "Wallet.Withdraw"
    ip_whitelist: tuple[str, ...]  # empty when the key works from any address

    @property
    def can_withdraw(self) -> bool:
        """Whether the key may withdraw funds."""
        return any(w in p.lower() for p in self.permissions for w in WITHDRAW_WORDS)

    @property
    def can_transfer(self) -> bool:
        """Whether the key may move funds between accounts."""
        return any(w in p.lower() for p in self.permissions for w in TRANSFER_WORDS)

    @property
    def can_trade_contracts(self) -> bool:
        """Whether the key may place USDT-perpetual orders (Bybit: ContractTrade or
        Derivatives)."""
        groups = ("contracttrade.", "derivatives.")
        return not self.read_only and any(p.lower().startswith(groups) for p in self.permissions)


def parse_bybit_key_info(result: Any) -> KeyPermissions:
    """The permissions of a /v5/user/query-api result."""
    if not isinstance(result, Mapping):
        raise ExchangeDataError("bybit: query-api returned no key information")
    groups = result.get("permissions") or {}
    if not isinstance(groups, Mapping):
        raise ExchangeDataError("bybit: query-api permissions are not an object")
    names = tuple(
        f"{group}.{name}"
        for group, values in sorted(groups.items())
        for name in (values if isinstance(values, list) else [])
        if isinstance(name, str)
    )
    ips = tuple(
        str(ip).strip()
        for ip in (result.get("ips") or [])
        if str(ip).strip() and str(ip).strip() != NO_WHITELIST
    )
    try:
        read_only = int(result.get("readOnly", 0)) == 1
    except (TypeError, ValueError):
        raise ExchangeDataError("bybit: query-api readOnly is not 0 or 1") from None
    return KeyPermissions(read_only=read_only, permissions=names, ip_whitelist=ips)
