"""Static mode: a capture from Scrapy responses, without a browser.

What the markup declares (iframe.src, script.src, img.src, link.href, css.import, meta.refresh)
becomes dependencies with their cause, `<a href>` and resource hints links of the final DOM; the redirects Scrapy followed become the top-level
redirect chain. Linked stylesheets are fetched too (they are static CSS), and what they import
or reference is `css.import`.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import replace

from scrapy import Request
from scrapy.http import Response

from hostpairs.crawler.errors import one_line
from hostpairs.crawler.middlewares import CERTIFICATE_ERRORS
from hostpairs.extractors.observations import LinkObservation, PageCapture, RequestObservation
from hostpairs.extractors.css import extract_css_references
from hostpairs.extractors.decoding import decode_html
from hostpairs.extractors.static_html import CONNECTION_HINTS, extract_html_references

_MARKUP_TYPES = ("text/html", "application/xhtml+xml", "text/plain", "")

MAX_STYLESHEETS = 20
"""Stylesheets static mode fetches per page (linked and imported)."""


def static_capture(response: Response) -> PageCapture:
    """Everything static mode observed for one fetched page."""
    content_type = response.headers.get("Content-Type", b"").decode("latin-1")
    final_url = response.url
    ip = str(response.ip_address) if response.ip_address else None
    requests = _redirect_chain(response, ip)
    html = ""
    links: list[LinkObservation] = []
    if content_type.split(";")[0].strip().lower() in _MARKUP_TYPES:
        html = decode_html(response.body, content_type)
        for reference in extract_html_references(html, final_url):
            if reference.cause == "a.href":
                links.append(LinkObservation(reference.url, (final_url,)))
                continue
            if reference.hint is not None:
                links.append(LinkObservation(reference.url, (final_url,), "link", reference.hint))
                if reference.hint in CONNECTION_HINTS:
                    continue  # names a host, fetches nothing
            requests.append(RequestObservation(
                url=reference.url,
                resource_type=reference.resource_type,
                frame_chain=(final_url,),
                initiator_type="parser",
                initiator_url=final_url,
                declared_cause=reference.cause,
                declared_type=reference.declared_type,
            ))
    return PageCapture(
        requested_url=response.request.meta.get("redirect_urls", [response.url])[0],
        final_url=final_url,
        mode="static",
        started_at=response.request.meta.get("hostpairs_started", time.time()),
        finished_at=time.time(),
        depth=response.meta.get("depth", 0),
        status=response.status,
        links=links,
        html=html,
        response_headers={k.decode("latin-1").lower(): b", ".join(v).decode("latin-1")
                          for k, v in response.headers.items()},
        requests=requests,
    )


def _redirect_chain(response: Response, final_ip: str | None) -> list[RequestObservation]:
    """The visited URL's hops: every redirect Scrapy followed, then the final response."""
    hops = [*response.request.meta.get("redirect_urls", []), response.url]
    statuses = response.request.meta.get("redirect_reasons", [])
    certificate_errors = response.request.meta.get(CERTIFICATE_ERRORS, {})
    chain = []
    for index, url in enumerate(hops):
        final = index == len(hops) - 1
        status = response.status if final else statuses[index] if index < len(statuses) else None
        chain.append(RequestObservation(
            url=url,
            resource_type="document",
            frame_chain=("",),
            is_main_frame=True,
            redirected_from=hops[index - 1] if index else None,
            status=status if isinstance(status, int) else None,
            remote_ip=final_ip if final else None,
            certificate_error=certificate_errors.get(url),
        ))
    return chain


async def fetch_stylesheets(capture: PageCapture, download: Callable[[Request], Awaitable[Response]]) -> None:
    """Fetch the page's stylesheets, then those they import, one after the other (at most
    MAX_STYLESHEETS), recording each on the capture; `download` is the engine's."""
    pending = _stylesheets_to_fetch(capture, MAX_STYLESHEETS)
    while pending:
        url, pending = pending[0], pending[1:]
        try:
            response = await download(Request(url, dont_filter=True))
        except Exception as exc:  # refused by the guard, unreachable, timed out: recorded, the visit goes on
            _stylesheet_failed(capture, url, one_line(exc))
            continue
        imports = _add_stylesheet(capture, response)
        fetched = {r.url for r in capture.requests if r.resource_type == "stylesheet" and r.status is not None}
        room = MAX_STYLESHEETS - len(fetched) - len(pending)
        pending += [i for i in imports if i not in fetched and i not in pending][:max(room, 0)]
    capture.finished_at = time.time()


def _stylesheets_to_fetch(capture: PageCapture, limit: int) -> list[str]:
    """The stylesheets a page links, in order, at most `limit` of them."""
    urls = [r.url for r in capture.requests if r.declared_cause == "link.href" and r.resource_type == "stylesheet"]
    return list(dict.fromkeys(urls))[:limit]


def _add_stylesheet(capture: PageCapture, response: Response) -> list[str]:
    """Record a fetched stylesheet (status, address) and its references; returns the stylesheets
    it imports, to be fetched in turn."""
    url = response.request.url
    ip = str(response.ip_address) if response.ip_address else None
    certificate = response.request.meta.get(CERTIFICATE_ERRORS, {}).get(response.url)
    capture.requests = [
        replace(r, status=response.status, remote_ip=ip, certificate_error=certificate)
        if r.url == url and r.resource_type == "stylesheet" else r
        for r in capture.requests
    ]
    css = decode_html(response.body, response.headers.get("Content-Type", b"").decode("latin-1"))
    imports = []
    for reference in extract_css_references(css, response.url):
        capture.requests.append(RequestObservation(
            url=reference.url,
            resource_type=reference.resource_type,
            frame_chain=(capture.final_url,),
            initiator_type="parser",
            initiator_url=response.url,
            declared_cause="css.import",
        ))
        if reference.resource_type == "stylesheet":
            imports.append(reference.url)
    return imports


def _stylesheet_failed(capture: PageCapture, url: str, error: str) -> None:
    """Record why a linked stylesheet could not be fetched."""
    capture.requests = [
        replace(r, error=error) if r.url == url and r.resource_type == "stylesheet" else r for r in capture.requests
    ]
