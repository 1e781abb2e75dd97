"""Writing one visit: everything it observed lands in one transaction, or nothing does."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from hostpairs.extractors.components import extract_components
from hostpairs.extractors.host_pairs import (
    extract_dependencies,
    extract_host_pairs,
    extract_resolutions,
)
from hostpairs.extractors.hosts import host_of, normalize_host, same_site
from hostpairs.extractors.observations import PageCapture, document_url
from hostpairs.extractors.trackers import extract_trackers
from hostpairs.storage.alerts import AlertPolicy, record_alerts
from hostpairs.storage.models import (
    Component,
    Cookie,
    Dependency,
    Form,
    Frame,
    HostPair,
    PairEvidence,
    Resolution,
    Tracker,
    Visit,
)
from hostpairs.storage.times import from_timestamp


@dataclass(frozen=True)
class StoredVisit:
    visit_id: int
    new_pairs: int
    seen_pairs: int
    alerts: int


def upsert_seen(session: Session, model: type, keys: Sequence[str], rows: list[dict[str, Any]], seen: datetime) -> None:
    """Insert rows keyed by `keys`, or on conflict widen first/last seen and count one more visit."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = model.__table__
    statement = insert(table).values(
        [{**row, "first_seen": seen, "last_seen": seen, "visit_count": 1} for row in rows]
    )
    excluded = statement.excluded
    statement = statement.on_conflict_do_update(
        index_elements=[table.c[k] for k in keys],
        set_={
            "first_seen": case((excluded.first_seen < table.c.first_seen, excluded.first_seen), else_=table.c.first_seen),
            "last_seen": case((excluded.last_seen > table.c.last_seen, excluded.last_seen), else_=table.c.last_seen),
            "visit_count": table.c.visit_count + 1,
        },
    )
    session.execute(statement)


def store_capture(sessions: sessionmaker[Session], capture: PageCapture,
                  policy: AlertPolicy = AlertPolicy()) -> StoredVisit:
    """Store a visit with its frames, dependencies, host pairs, resolutions, host attributes and the
    alerts it raises, atomically."""
    seen = from_timestamp(capture.started_at)
    with sessions.begin() as session:
        visit = Visit(
            requested_url=capture.requested_url,
            final_url=capture.final_url,
            host=host_of(capture.final_url) or host_of(capture.requested_url),
            mode=capture.mode,
            depth=capture.depth,
            started_at=seen,
            finished_at=from_timestamp(capture.finished_at),
            status=capture.status,
            error=capture.error,
        )
        visit.frames = [
            Frame(
                frame_id=f.frame_id,
                parent_frame_id=f.parent_frame_id,
                url=f.url,
                host=host_of(f.url),
                name=f.name,
                created_by_script=f.created_by_script,
                creator_script_url=f.creator_script_url,
                hidden=f.hidden,
                hidden_reasons=", ".join(f.hidden_reasons) or None,
                detached=f.detached,
            )
            for f in capture.frames
        ]
        dependencies = extract_dependencies(capture)
        visit.dependencies = [
            Dependency(
                url=d.request.url,
                host=d.host,
                resource_type=d.request.resource_type,
                cause=d.cause,
                parent_host=d.parent,
                frame_id=d.request.frame_id,
                frame_url=document_url(d.request.frame_chain),
                is_main_frame=d.request.is_main_frame,
                started_at=from_timestamp(d.request.started_at) if d.request.started_at else None,
                initiator_type=d.request.initiator_type,
                initiator_url=d.request.initiator_url,
                redirected_from=d.request.redirected_from,
                status=d.request.status,
                remote_ip=d.request.remote_ip,
                remote_port=d.request.remote_port,
                mime_type=d.request.mime_type,
                error=d.request.error,
                certificate_error=d.request.certificate_error,
                body_sha256=d.request.body_sha256,
            )
            for d in dependencies
        ]
        visit.forms = [
            Form(frame_url=document_url(f.frame_chain), action_url=f.action,
                 action_host=host_of(f.action), method=f.method, sensitive_fields=", ".join(f.sensitive_fields) or None)
            for f in capture.forms
        ]
        session.add(visit)
        session.flush()

        evidence = extract_host_pairs(capture, dependencies)
        pair_keys = sorted({(e.parent, e.child, e.cause) for e in evidence})
        existing = _pair_ids(session, pair_keys)
        upsert_seen(session, HostPair, ("parent", "child", "cause"),
                    [{"parent": p, "child": c, "cause": k} for p, c, k in pair_keys], seen)
        pair_ids = _pair_ids(session, pair_keys)
        session.add_all(
            PairEvidence(
                visit_id=visit.id,
                host_pair_id=pair_ids[(e.parent, e.child, e.cause)],
                page_url=capture.requested_url,
                child_url=e.child_url,
                frame_id=e.frame_id,
                frame_url=e.frame_url,
                initiator_url=e.initiator_url,
            )
            for e in evidence
        )
        upsert_seen(session, Resolution, ("hostname", "ip"),
                    [{"hostname": h, "ip": ip} for h, ip in sorted(extract_resolutions(capture))], seen)
        if visit.host and not capture.failed:
            _store_host_attributes(session, visit.host, capture, seen)
        alerts = record_alerts(session, visit, capture, dependencies, policy)
        return StoredVisit(visit.id, new_pairs=len(pair_keys) - len(existing), seen_pairs=len(existing),
                           alerts=len(alerts))


def _store_host_attributes(session: Session, host: str, capture: PageCapture, seen: datetime) -> None:
    """Trackers, cookies and components of the visited host."""
    request_urls = [r.url for r in capture.requests]
    upsert_seen(session, Tracker, ("hostname", "attribute_type", "attribute_value"), [
        {"hostname": host, "attribute_type": t.attribute_type, "attribute_value": t.attribute_value}
        for t in extract_trackers(capture.html, request_urls)
    ], seen)
    cookies = {
        (c.name, cookie_domain): not same_site(host, cookie_domain)
        for c in capture.cookies
        if (cookie_domain := normalize_host(c.domain.lstrip(".")))
    }
    upsert_seen(session, Cookie, ("hostname", "cookie_name", "cookie_domain"), [
        {"hostname": host, "cookie_name": name, "cookie_domain": domain, "third_party": third_party}
        for (name, domain), third_party in sorted(cookies.items())
    ], seen)
    components = extract_components(capture.html, capture.response_headers, request_urls,
                                    [c.name for c in capture.cookies], page_url=capture.final_url)
    upsert_seen(session, Component, ("hostname", "category", "label", "version"), [
        {"hostname": host, "category": c.category, "label": c.label, "version": c.version or ""}
        for c in components
    ], seen)


def _pair_ids(session: Session, keys: list[tuple[str, str, str]]) -> dict[tuple[str, str, str], int]:
    ids: dict[tuple[str, str, str], int] = {}
    for start in range(0, len(keys), 500):
        chunk = keys[start:start + 500]
        rows = session.execute(
            select(HostPair.parent, HostPair.child, HostPair.cause, HostPair.id).where(
                tuple_(HostPair.parent, HostPair.child, HostPair.cause).in_(chunk)
            )
        )
        ids.update({(p, c, k): i for p, c, k, i in rows})
    return ids
