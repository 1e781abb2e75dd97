"""Host pairs and page dependencies from a capture (rules: shared/host-pair-semantics.md).

The parent is the host of the document (top page or frame) in which the reference was made or
the request started, never the host of the script or stylesheet that caused it; frames without
a host of their own (about:blank, srcdoc, data:) hand their requests to the nearest ancestor
document that has one, under the cause `iframe.write`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from hostpairs.extractors.hosts import host_of
from hostpairs.extractors.observations import PageCapture, RequestObservation, document_url
from hostpairs.extractors.records import Dependency, PairEvidence
from hostpairs.extractors.static_html import is_never_loaded, resource_hint

CAUSES = (
    "iframe.src",
    "iframe.write",
    "script.src",
    "img.src",
    "link.href",
    "css.import",
    "xmlhttprequest",
    "a.href",
    "topLevelRedirect",
    "redirect",
    "meta.refresh",
    "location.refresh",
    "unknown",
)

_CAUSE_BY_RESOURCE_TYPE = {
    "script": "script.src",
    "image": "img.src",
    "stylesheet": "link.href",
    "manifest": "link.href",
    "prefetch": "link.href",
    "xhr": "xmlhttprequest",
    "fetch": "xmlhttprequest",
    "ping": "xmlhttprequest",
    "eventsource": "xmlhttprequest",
}
_REFRESH_REASONS = {"metaTagRefresh", "httpHeaderRefresh"}
_SKIPPED_RESOURCE_TYPES = {"preflight"}


@dataclass(frozen=True)
class Attribution:
    """Who made a request (parent host) and why (cause); parent None when nobody did."""

    parent: str | None
    cause: str | None


def nearest_host(frame_chain: Iterable[str]) -> str | None:
    """The host of the first document in the chain that has one."""
    for url in frame_chain:
        host = host_of(url)
        if host:
            return host
    return None


@dataclass(frozen=True)
class PageContext:
    """What classifying a request needs to know about the rest of the page."""

    stylesheet_urls: frozenset[str] = frozenset()
    link_element_urls: frozenset[str] = frozenset()

    @classmethod
    def of(cls, capture: PageCapture) -> PageContext:
        return cls(
            frozenset(r.url for r in capture.requests if r.resource_type == "stylesheet"),
            frozenset(link.href for link in capture.links if link.tag == "link"),
        )


def attribute_request(request: RequestObservation, page: PageContext) -> Attribution:
    """Parent host and cause of one request (one redirect hop)."""
    chain = request.frame_chain or ("",)
    if request.declared_cause is not None and request.redirected_from is None:
        return Attribution(nearest_host(chain), request.declared_cause)
    if request.redirected_from is not None:
        top_level = request.is_main_frame and request.resource_type == "document" and not chain[0]
        return Attribution(host_of(request.redirected_from), "topLevelRedirect" if top_level else "redirect")
    if request.resource_type == "document":
        return _attribute_navigation(request, chain)
    document_host = host_of(chain[0])
    if document_host is None:
        return Attribution(nearest_host(chain[1:]), "iframe.write")
    return Attribution(document_host, _cause_of_subresource(request, chain[0], page))


def _attribute_navigation(request: RequestObservation, chain: tuple[str, ...]) -> Attribution:
    previous_host = host_of(chain[0])
    refresh_cause = "meta.refresh" if request.navigation_reason in _REFRESH_REASONS else "location.refresh"
    if request.is_main_frame:
        if not chain[0]:
            return Attribution(None, None)  # the visited page itself
        return Attribution(previous_host, refresh_cause)
    if previous_host is not None and request.navigation_reason not in (None, "initialFrameNavigation"):
        return Attribution(previous_host, refresh_cause)
    embedding_host = host_of(chain[1]) if len(chain) > 1 else None
    if embedding_host is None:
        return Attribution(nearest_host(chain[1:]), "iframe.write")
    return Attribution(embedding_host, "iframe.src")


_CAUSE_BY_FETCH_INITIATOR = {"css": "css.import", "link": "link.href"}


def _cause_of_subresource(request: RequestObservation, document_url: str, page: PageContext) -> str:
    """A stylesheet's requests (external, inline <style> or style attribute: Resource Timing's
    `css`) are css.import and a <link>'s (preloads included) link.href; otherwise DevTools'
    initiator and resource type decide."""
    if request.fetch_initiator in _CAUSE_BY_FETCH_INITIATOR:
        return _CAUSE_BY_FETCH_INITIATOR[request.fetch_initiator]
    started_by_stylesheet = (
        request.initiator_type == "parser"
        and request.initiator_url is not None
        and request.initiator_url != document_url
        and request.initiator_url in page.stylesheet_urls
    )
    if started_by_stylesheet:
        return "css.import"
    if request.resource_type == "font" and request.initiator_type in ("parser", "preload"):
        return "link.href"
    if request.resource_type == "other" and request.url in page.link_element_urls:
        return "link.href"  # icons: the browser fetches them without naming an initiator
    return _CAUSE_BY_RESOURCE_TYPE.get(request.resource_type, "unknown")


def extract_dependencies(capture: PageCapture) -> list[Dependency]:
    """Every request of the visit with its parent host and cause (CORS preflights left out)."""
    page = PageContext.of(capture)
    dependencies = []
    for request in capture.requests:
        if request.resource_type in _SKIPPED_RESOURCE_TYPES:
            continue
        attribution = attribute_request(request, page)
        dependencies.append(Dependency(request, host_of(request.url), attribution.parent, attribution.cause,
                                       document_url(request.frame_chain)))
    return dependencies


def extract_host_pairs(capture: PageCapture, dependencies: list[Dependency]) -> list[PairEvidence]:
    """Host pairs of a visit (its `extract_dependencies` and the final DOM's links), one evidence
    record per (parent, child, cause, child URL). A <link> resource hint is `link.href` marked
    with its hint (the request a prefetch or preload made gets the mark); a <script src> the
    browser did not load for its type is `script.src` with that type."""
    evidence: dict[tuple[str, str, str, str], PairEvidence] = {}

    def add(parent: str | None, child: str | None, cause: str | None, child_url: str, frame_id: str | None,
            frame_url: str | None, initiator_url: str | None, declared_type: str | None = None) -> None:
        if parent and child and cause and parent != child:
            evidence.setdefault(
                (parent, child, cause, child_url),
                PairEvidence(parent, child, cause, child_url, frame_id, frame_url, initiator_url,
                             declared_type=declared_type),
            )

    for dependency in dependencies:
        request = dependency.request
        frame_url = document_url(request.frame_chain)
        add(dependency.parent, dependency.host, dependency.cause, request.url, request.frame_id, frame_url,
            request.initiator_url, request.declared_type)
    for link in capture.links:
        parent, child, frame_url = nearest_host(link.frame_chain), host_of(link.href), document_url(link.frame_chain)
        if link.tag == "a":
            add(parent, child, "a.href", link.href, None, frame_url, None)
        elif link.tag == "script" and link.script_type and not is_never_loaded(link.script_type):
            add(parent, child, "script.src", link.href, None, frame_url, None, link.script_type)
        elif link.tag == "link" and (hint := resource_hint(link.rel)):
            add(parent, child, "link.href", link.href, None, frame_url, None)
            key = (parent or "", child or "", "link.href", link.href)
            if key in evidence:
                evidence[key] = replace(evidence[key], hint=hint)
    return list(evidence.values())


def extract_resolutions(capture: PageCapture) -> set[tuple[str, str]]:
    """(hostname, IP) pairs the browser actually connected to."""
    return {
        (host, request.remote_ip)
        for request in capture.requests
        if request.remote_ip and (host := host_of(request.url))
    }
