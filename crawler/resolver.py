"""Host rules for Scrapy's own HTTP stack (static mode): a Twisted name resolver that sends mapped
hosts, and their ports, where the rules say — the same rules Chromium gets as
`--host-resolver-rules`, read as Chromium reads them (host and port, EXCLUDE, IP literals: see
host_rules.py), so both modes connect to the same places. TLS still names the original host (SNI),
as Chromium does.

It also drops non-public addresses of unmapped hosts (unless private addresses are allowed): the
address guard refuses them before a request with a clear reason, this catches a DNS answer that
turned private after that check (DNS rebinding), at the lookup the connection really uses."""

from __future__ import annotations

from typing import Any

from scrapy.resolver import CachingHostnameResolver
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.base import ReactorBase
from twisted.internet.interfaces import (
    IHostnameResolver,
    IHostResolution,
    IResolutionReceiver,
)
from zope.interface import implementer

from hostpairs.crawler.host_rules import NOT_FOUND, HostRules
from hostpairs.crawler.safety import is_public_address


@implementer(IResolutionReceiver)
class _PortRewritingReceiver:
    def __init__(self, receiver: IResolutionReceiver, port: int):
        self.receiver = receiver
        self.port = port

    def resolutionBegan(self, resolution: IHostResolution) -> None:  # noqa: N802 (Twisted's names)
        self.receiver.resolutionBegan(resolution)

    def addressResolved(self, address: IPv4Address | IPv6Address) -> None:  # noqa: N802
        self.receiver.addressResolved(type(address)("TCP", address.host, self.port))

    def resolutionComplete(self) -> None:  # noqa: N802
        self.receiver.resolutionComplete()


@implementer(IResolutionReceiver)
class _PublicOnlyReceiver:
    def __init__(self, receiver: IResolutionReceiver):
        self.receiver = receiver

    def resolutionBegan(self, resolution: IHostResolution) -> None:  # noqa: N802 (Twisted's names)
        self.receiver.resolutionBegan(resolution)

    def addressResolved(self, address: IPv4Address | IPv6Address) -> None:  # noqa: N802
        if is_public_address(address.host):
            self.receiver.addressResolved(address)

    def resolutionComplete(self) -> None:  # noqa: N802
        self.receiver.resolutionComplete()


@implementer(IHostResolution)
class _Resolution:
    def __init__(self, name: str):
        self.name = name


@implementer(IHostnameResolver)
class HostRulesResolver(CachingHostnameResolver):
    """Scrapy's caching resolver, with HOSTPAIRS_HOST_RULES applied first and the non-public
    addresses of unmapped hosts dropped unless HOSTPAIRS_ALLOW_PRIVATE."""

    host_rules = HostRules.parse("")
    allow_private = False

    @classmethod
    def from_crawler(cls, crawler: Any, reactor: ReactorBase) -> HostRulesResolver:
        resolver = super().from_crawler(crawler, reactor)
        resolver.host_rules = HostRules.parse(crawler.settings.get("HOSTPAIRS_HOST_RULES"))
        resolver.allow_private = crawler.settings.getbool("HOSTPAIRS_ALLOW_PRIVATE")
        return resolver

    def resolveHostName(self, resolutionReceiver: IResolutionReceiver, hostName: str,  # noqa: N802, N803
                        portNumber: int = 0, addressTypes: Any = None,  # noqa: N803
                        transportSemantics: str = "TCP") -> IResolutionReceiver:  # noqa: N803
        target = self.host_rules.target(hostName, portNumber)
        if target is None:
            receiver = resolutionReceiver if self.allow_private else _PublicOnlyReceiver(resolutionReceiver)
            return super().resolveHostName(receiver, hostName, portNumber, addressTypes, transportSemantics)
        target_host, port = target
        if target_host == NOT_FOUND:
            resolutionReceiver.resolutionBegan(_Resolution(hostName))
            resolutionReceiver.resolutionComplete()  # no addresses: a DNS lookup error
            return resolutionReceiver
        return self.original_resolver.resolveHostName(
            _PortRewritingReceiver(resolutionReceiver, port), target_host, port, addressTypes, transportSemantics
        )
