"""Which webhook URLs we may call: HTTPS to public addresses (HTTP to loopback in development).

The host is resolved and every address checked, at save time and again before each delivery,
so a name that later points inside our network is refused then (DNS rebinding narrows to the
moment between the check and the connection; docs/NOTIFICATIONS.md says so).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

Resolver = Callable[[str, int], Iterable[str]]


class UnsafeURL(ValueError):
    """A webhook URL we refuse to call; the message is for the user."""


def system_resolver(host: str, port: int) -> list[str]:
    """Every address the host resolves to."""
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        raise UnsafeURL(f"the host {host!r} does not resolve") from None
    return [info[4][0] for info in infos]


def _is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Not private, loopback, link-local, multicast, reserved or unspecified."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def check_url(url: str, *, allow_loopback: bool = False, resolver: Resolver | None = None) -> str:
    """The URL when it may be called, else UnsafeURL saying why.

    Production (``allow_loopback`` False): https only, every resolved address public.
    Development: additionally http or https to an address that is loopback.
    """
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise UnsafeURL("enter a full URL starting with https://")
    if parts.username or parts.password:
        raise UnsafeURL("the URL must not carry a user name or password")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise UnsafeURL("the URL's port is not a number") from None
    addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in _resolve(parts, port, resolver)]
    if not addresses:
        raise UnsafeURL(f"the host {parts.hostname!r} does not resolve")
    loopback = all(a.is_loopback for a in addresses)
    if allow_loopback and loopback:
        return url
    if parts.scheme != "https":
        raise UnsafeURL("webhook URLs must use https://")
    for address in addresses:
        if not _is_public(address):
            raise UnsafeURL(
                f"{parts.hostname} resolves to {address}, a private, loopback or link-local "
                "address; webhooks go to public addresses only"
            )
    return url


def _resolve(parts, port: int, resolver: Resolver | None) -> list[str]:
    """The host's addresses: an IP literal as itself, a name through the resolver."""
    host = parts.hostname
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        pass
    return list((resolver or system_resolver)(host, port))
