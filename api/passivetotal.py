"""PassiveTotal's response shapes (../shared/passivetotal-reference.md): camelCase keys, dates as
'YYYY-MM-DD HH:MM:SS' UTC, the envelopes of each endpoint. Used by the CLI's --json and the API,
and read back by `hostpairs import`."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from functools import lru_cache
from typing import Any

from hostpairs.api import parameters
from hostpairs.extractors.host_pairs import CAUSES
from hostpairs.extractors.hosts import is_ip_address, query_host, same_site

from hostpairs.storage.queries import Page, ResolutionsPage


def pt_time(value: datetime) -> str:
    """PassiveTotal's date format: 'YYYY-MM-DD HH:MM:SS' (UTC)."""
    return value.isoformat(" ", "seconds")


def attribute_response(results: list[dict[str, Any]], total: int) -> dict[str, Any]:
    """The envelope of PassiveTotal's host-attribute endpoints: one page of results, and the
    total of all pages."""
    return {"totalRecords": total, "success": True, "facets": [], "results": results}


def pairs_response(page: Page) -> dict[str, Any]:
    """/v2/host-attributes/pairs."""
    return attribute_response([
        {"parent": p.parent, "child": p.child, "cause": p.cause,
         "firstSeen": pt_time(p.first_seen), "lastSeen": pt_time(p.last_seen)}
        for p in page.rows
    ], page.total)


def host_field(is_ip: bool) -> str:
    """The field naming the host of a host-attribute record: `address` for an IP query."""
    return "address" if is_ip else "hostname"


def trackers_response(page: Page, is_ip: bool = False) -> dict[str, Any]:
    """/v2/host-attributes/trackers."""
    return attribute_response([
        {host_field(is_ip): t.hostname, "attributeType": t.attribute_type, "attributeValue": t.attribute_value,
         "firstSeen": pt_time(t.first_seen), "lastSeen": pt_time(t.last_seen)}
        for t in page.rows
    ], page.total)


def entities_response(page: Page) -> dict[str, Any]:
    """/v2/trackers/search, /v2/trackers/{value}/hosts|addresses, /v2/cookies/.../hosts|addresses:
    one record per host (or IP), with when it was first and last seen so."""
    results = [{"entity": hostname, "firstSeen": pt_time(first), "lastSeen": pt_time(last)}
               for hostname, first, last in page.rows]
    return {"totalRecords": page.total, "success": True, "results": results}


def cookies_response(page: Page, with_third_party: bool = False, is_ip: bool = False) -> dict[str, Any]:
    """/v2/host-attributes/cookies; `with_third_party` adds a thirdParty field PassiveTotal's
    records did not have."""
    return attribute_response([
        {host_field(is_ip): c.hostname, "cookieName": c.cookie_name, "cookieDomain": c.cookie_domain,
         "firstSeen": pt_time(c.first_seen), "lastSeen": pt_time(c.last_seen),
         **({"thirdParty": c.third_party} if with_third_party else {})}
        for c in page.rows
    ], page.total)


def components_response(page: Page, is_ip: bool = False) -> dict[str, Any]:
    """/v2/host-attributes/components."""
    return attribute_response([
        {host_field(is_ip): c.hostname, "category": c.category, "label": c.label, "version": c.version or None,
         "firstSeen": pt_time(c.first_seen), "lastSeen": pt_time(c.last_seen)}
        for c in page.rows
    ], page.total)


def record_hash(hostname: str, ip: str) -> str:
    """A resolution's recordHash: SHA-256 of 'hostname|ip'."""
    return hashlib.sha256(f"{hostname}|{ip}".encode()).hexdigest()


def passive_dns_response(query: str, is_ip: bool, page: ResolutionsPage) -> dict[str, Any]:
    """/v2/dns/passive: resolutions of a host and its subdomains, or of an IP; `source` names the
    import a record came from beside hostpairs' own crawl."""
    results = []
    for r in page.rows:
        first_seen, last_seen = pt_time(r.first_seen), pt_time(r.last_seen)
        results.append({
            "value": r.ip if is_ip else r.hostname,
            "resolve": r.hostname if is_ip else r.ip,
            "resolveType": "domain" if is_ip else "ip",
            "recordType": "AAAA" if ":" in r.ip else "A",
            "firstSeen": first_seen,
            "lastSeen": last_seen,
            "collected": last_seen,
            "source": (["hostpairs"] if r.visit_count else []) + ([r.imported_from] if r.imported_from else []),
            "recordHash": record_hash(r.hostname, r.ip),
        })
    return {
        "queryValue": query,
        "queryType": "ip" if is_ip else "domain",
        "firstSeen": pt_time(page.first_seen) if page.first_seen else None,
        "lastSeen": pt_time(page.last_seen) if page.last_seen else None,
        "totalRecords": page.total,
        "pager": None,
        "results": results,
    }


def unique_resolutions_response(query: str, is_ip: bool, page: Page) -> dict[str, Any]:
    """/v2/dns/passive/unique: the distinct answers with how often each was seen."""
    return {"queryValue": query, "queryType": "ip" if is_ip else "domain", "total": page.total,
            "pager": None, "results": [answer for answer, _ in page.rows],
            "frequency": [[answer, count] for answer, count in page.rows]}


