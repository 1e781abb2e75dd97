"""Read side: the look-ups analysts pivot with, answered in PassiveTotal's response shapes."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from hostpairs.extractors.hosts import is_ip_address
from hostpairs.storage.models import (
    Component,
    Cookie,
    HostPair,
    Resolution,
    Tracker,
    Visit,
)

DIRECTIONS = ("children", "parents")


def pt_time(value: datetime) -> str:
    """PassiveTotal's date format: 'YYYY-MM-DD HH:MM:SS' (UTC)."""
    return value.strftime("%Y-%m-%d %H:%M:%S")


def host_filter(column: InstrumentedAttribute[str], query: str):  # noqa: ANN201 (SQL expression)
    """The host itself or any of its subdomains, as PassiveTotal matched."""
    escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return or_(column == query, column.like(f"%.{escaped}", escape="\\"))


def attribute_response(results: list[dict[str, Any]]) -> dict[str, Any]:
    """The envelope of PassiveTotal's host-attribute endpoints."""
    return {"totalRecords": len(results), "success": True, "facets": [], "results": results}


def lookup_pairs(session: Session, host: str, direction: str, cause: str | None = None,
                 start: datetime | None = None, end: datetime | None = None) -> dict[str, Any]:
    """Host pairs whose parent (direction=children) or child (direction=parents) is `host` or below
    it, optionally only those seen between `start` and `end`."""
    column = HostPair.parent if direction == "children" else HostPair.child
    statement = select(HostPair).where(host_filter(column, host))
    if cause:
        statement = statement.where(HostPair.cause == cause)
    if start:
        statement = statement.where(HostPair.last_seen >= start)
    if end:
        statement = statement.where(HostPair.first_seen <= end)
    statement = statement.order_by(HostPair.last_seen.desc(), HostPair.parent, HostPair.child, HostPair.cause)
    results = [
        {"parent": p.parent, "child": p.child, "cause": p.cause,
         "firstSeen": pt_time(p.first_seen), "lastSeen": pt_time(p.last_seen)}
        for p in session.scalars(statement)
    ]
    return attribute_response(results)


def _resolutions(session: Session, query: str) -> list[Resolution]:
    """Resolutions of a host and its subdomains, or of an IP address."""
    condition = Resolution.ip == query if is_ip_address(query) else host_filter(Resolution.hostname, query)
    return list(session.scalars(select(Resolution).where(condition).order_by(Resolution.last_seen.desc())))


def passive_dns(session: Session, host: str) -> dict[str, Any]:
    """Resolutions observed for a host and its subdomains (or for an IP), in the passive-DNS shape."""
    rows = _resolutions(session, host)
    by_ip = is_ip_address(host)
    results = [
        {
            "value": r.ip if by_ip else r.hostname,
            "resolve": r.hostname if by_ip else r.ip,
            "resolveType": "domain" if by_ip else "ip",
            "recordType": "AAAA" if ":" in r.ip else "A",
            "firstSeen": pt_time(r.first_seen),
            "lastSeen": pt_time(r.last_seen),
            "collected": pt_time(r.last_seen),
            "source": ["hostpairs"],
            "recordHash": hashlib.sha256(f"{r.hostname}|{r.ip}".encode()).hexdigest(),
        }
        for r in rows
    ]
    return {
        "queryValue": host,
        "queryType": "ip" if by_ip else "domain",
        "firstSeen": min((r["firstSeen"] for r in results), default=None),
        "lastSeen": max((r["lastSeen"] for r in results), default=None),
        "totalRecords": len(results),
        "pager": None,
        "results": results,
    }


def latest_visit(session: Session, page_url: str) -> Visit | None:
    """The latest visit of `page_url` (as requested, or as it ended up after redirects)."""
    return session.scalar(
        select(Visit).where(or_(Visit.requested_url == page_url, Visit.final_url == page_url))
        .order_by(Visit.started_at.desc(), Visit.id.desc()).limit(1)
    )


