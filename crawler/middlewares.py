"""Downloader middlewares."""

from __future__ import annotations

import asyncio
import socket
import ssl
from urllib.parse import urlsplit

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.settings import BaseSettings

from hostpairs.crawler.host_rules import HostRules
from hostpairs.crawler.safety import AddressGuard


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


CERTIFICATE_ERRORS = "hostpairs_certificate_errors"
"""Request meta key: {response URL: why its server's certificate is untrusted}, kept across redirects."""


def certificate_error(host: str, address: str, port: int, timeout: float = 10.0) -> str | None:
    """Why the certificate served for `host` at address:port is untrusted by the system's trust
    store (expiry, name, issuer), or None when it is trusted or the check could not finish."""
    context = ssl.create_default_context()
    try:
        with socket.create_connection((address, port), timeout) as raw, context.wrap_socket(raw, server_hostname=host):
            return None
    except ssl.SSLCertVerificationError as exc:
        return f"untrusted certificate ({exc.verify_message})"
    except (OSError, ValueError):
        return None


class CertificateCheckMiddleware:
    """Static mode: Scrapy accepts every certificate (attacker hosts rarely have good ones), as the
    browser does; this records, like the browser, why a server's certificate is untrusted.

    Each (host, address, port) is checked once per crawl with a separate TLS handshake to the
    address Scrapy connected to; the result goes in `request.meta[CERTIFICATE_ERRORS]`."""

    def __init__(self, host_rules: HostRules):
        self.host_rules = host_rules
        self._verdicts: dict[tuple[str, str, int], str | None] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CertificateCheckMiddleware:
        return cls(HostRules.parse(crawler.settings.get("HOSTPAIRS_HOST_RULES")))

    async def process_response(self, request: Request, response: Response, spider: Spider | None = None) -> Response:
        parts = urlsplit(response.url)
        if request.meta.get("playwright") or parts.scheme != "https" or not response.ip_address or not parts.hostname:
            return response
        target = self.host_rules.url_target(response.url)  # the port static mode connected to
        port = target[1] if target else (parts.port or 443)
        key = (parts.hostname, str(response.ip_address), port)
        if key not in self._verdicts:
            self._verdicts[key] = await asyncio.to_thread(certificate_error, *key)
        if self._verdicts[key]:
            request.meta.setdefault(CERTIFICATE_ERRORS, {})[response.url] = self._verdicts[key]
        return response