# --- reading records back: `hostpairs import` ------------------------------------------------------

IMPORTABLE = {  # dataset: the fields that identify a record of it (a file's dataset is told by them)
    "pairs": ("parent", "child", "cause"),
    "resolutions": ("value", "resolve"),
    "trackers": ("hostname", "attributeType", "attributeValue"),
    "components": ("hostname", "category", "label"),
    "cookies": ("hostname", "cookieName", "cookieDomain"),
}


def dataset_of(record: dict[str, Any]) -> str | None:
    """Which dataset a record in PassiveTotal's shape belongs to, by its fields."""
    return next((name for name, fields in IMPORTABLE.items() if all(f in record for f in fields)), None)


_PLAIN_HOST = re.compile(r"(?:[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?\.)+[a-z](?:[a-z0-9-]*[a-z0-9])?")
"""A host already in stored form (lower-case ASCII labels, a last label that is no number)."""
_CAUSES = frozenset(CAUSES)


@lru_cache(maxsize=1 << 20)
def _host(value: str) -> str | None:
    """A host field's stored form, or None (cached: a large import names the same hosts often)."""
    if len(value) <= 253 and _PLAIN_HOST.fullmatch(value):
        return value
    host = query_host(value)
    return host if host is not None and len(host) <= 253 else None


def _text(record: dict[str, Any], field: str, longest: int) -> str:
    value = record.get(field)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{field}: missing" if value in (None, "") else f"{field}: not a string: {value!r}")
    if len(value) > longest:
        raise ValueError(f"{field}: longer than {longest} characters")
    return value.strip()


def _stored_host(record: dict[str, Any], field: str) -> str:
    value = record.get(field)
    host = _host(value) if isinstance(value, str) else None
    if host is None:
        if value in (None, ""):
            raise ValueError(f"{field}: missing")
        raise ValueError(f"{field}: not a host name or IP address: {value!r}")
    return host


def _time(value: Any, field: str) -> datetime:
    """A record's date (a JSON number or list is no date), read as query dates are."""
    if not isinstance(value, str):
        raise ValueError(f"{field}: not a date: {value!r}")
    return parameters.date(value, field)


def _seen(record: dict[str, Any]) -> dict[str, datetime]:
    """firstSeen and lastSeen (one stands for both when the other is missing)."""
    first, last = record.get("firstSeen") or None, record.get("lastSeen") or None
    if first is None and last is None:
        raise ValueError("firstSeen and lastSeen: both missing")
    first_seen = _time(first or last, "firstSeen" if first else "lastSeen")
    last_seen = _time(last or first, "lastSeen" if last else "firstSeen")
    if first_seen > last_seen:
        raise ValueError(f"firstSeen {first} is after lastSeen {last}")
    return {"first_seen": first_seen, "last_seen": last_seen}


def imported_row(dataset: str, record: dict[str, Any]) -> dict[str, Any] | None:
    """A record in PassiveTotal's shape of `dataset` as the row an import merges, or None for one
    the dataset cannot hold (a passive-DNS record that is not an A or AAAA record: hostpairs keeps
    host → IP). Raises ValueError with a one-line reason for a malformed record."""
    if not isinstance(record, dict):
        raise ValueError(f"not a record (an object with fields): {str(record)[:60]!r}")
    if dataset == "pairs":
        cause = record.get("cause")
        if not isinstance(cause, str) or cause not in _CAUSES:
            raise ValueError("cause: missing" if cause in (None, "") else f"cause: unknown cause {cause!r}")
        return {"parent": _stored_host(record, "parent"), "child": _stored_host(record, "child"), "cause": cause,
                **_seen(record)}
    if dataset == "resolutions":
        if (record.get("recordType") or "A") not in ("A", "AAAA"):
            return None
        value, resolve = _stored_host(record, "value"), _stored_host(record, "resolve")
        hostname, ip = (value, resolve) if is_ip_address(resolve) else (resolve, value)
        if not is_ip_address(ip) or is_ip_address(hostname):
            raise ValueError(f"value, resolve: not a host name and an IP address: {value!r}, {resolve!r}")
        return {"hostname": hostname, "ip": ip, **_seen(record)}
    if dataset == "trackers":
        return {"hostname": _stored_host(record, "hostname"), "attribute_type": _text(record, "attributeType", 64),
                "attribute_value": _text(record, "attributeValue", 255), **_seen(record)}
    if dataset == "components":
        version = record.get("version") or ""
        if not isinstance(version, str) or len(version) > 64:
            raise ValueError(f"version: not a version: {str(version)[:60]!r}")
        return {"hostname": _stored_host(record, "hostname"), "category": _text(record, "category", 64),
                "label": _text(record, "label", 128), "version": version.strip(), **_seen(record)}
    hostname = _stored_host(record, "hostname")
    domain = _host(_text(record, "cookieDomain", 253).lstrip("."))
    if domain is None:
        raise ValueError(f"cookieDomain: not a host name: {record['cookieDomain']!r}")
    return {"hostname": hostname, "cookie_name": _text(record, "cookieName", 255), "cookie_domain": domain,
            "third_party": not same_site(hostname, domain), **_seen(record)}
