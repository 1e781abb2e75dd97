"""PassiveTotal's response shapes (../shared/passivetotal-reference.md): camelCase keys, dates as
'YYYY-MM-DD HH:MM:SS' UTC, the envelopes of each endpoint. Used by the CLI's --json and the API."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from hostpairs.storage.models import Component, Cookie, HostPair, Tracker
from hostpairs.storage.queries import Page, ResolutionsPage


def pt_time(value: datetime) -> str:
    """PassiveTotal's date format: 'YYYY-MM-DD HH:MM:SS' (UTC)."""
    return value.strftime("%Y-%m-%d %H:%M:%S")


def attribute_response(results: list[dict[str, Any]], total: int) -> dict[str, Any]:
    """The envelope of PassiveTotal's host-attribute endpoints: one page of results, and the
    total of all pages."""
    return {"totalRecords": total, "success": True, "facets": [], "results": results}


def pairs_response(page: Page[HostPair]) -> dict[str, Any]:
    """/v2/host-attributes/pairs."""
    return attribute_response([
        {"parent": p.parent, "child": p.child, "cause": p.cause,
         "firstSeen": pt_time(p.first_seen), "lastSeen": pt_time(p.last_seen)}
        for p in page.rows
    ], page.total)


def trackers_response(page: Page[Tracker]) -> dict[str, Any]:
    """/v2/host-attributes/trackers."""
    return attribute_response([
        {"hostname": t.hostname, "attributeType": t.attribute_type, "attributeValue": t.attribute_value,
         "firstSeen": pt_time(t.first_seen), "lastSeen": pt_time(t.last_seen)}
        for t in page.rows
    ], page.total)


def tracker_search_response(page: Page[tuple[str, datetime, datetime]]) -> dict[str, Any]:
    """/v2/trackers/search: one record per host."""
    results = [{"entity": hostname, "firstSeen": pt_time(first), "lastSeen": pt_time(last)}
               for hostname, first, last in page.rows]
    return {"totalRecords": page.total, "success": True, "results": results}


def cookies_response(page: Page[Cookie], with_third_party: bool = False) -> dict[str, Any]:
    """/v2/host-attributes/cookies; `with_third_party` adds a thirdParty field PassiveTotal's
    records did not have."""
    return attribute_response([
        {"hostname": c.hostname, "cookieName": c.cookie_name, "cookieDomain": c.cookie_domain,
         "firstSeen": pt_time(c.first_seen), "lastSeen": pt_time(c.last_seen),
         **({"thirdParty": c.third_party} if with_third_party else {})}
        for c in page.rows
    ], page.total)


def components_response(page: Page[Component]) -> dict[str, Any]:
    """/v2/host-attributes/components."""
    return attribute_response([
        {"hostname": c.hostname, "category": c.category, "label": c.label, "version": c.version or None,
         "firstSeen": pt_time(c.first_seen), "lastSeen": pt_time(c.last_seen)}
        for c in page.rows
    ], page.total)


def record_hash(hostname: str, ip: str) -> str:
    """A resolution's recordHash: SHA-256 of 'hostname|ip'."""
    return hashlib.sha256(f"{hostname}|{ip}".encode()).hexdigest()


def passive_dns_response(query: str, is_ip: bool, page: ResolutionsPage) -> dict[str, Any]:
    """/v2/dns/passive: resolutions of a host and its subdomains, or of an IP; `source` names the
    import a record came from beside hostpairs' own crawl."""
    results = [
        {
            "value": r.ip if is_ip else r.hostname,
            "resolve": r.hostname if is_ip else r.ip,
            "resolveType": "domain" if is_ip else "ip",
            "recordType": "AAAA" if ":" in r.ip else "A",
            "firstSeen": pt_time(r.first_seen),
            "lastSeen": pt_time(r.last_seen),
            "collected": pt_time(r.last_seen),
            "source": (["hostpairs"] if r.visit_count else []) + ([r.imported_from] if r.imported_from else []),
            "recordHash": record_hash(r.hostname, r.ip),
        }
        for r in page.rows
    ]
    return {
        "queryValue": query,
        "queryType": "ip" if is_ip else "domain",
        "firstSeen": pt_time(page.first_seen) if page.first_seen else None,
        "lastSeen": pt_time(page.last_seen) if page.last_seen else None,
        "totalRecords": page.total,
        "pager": None,
        "results": results,
    }


def unique_resolutions_response(query: str, is_ip: bool, page: Page[tuple[str, int]]) -> dict[str, Any]:
    """/v2/dns/passive/unique: the distinct answers with how often each was seen."""
    return {"queryValue": query, "queryType": "ip" if is_ip else "domain", "total": page.total,
            "pager": None, "results": [answer for answer, _ in page.rows],
            "frequency": [[answer, count] for answer, count in page.rows]}
