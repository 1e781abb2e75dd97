"""A visit's kept capture as a HAR 1.2 log, for HAR tools (viewers, har2tree, analysers).

Each request (each redirect hop) is one entry, in the order they started. What HAR has no field
for travels in `_`-prefixed fields, as Chromium's own export does: `_initiator` (type and URL),
`_frame` (id, URL, the frame chain up to the page), `_resourceType`, and hostpairs' reading of
it: `_cause` and `_parentHost` (shared/host-pair-semantics.md), `_error`, `_certificateError`,
`_bodySha256`. The capture keeps no headers but the page's own, no bodies and no timings: those
fields are empty, sizes -1, the timings 0.
"""

from __future__ import annotations

from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from hostpairs.extractors.host_pairs import extract_dependencies
from hostpairs.extractors.observations import PageCapture, RequestObservation

PAGE_ID = "page_1"


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _hostpairs_version() -> str:
    try:
        return version("hostpairs")
    except PackageNotFoundError:
        return "unknown"


def _headers(headers: dict[str, str]) -> list[dict[str, str]]:
    return [{"name": name, "value": value} for name, value in headers.items()]


def _entry(request: RequestObservation, capture: PageCapture, next_hop: str | None, cause: str | None,
           parent: str | None) -> dict[str, Any]:
    is_page = request.is_main_frame and request.resource_type == "document" and request.url == capture.final_url
    return {
        "pageref": PAGE_ID,
        "startedDateTime": _iso(request.started_at or capture.started_at),
        "time": 0,
        "request": {
            "method": request.method,
            "url": request.url,
            "httpVersion": "",
            "cookies": [],
            "headers": [],
            "queryString": [{"name": n, "value": v} for n, v in parse_qsl(urlsplit(request.url).query,
                                                                            keep_blank_values=True)],
            "headersSize": -1,
            "bodySize": -1,
        },
        "response": {
            "status": request.status or 0,
            "statusText": "",
            "httpVersion": "",
            "cookies": [],
            "headers": _headers(capture.response_headers) if is_page else [],
            "content": {"size": -1, "mimeType": request.mime_type or ""},
            "redirectURL": next_hop or "",
            "headersSize": -1,
            "bodySize": -1,
        },
        "cache": {},
        "timings": {"send": 0, "wait": 0, "receive": 0},
        **({"serverIPAddress": request.remote_ip} if request.remote_ip else {}),
        "_initiator": {"type": request.initiator_type, "url": request.initiator_url,
                       "fetchInitiator": request.fetch_initiator},
        "_frame": {"id": request.frame_id, "url": request.frame_chain[0] if request.frame_chain else None,
                   "chain": list(request.frame_chain)},
        "_resourceType": request.resource_type,
        "_cause": cause,
        "_parentHost": parent,
        "_error": request.error,
        "_certificateError": request.certificate_error,
        "_bodySha256": request.body_sha256,
        **({"_declaredType": request.declared_type} if request.declared_type else {}),
    }


def har_log(capture: PageCapture) -> dict[str, Any]:
    """The HAR 1.2 document of one visit's capture."""
    attributed = {id(d.request): d for d in extract_dependencies(capture)}
    next_hops = {r.redirected_from: r.url for r in capture.requests if r.redirected_from}
    entries = []
    for request in capture.requests:
        dependency = attributed.get(id(request))
        entries.append(_entry(request, capture, next_hops.get(request.url) if request.status in range(300, 400) else None,
                              dependency.cause if dependency else None, dependency.parent if dependency else None))
    return {"log": {
        "version": "1.2",
        "creator": {"name": "hostpairs", "version": _hostpairs_version()},
        "browser": {"name": "Chromium" if capture.mode == "browser" else "hostpairs static mode", "version": ""},
        "pages": [{
            "startedDateTime": _iso(capture.started_at),
            "id": PAGE_ID,
            "title": capture.final_url,
            "pageTimings": {"onContentLoad": -1, "onLoad": -1},
            "_requestedUrl": capture.requested_url,
            "_error": capture.error,
            "_limitsHit": list(capture.limits_hit),
        }],
        "entries": entries,
    }}
