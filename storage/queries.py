"""Read side: the look-ups analysts pivot with, answered in PassiveTotal's response shapes."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from storage.models import Frame, HostPair, Resolution, Visit

DIRECTIONS = ("children", "parents")


def pt_time(value: datetime) -> str:
    """PassiveTotal's date format: 'YYYY-MM-DD HH:MM:SS' (UTC)."""
    return value.strftime("%Y-%m-%d %H:%M:%S")


def host_filter(column: InstrumentedAttribute[str], query: str):  # noqa: ANN201 (SQL expression)
    """The host itself or any of its subdomains, as PassiveTotal matched."""
    escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return or_(column == query, column.like(f"%.{escaped}", escape="\\"))


def lookup_pairs(session: Session, host: str, direction: str, cause: str | None = None) -> dict[str, Any]:
    """Host pairs whose parent (direction=children) or child (direction=parents) is `host` or below it."""
    column = HostPair.parent if direction == "children" else HostPair.child
    statement = select(HostPair).where(host_filter(column, host))
    if cause:
        statement = statement.where(HostPair.cause == cause)
    statement = statement.order_by(HostPair.last_seen.desc(), HostPair.parent, HostPair.child, HostPair.cause)
    results = [
        {"parent": p.parent, "child": p.child, "cause": p.cause,
         "firstSeen": pt_time(p.first_seen), "lastSeen": pt_time(p.last_seen)}
        for p in session.scalars(statement)
    ]
    return {"totalRecords": len(results), "success": True, "facets": [], "results": results}


def passive_dns(session: Session, host: str) -> dict[str, Any]:
    """Resolutions observed for `host` and its subdomains, in the passive-DNS shape."""
    rows = list(session.scalars(
        select(Resolution).where(host_filter(Resolution.hostname, host)).order_by(Resolution.last_seen.desc())
    ))
    results = [
        {
            "value": r.hostname,
            "resolve": r.ip,
            "resolveType": "ip",
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
        "queryType": "domain",
        "firstSeen": min((r["firstSeen"] for r in results), default=None),
        "lastSeen": max((r["lastSeen"] for r in results), default=None),
        "totalRecords": len(results),
        "pager": None,
        "results": results,
    }


def latest_frames(session: Session, page_url: str) -> list[Frame]:
    """The frames (top page excluded) of the latest visit of `page_url`."""
    visit_id = session.scalar(
        select(Visit.id).where(Visit.requested_url == page_url).order_by(Visit.started_at.desc()).limit(1)
    )
    return list(session.scalars(
        select(Frame).where(Frame.visit_id == visit_id, Frame.parent_frame_id.is_not(None)).order_by(Frame.id)
    ))
