"""Reading an API key's permissions at onboarding, and what to tell its owner about them.

Where the exchange tells (Bybit), a key that can withdraw or transfer funds is refused, and a
key without an IP whitelist is accepted with a warning naming this server's address to
whitelist. Where it does not (Phemex), the owner is told plainly that nothing could be checked.
The result is stored on the bot (``bots.key_check``) and shown on its page; it never holds the
key.
"""

from __future__ import annotations

import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

from clients.errors import AuthenticationError, ExchangeError
from clients.key_permissions import KeyPermissions

OK = "ok"
WARNING = "warning"
REFUSED = "refused"
UNCHECKED = "unchecked"
STATUSES = (OK, WARNING, REFUSED, UNCHECKED)


@dataclass(frozen=True)
class KeyCheck:
    """What the permission check found, worded for the key's owner."""

    status: str
    messages: tuple[str, ...] = ()
    checked_at: str = ""
    ip_whitelist: tuple[str, ...] = ()
    permissions: tuple[str, ...] = field(default=())

    @property
    def refused(self) -> bool:
        """Whether the key must not be stored."""
        return self.status == REFUSED

    def as_dict(self) -> dict:
        """The stored form (bots.key_check)."""
        return {
            "status": self.status,
            "messages": list(self.messages),
            "checked_at": self.checked_at,
            "ip_whitelist": list(self.ip_whitelist),
            "permissions": list(self.permissions),
        }

    @classmethod
    def from_dict(cls, data: Mapping | None) -> KeyCheck | None:
        """The stored check, or None when the bot has none."""
        if not isinstance(data, Mapping) or data.get("status") not in STATUSES:
            return None
        return cls(
            status=data["status"],
            messages=tuple(str(m) for m in data.get("messages") or ()),
            checked_at=str(data.get("checked_at") or ""),
            ip_whitelist=tuple(str(ip) for ip in data.get("ip_whitelist") or ()),
            permissions=tuple(str(p) for p in data.get("permissions") or ()),
        )


def egress_address(base_url: str | None, configured: str = "") -> str | None:
    """The address to whitelist: EGRESS_IP when set, else this server's address toward the
    exchange (the local end of a UDP socket "connected" to it; no packet is sent)."""
    if configured:
        return configured
    host = urlsplit(base_url or "").hostname
    if not host:
        return None
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.settimeout(1)
            probe.connect((host, 443))
            return probe.getsockname()[0]
    except OSError:
        return None


def judge(found: KeyPermissions | None, exchange_name: str, egress: str | None, now: datetime):
    """The KeyCheck of what the exchange said (None: it cannot tell permissions)."""
    stamp = now.isoformat(timespec="seconds")
    where = f" ({egress})" if egress else ""
    if found is None:
        return KeyCheck(
            UNCHECKED,
            (
                f"{exchange_name}'s API does not tell a key's permissions, so they could not be "
                "checked. Make sure the key may trade contracts and never withdraw or transfer, "
                f"and restrict it to this server's address{where}.",
            ),
            stamp,
        )
    messages = []
    money = [p for p in found.permissions if "withdraw" in p.lower() or "transfer" in p.lower()]
    if found.can_withdraw or found.can_transfer:
        messages.append(
            f"This key may move money out of your account ({', '.join(money)}), so it was "
            f"refused. Create a {exchange_name} key with contract trading (orders and positions) "
            "only, without any Wallet (withdraw or transfer) permission."
        )
    if found.read_only or not found.can_trade_contracts:
        messages.append(
            "This key cannot place contract orders (it is read-only or lacks contract trading), "
            "so the bot could not trade with it."
        )
    if not found.ip_whitelist:
        messages.append(
            "This key has no IP whitelist: whoever copies it can use it from anywhere. "
            f"Restrict it on {exchange_name} to this server's address"
            + (f": {egress}." if egress else " (ask your operator for it).")
        )
    status = REFUSED if found.can_withdraw or found.can_transfer else (WARNING if messages else OK)
    if status == OK:
        messages.append(
            f"{exchange_name} reports trading permissions only, limited to "
            f"{', '.join(found.ip_whitelist)}."
        )
    return KeyCheck(status, tuple(messages), stamp, found.ip_whitelist, found.permissions)


def read_permissions(client, exchange_name: str, egress: str | None, now: datetime) -> KeyCheck:
    """Ask the exchange through ``client`` and judge the answer; UNCHECKED when it failed."""
    try:
        found = client.get_key_permissions()
    except AuthenticationError as exc:
        return KeyCheck(
            UNCHECKED,
            (f"{exchange_name} refused this key ({exc.message}); its permissions are unknown.",),
            now.isoformat(timespec="seconds"),
        )
    except ExchangeError as exc:
        return KeyCheck(
            UNCHECKED,
            (
                f"Could not read the key's permissions from {exchange_name} ({exc.message}); "
                "use \u201cTest connection\u201d on the bot's page to try again.",
            ),
            now.isoformat(timespec="seconds"),
        )
    return judge(found, exchange_name, egress, now)
