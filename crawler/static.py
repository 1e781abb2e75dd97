"""Static mode: a capture from a Scrapy response, without a browser.

What the markup declares (iframe.src, script.src, img.src, link.href, css.import from inline
styles, meta.refresh, a.href) becomes dependencies with their cause; the redirects Scrapy
followed become the top-level redirect chain.
"""

from __future__ import annotations

import time

from scrapy.http import Response

from extractors.observations import LinkObservation, PageCapture, RequestObservation
from extractors.static_html import decode_html, extract_html_references

_MARKUP_TYPES = ("text/html", "application/xhtml+xml", "text/plain", "")


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
            else:
                requests.append(RequestObservation(
                    url=reference.url,
                    resource_type=reference.resource_type,
                    frame_chain=(final_url,),
                    initiator_type="parser",
                    initiator_url=final_url,
                    declared_cause=reference.cause,
                ))
    return PageCapture(
        requested_url=response.request.meta.get("redirect_urls", [response.url])[0],
        final_url=final_url,
        mode="static",
        started_at=response.request.meta.get("hostpairs_started", time.time()),
        finished_at=time.time(),
        depth=response.request.meta.get("hostpairs_depth", 0),
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
        ))
    return chain
