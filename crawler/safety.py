"""Keep the crawler away from private networks: attacker pages must not reach the crawler's LAN.

A request is refused when its host is, or resolves to, a private, loopback, link-local or
otherwise non-public address, unless the operator mapped that host with host rules or allowed
private addresses explicitly.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from crawler.host_rules import HostRules
from extractors.hosts import normalize_host


def is_public_address(address: str) -> bool:
    """True for globally routable unicast addresses."""
    try:
        ip = ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


class AddressGuard:
    """Decides whether a URL may be fetched; resolutions are cached for the guard's lifetime."""

    def __init__(self, host_rules: HostRules, allow_private: bool = False):
        self.host_rules = host_rules
        self.allow_private = allow_private
        self._verdicts: dict[str, str | None] = {}

    async def refusal(self, url: str) -> str | None:
        """None when `url` may be fetched, else the reason it may not."""
        if self.allow_private:
            return None
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https", "ws", "wss"):
            return None  # data:, blob: and friends never leave the browser
        host = normalize_host(parts.hostname or "")
        if host is None or self.host_rules.mapped(host):
            return None
        if host not in self._verdicts:
            self._verdicts[host] = await self._check_host(host)
        return self._verdicts[host]

    async def _check_host(self, host: str) -> str | None:
        try:
            ipaddress.ip_address(host)
            addresses = [host]
        except ValueError:
            try:
                infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
            except OSError:
                return None  # unresolvable: the fetch fails on its own
            addresses = [info[4][0] for info in infos]
        private = [a for a in addresses if not is_public_address(a)]
        if private:
            return f"refused: {host} is a non-public address ({private[0]}); map it with --host-rules or pass --allow-private"
        return None
