"""Downloader middlewares."""

from __future__ import annotations

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.settings import BaseSettings

from crawler.host_rules import HostRules
from crawler.safety import AddressGuard


def address_guard(settings: BaseSettings) -> AddressGuard:
    """The guard configured by HOSTPAIRS_HOST_RULES and HOSTPAIRS_ALLOW_PRIVATE."""
    return AddressGuard(
        HostRules.parse(settings.get("HOSTPAIRS_HOST_RULES")),
        allow_private=settings.getbool("HOSTPAIRS_ALLOW_PRIVATE"),
    )


class AddressGuardMiddleware:
    """Refuse requests to non-public addresses unless mapped by host rules or allowed."""

    def __init__(self, guard: AddressGuard):
        self.guard = guard

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> AddressGuardMiddleware:
        return cls(address_guard(crawler.settings))

    async def process_request(self, request: Request, spider: Spider | None = None) -> None:
        refusal = await self.guard.refusal(request.url)
        if refusal:
            raise IgnoreRequest(refusal)