def visit_report(visit: Visit) -> dict[str, Any]:
    """A visit's evidence: the visit, its frame tree and every dependency."""
    return {
        "visit": {"id": visit.id, "requestedUrl": visit.requested_url, "finalUrl": visit.final_url,
                  "mode": visit.mode, "started": pt_time(visit.started_at), "finished": pt_time(visit.finished_at),
                  "status": visit.status, "error": visit.error},
        "frames": [
            {"frameId": f.frame_id, "parentFrameId": f.parent_frame_id, "url": f.url,
             "createdByScript": f.created_by_script, "creatorScriptUrl": f.creator_script_url,
             "hidden": f.hidden, "hiddenReasons": f.hidden_reasons, "detached": f.detached}
            for f in sorted(visit.frames, key=lambda f: f.id)
        ],
        "dependencies": [
            {"started": d.started_at and pt_time(d.started_at), "url": d.url, "resourceType": d.resource_type,
             "cause": d.cause, "parent": d.parent_host,
             "frameId": d.frame_id, "initiatorType": d.initiator_type, "initiatorUrl": d.initiator_url,
             "redirectedFrom": d.redirected_from, "status": d.status, "remoteIp": d.remote_ip,
             "remotePort": d.remote_port, "error": d.error, "certificateError": d.certificate_error,
             "sha256": d.body_sha256}
            for d in sorted(visit.dependencies, key=lambda d: d.id)
        ],
    }


def host_trackers(session: Session, host: str) -> dict[str, Any]:
    """Tracker IDs seen on `host` and its subdomains."""
    rows = session.scalars(
        select(Tracker).where(host_filter(Tracker.hostname, host))
        .order_by(Tracker.hostname, Tracker.attribute_type, Tracker.attribute_value)
    )
    return attribute_response([
        {"hostname": t.hostname, "attributeType": t.attribute_type, "attributeValue": t.attribute_value,
         "firstSeen": pt_time(t.first_seen), "lastSeen": pt_time(t.last_seen)}
        for t in rows
    ])


def search_trackers(session: Session, value: str, attribute_type: str | None = None) -> dict[str, Any]:
    """Every host seen with tracker `value` (the pivot), one record per host."""
    statement = (
        select(Tracker.hostname, func.min(Tracker.first_seen), func.max(Tracker.last_seen))
        .where(func.lower(Tracker.attribute_value) == value.lower())
        .group_by(Tracker.hostname)
        .order_by(Tracker.hostname)
    )
    if attribute_type:
        statement = statement.where(Tracker.attribute_type == attribute_type)
    results = [
        {"entity": hostname, "firstSeen": pt_time(first), "lastSeen": pt_time(last)}
        for hostname, first, last in session.execute(statement)
    ]
    return {"totalRecords": len(results), "success": True, "results": results}


def cookie_records(session: Session, host: str | None = None, name: str | None = None,
                   domain: str | None = None, with_third_party: bool = False) -> dict[str, Any]:
    """Cookies by host (and subdomains), by cookie name, or by cookie domain (and subdomains).

    `with_third_party` adds a thirdParty field that PassiveTotal's records did not have."""
    statement = select(Cookie).order_by(Cookie.hostname, Cookie.cookie_domain, Cookie.cookie_name)
    if host:
        statement = statement.where(host_filter(Cookie.hostname, host))
    if name:
        statement = statement.where(Cookie.cookie_name == name)
    if domain:
        statement = statement.where(host_filter(Cookie.cookie_domain, domain))
    return attribute_response([
        {"hostname": c.hostname, "cookieName": c.cookie_name, "cookieDomain": c.cookie_domain,
         "firstSeen": pt_time(c.first_seen), "lastSeen": pt_time(c.last_seen),
         **({"thirdParty": c.third_party} if with_third_party else {})}
        for c in session.scalars(statement)
    ])


def host_components(session: Session, host: str) -> dict[str, Any]:
    """Web technologies seen on `host` and its subdomains."""
    rows = session.scalars(
        select(Component).where(host_filter(Component.hostname, host))
        .order_by(Component.hostname, Component.category, Component.label)
    )
    return attribute_response([
        {"hostname": c.hostname, "category": c.category, "label": c.label, "version": c.version or None,
         "firstSeen": pt_time(c.first_seen), "lastSeen": pt_time(c.last_seen)}
        for c in rows
    ])


def unique_resolutions(session: Session, query: str) -> dict[str, Any]:
    """The distinct answers for a host (IPs) or an IP (hosts), with how often each was seen."""
    counts: dict[str, int] = {}
    for r in _resolutions(session, query):
        answer = r.hostname if is_ip_address(query) else r.ip
        counts[answer] = counts.get(answer, 0) + r.visit_count
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return {"queryValue": query, "queryType": "ip" if is_ip_address(query) else "domain", "total": len(ordered),
            "pager": None, "results": [answer for answer, _ in ordered],
            "frequency": [[answer, count] for answer, count in ordered]}
