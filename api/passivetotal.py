"""PassiveTotal's response shapes (../shared/passivetotal-reference.md): camelCase keys, dates as
'YYYY-MM-DD HH:MM:SS' UTC, the envelopes of each endpoint. Used by the CLI's --json and the API."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from hostpairs.storage.models import Component, Cookie, HostPair, Resolution, Tracker


def pt_time(value: datetime) -> str:
    """PassiveTotal's date format: 'YYYY-MM-DD HH:MM:SS' (UTC)."""
    return value.strftime("%Y-%m-%d %H:%M:%S")


def attribute_response(results: list[dict[str, Any]]) -> dict[str, Any]:
    """The envelope of PassiveTotal's host-attribute endpoints."""
    return {"totalRecords": len(results), "success": True, "facets": [], "results": results}


def pairs_response(rows: Iterable[HostPair]) -> dict[str, Any]:
    """/v2/host-attributes/pairs."""
    return attribute_response([
        {"parent": p.parent, "child": p.child, "cause": p.cause,
         "firstSeen": pt_time(p.first_seen), "lastSeen": pt_time(p.last_seen)}
        for p in rows
    ])


def trackers_response(rows: Iterable[Tracker]) -> dict[str, Any]:
    """/v2/host-attributes/trackers."""
    return attribute_response([
        {"hostname": t.hostname, "attributeType": t.attribute_type, "attributeValue": t.attribute_value,
         "firstSeen": pt_time(t.first_seen), "lastSeen": pt_time(t.last_seen)}
        for t in rows
    ])


def tracker_search_response(rows: Iterable[tuple[str, datetime, datetime]]) -> dict[str, Any]:
    """/v2/trackers/search: one record per host."""
    results = [{"entity": hostname, "firstSeen": pt_time(first), "lastSeen": pt_time(last)}
               for hostname, first, last in rows]
    return {"totalRecords": len(results), "success": True, "results": results}


def cookies_response(rows: Iterable[Cookie], with_third_party: bool = False) -> dict[str, Any]:
    """/v2/host-attributes/cookies; `with_third_party` adds a thirdParty field PassiveTotal's
    records did not have."""
    return attribute_response([
        {"hostname": c.hostname, "cookieName": c.cookie_name, "cookieDomain": c.cookie_domain,
         "firstSeen": pt_time(c.first_seen), "lastSeen": pt_time(c.last_seen),
         **({"thirdParty": c.third_party} if with_third_party else {})}
        for c in rows
    ])


def components_response(rows: Iterable[Component]) -> dict[str, Any]:
    """/v2/host-attributes/components."""
    return attribute_response([
        {"hostname": c.hostname, "category": c.category, "label": c.label, "version": c.version or None,
         "firstSeen": pt_time(c.first_seen), "lastSeen": pt_time(c.last_seen)}
        for c in rows
    ])


def record_hash(hostname: str, ip: str) -> str:
    """A resolution's recordHash: SHA-256 of 'hostname|ip'."""
    return hashlib.sha256(f"{hostname}|{ip}".encode()).hexdigest()


def passive_dns_response(query: str, is_ip: bool, rows: Iterable[Resolution]) -> dict[str, Any]:
    """/v2/dns/passive: resolutions of a host and its subdomains, or of an IP."""
    results = [
        {
            "value": r.ip if is_ip else r.hostname,
            "resolve": r.hostname if is_ip else r.ip,
            "resolveType": "domain" if is_ip else "ip",
            "recordType": "AAAA" if ":" in r.ip else "A",
            "firstSeen": pt_time(r.first_seen),
            "lastSeen": pt_time(r.last_seen),
            "collected": pt_time(r.last_seen),
            "source": ["hostpairs"],
            "recordHash": record_hash(r.hostname, r.ip),
        }
        for r in rows
    ]
    return {
        "queryValue": query,
        "queryType": "ip" if is_ip else "domain",
        "firstSeen": min((r["firstSeen"] for r in results), default=None),
        "lastSeen": max((r["lastSeen"] for r in results), default=None),
        "totalRecords": len(results),
        "pager": None,
        "results": results,
    }


def unique_resolutions_response(query: str, is_ip: bool, rows: Iterable[Resolution]) -> dict[str, Any]:
    """/v2/dns/passive/unique: the distinct answers with how often each was seen."""
    counts: dict[str, int] = {}
    for r in rows:
        answer = r.hostname if is_ip else r.ip
        counts[answer] = counts.get(answer, 0) + r.visit_count
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return {"queryValue": query, "queryType": "ip" if is_ip else "domain", "total": len(ordered),
            "pager": None, "results": [answer for answer, _ in ordered],
            "frequency": [[answer, count] for answer, count in ordered]}
