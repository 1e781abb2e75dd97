"""One visit's capture → all its records (dependencies, host pairs, resolutions, host attributes)."""

from __future__ import annotations

from hostpairs.extractors.components import extract_components
from hostpairs.extractors.host_pairs import extract_dependencies, extract_host_pairs, extract_resolutions
from hostpairs.extractors.hosts import host_of, normalize_host, same_site
from hostpairs.extractors.observations import PageCapture, document_url
from hostpairs.extractors.records import CookieRecord, FormRecord, FrameRecord, VisitRecords
from hostpairs.extractors.trackers import extract_trackers


def extract_visit(capture: PageCapture, fingerprints: str | None = None) -> VisitRecords:
    """Everything stored for a visit. Trackers, cookies and components are the visited host's,
    so a failed visit (or one without a host) has none. `fingerprints`: see extract_components."""
    host = host_of(capture.final_url) or host_of(capture.requested_url)
    dependencies = extract_dependencies(capture)
    records = VisitRecords(
        capture=capture,
        host=host,
        frames=[FrameRecord(f, host_of(f.url)) for f in capture.frames],
        forms=[FormRecord(f, host_of(f.action), document_url(f.frame_chain)) for f in capture.forms],
        dependencies=dependencies,
        pairs=extract_host_pairs(capture, dependencies),
        resolutions=sorted(extract_resolutions(capture)),
    )
    if host is None or capture.failed:
        return records
    request_urls = [r.url for r in capture.requests]
    cookies = {
        (c.name, domain): not same_site(host, domain)
        for c in capture.cookies
        if (domain := normalize_host(c.domain.lstrip(".")))
    }
    records.trackers.extend(extract_trackers(capture.html, request_urls))
    records.cookies.extend(CookieRecord(name, domain, third_party) for (name, domain), third_party in sorted(cookies.items()))
    records.components.extend(extract_components(capture.html, capture.response_headers, request_urls,
                                                 [c.name for c in capture.cookies], page_url=capture.final_url,
                                                 fingerprints=fingerprints))
    return records
