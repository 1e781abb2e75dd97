"""Keep the crawler away from private networks: attacker pages must not reach the crawler's LAN.

A request is refused when its host is, or resolves to, a private, loopback, link-local or
otherwise non-public address, unless the operator mapped that host with host rules (as Chromium
reads them: see host_rules.py) or allowed private addresses explicitly.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from hostpairs.crawler.host_rules import HostRules, url_host_and_port
from hostpairs.extractors.hosts import is_ip_address, normalize_host


def is_public_address(address: str) -> bool:
    """True for globally routable unicast addresses."""
    try:
        ip = ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


# Names Chromium answers with a loopback address by itself, without asking the system's resolver.
_BROWSER_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "localhost6", "localhost6.localdomain6"})


def is_browser_loopback_name(host: str) -> bool:
    """True for `localhost`, `*.localhost` and their kin, which Chromium resolves to loopback itself."""
    return host in _BROWSER_LOOPBACK_NAMES or host.endswith(".localhost")


class AddressGuard:
    """Decides whether a URL may be fetched; verdicts are kept for the guard's lifetime."""

    def __init__(self, host_rules: HostRules, allow_private: bool = False):
        self.host_rules = host_rules
        self.allow_private = allow_private
        self._verdicts: dict[str, str | None] = {}

    def _guarded_host(self, url: str) -> str | None:
        """The host of `url` when the guard applies to it: private addresses not allowed, a network
        scheme (data:, blob: and friends never leave the browser), and a host and port the rules
        do not map as Chromium reads them (EXCLUDEd hosts, IP literals and ports included)."""
        parts = urlsplit(url)
        if self.allow_private or parts.scheme not in ("http", "https", "ws", "wss"):
            return None
        host = normalize_host(parts.hostname or "")
        if host is None:
            return None
        host_port = url_host_and_port(url)
        if host_port is None:  # a port no browser would use: checked, never taken for mapped
            return host
        if self.host_rules.mapped(*host_port):
            return None
        canonical = host_port[0]
        return canonical if is_ip_address(canonical) else host  # 2130706433 is 127.0.0.1

    async def refusal(self, url: str) -> str | None:
        """None when `url` may be fetched, else the reason it may not."""
        host = self._guarded_host(url)
        if host is None:
            return None
        if host not in self._verdicts:
            self._verdicts[host] = await self._check_host(host)
        return self._verdicts[host]

    def connected(self, url: str, address: str) -> str | None:
        """Check the address the browser actually connected to for `url`, which its own DNS lookup
        chose (an answer that changed since the guard's lookup: DNS rebinding). A non-public one is
        reported, and the host is refused from then on."""
        host = self._guarded_host(url)
        if host is None or is_public_address(address):
            return None
        reason = f"refused: {host} connected to non-public address {address} after the guard's lookup (DNS rebinding?)"
        self._verdicts[host] = reason
        return reason

    async def _check_host(self, host: str) -> str | None:
        if is_ip_address(host):
            addresses = [host]
        elif is_browser_loopback_name(host):
            return _refusal(host, "127.0.0.1")
        else:
            try:
                infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
            except OSError:
                return None  # unresolvable: the fetch fails on its own
            addresses = [info[4][0] for info in infos]
        private = [a for a in addresses if not is_public_address(a)]
        return _refusal(host, private[0]) if private else None


def _refusal(host: str, address: str) -> str:
    return f"refused: {host} is a non-public address ({address}); map it with --host-rules or pass --allow-private"
