"""Writing one visit: its records and the alerts it raises land in one transaction, or nothing does.

Everything written here was extracted before the transaction began (extractors/visit.py,
extractors/changes.py); the transaction only inserts and upserts, set-based."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import literal_column
from sqlalchemy.orm import Session, sessionmaker

from hostpairs.extractors.capture_codec import FORMAT, EncodedCapture
from hostpairs.extractors.inventory import ScriptInventory, security_headers
from hostpairs.extractors.records import Change, VisitRecords
from hostpairs.storage.alerts import record_alerts
from hostpairs.storage.inventory import store_inventory
from hostpairs.storage.summaries import count_new, inserted_marker, summarize_resolutions
from hostpairs.storage.models import (
    Component,
    Cookie,
    Dependency,
    Form,
    Frame,
    HostPair,
    KeptCapture,
    PairEvidence,
    Resolution,
    Screenshot,
    Tracker,
    Visit,
)
from hostpairs.storage.times import from_timestamp, utcnow
from hostpairs.storage.upserts import dialect_insert, widened_seen


@dataclass(frozen=True)
class StoredVisit:
    """What storing a visit did."""

    visit_id: int
    new_pairs: int
    seen_pairs: int
    alerts: int


@dataclass(frozen=True)
class AlertRouting:
    """Where a visit's alerts are filed and sent."""

    seed_group: str | None = None
    destinations: tuple[str, ...] = ()


def _upsert(session: Session, model: type, keys: Sequence[str], rows: list[dict[str, Any]], seen: datetime):  # noqa: ANN202
    """The statement inserting rows keyed by `keys`, or on conflict widening first/last seen and
    counting one more visit. Rows go in key order, so writers upserting overlapping rows at once
    lock them in one order (PostgreSQL would otherwise find them deadlocked)."""
    table = model.__table__
    rows = sorted(rows, key=lambda row: tuple(row[k] for k in keys))
    statement = dialect_insert(session)(table).values(
        [{**row, "first_seen": seen, "last_seen": seen, "visit_count": 1} for row in rows]
    )
    return statement.on_conflict_do_update(index_elements=[table.c[k] for k in keys],
                                           set_=widened_seen(statement, table))


def upsert_seen(session: Session, model: type, keys: Sequence[str], rows: list[dict[str, Any]], seen: datetime) -> None:
    """Insert rows keyed by `keys`, or on conflict widen first/last seen and count one more visit
    (host pairs go through upsert_pairs, which keeps their counts)."""
    if model in (HostPair, Resolution):
        raise TypeError(f"{model.__tablename__} are upserted by their own function, which keeps their summaries")
    if rows:
        session.execute(_upsert(session, model, keys, rows, seen))


def upsert_resolutions(session: Session, resolved: Sequence[tuple[str, str]], seen: datetime) -> None:
    """Upsert resolutions (hostname, ip) seen by one visit, folding them into their IPs' summaries."""
    if not resolved:
        return
    statement = _upsert(session, Resolution, ("hostname", "ip"), [{"hostname": h, "ip": ip} for h, ip in resolved], seen)
    inserted = literal_column(inserted_marker(session, Resolution))
    summarize_resolutions(session, session.execute(statement.returning(Resolution.ip, inserted)).all(), seen)


PairKey = tuple[str, str, str]


def upsert_pairs(session: Session, keys: list[PairKey], seen: datetime) -> tuple[dict[PairKey, int], int]:
    """Upsert host pairs (parent, child, cause) seen by one visit, counting the new ones into
    host_pair_counts; returns each pair's id and how many were new."""
    if not keys:
        return {}, 0
    statement = _upsert(session, HostPair, ("parent", "child", "cause"),
                        [{"parent": p, "child": c, "cause": k} for p, c, k in keys], seen)
    inserted = literal_column(inserted_marker(session, HostPair))
    returned = session.execute(statement.returning(HostPair.parent, HostPair.child, HostPair.cause, HostPair.id,
                                                   HostPair.parent_reversed, HostPair.child_reversed, inserted)).all()
    new = [(parent_reversed, child_reversed) for *_, parent_reversed, child_reversed, is_new in returned if is_new]
    count_new(session, new)
    return {(p, c, k): pair_id for p, c, k, pair_id, *_ in returned}, len(new)


def contributions(records: VisitRecords) -> dict[str, list[list[Any]]]:
    """What a visit counts in the aggregates, keyed as they are (kept with its capture, so a
    reprocess knows what to take back)."""
    return {
        "pairs": [list(key) for key in sorted({(e.parent, e.child, e.cause) for e in records.pairs})],
        "trackers": [[t.attribute_type, t.attribute_value] for t in records.trackers],
        "cookies": [[c.name, c.domain, c.third_party] for c in records.cookies],
        "components": [[c.category, c.label, c.version or ""] for c in records.components],
    }


def add_evidence(session: Session, visit_id: int, records: VisitRecords, pair_ids: dict[PairKey, int]) -> None:
    """Insert a visit's frames, dependencies, forms and pair evidence."""
    capture = records.capture
    session.add_all(
        Frame(
            visit_id=visit_id,
            frame_id=f.frame.frame_id,
            parent_frame_id=f.frame.parent_frame_id,
            url=f.frame.url,
            host=f.host,
            name=f.frame.name,
            created_by_script=f.frame.created_by_script,
            creator_script_url=f.frame.creator_script_url,
            hidden=f.frame.hidden,
            hidden_reasons=", ".join(f.frame.hidden_reasons) or None,
            detached=f.frame.detached,
        )
        for f in records.frames
    )
    session.add_all(
        Dependency(
            visit_id=visit_id,
            url=d.request.url,
            host=d.host,
            resource_type=d.request.resource_type,
            cause=d.cause,
            parent_host=d.parent,
            frame_id=d.request.frame_id,
            frame_url=d.frame_url,
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
            declared_type=d.request.declared_type,
        )
        for d in records.dependencies
    )
    session.add_all(
        Form(visit_id=visit_id, frame_url=f.frame_url, action_url=f.form.action, action_host=f.action_host,
             method=f.form.method, sensitive_fields=", ".join(f.form.sensitive_fields) or None)
        for f in records.forms
    )
    session.add_all(
        PairEvidence(
            visit_id=visit_id,
            host_pair_id=pair_ids[(e.parent, e.child, e.cause)],
            page_url=capture.requested_url,
            child_url=e.child_url,
            frame_id=e.frame_id,
            frame_url=e.frame_url,
            initiator_url=e.initiator_url,
            hint=e.hint,
            declared_type=e.declared_type,
        )
        for e in records.pairs
    )


def upsert_attributes(session: Session, host: str | None, counted: dict[str, list[list[Any]]], seen: datetime) -> None:
    """Upsert the trackers, cookies and components of `counted` (as `contributions` lists them) for `host`."""
    upsert_seen(session, Tracker, ("hostname", "attribute_type", "attribute_value"), [
        {"hostname": host, "attribute_type": kind, "attribute_value": value} for kind, value in counted["trackers"]
    ], seen)
    upsert_seen(session, Cookie, ("hostname", "cookie_name", "cookie_domain"), [
        {"hostname": host, "cookie_name": name, "cookie_domain": domain, "third_party": third_party}
        for name, domain, third_party in counted["cookies"]
    ], seen)
    upsert_seen(session, Component, ("hostname", "category", "label", "version"), [
        {"hostname": host, "category": category, "label": label, "version": version}
        for category, label, version in counted["components"]
    ], seen)


def store_visit(sessions: sessionmaker[Session], records: VisitRecords, changes: Sequence[Change] = (),
                routing: AlertRouting = AlertRouting(), kept: EncodedCapture | None = None,
                inventory: ScriptInventory | None = None) -> StoredVisit:
    """Store a visit with its frames, dependencies, host pairs, resolutions, host attributes, the
    alerts its changes raise, its capture (`kept`, if it is kept) and its script inventory (on
    inventoried pages), atomically."""
    capture = records.capture
    seen = from_timestamp(capture.started_at)
    counted = contributions(records)
    with sessions.begin() as session:
        visit = Visit(
            requested_url=capture.requested_url,
            final_url=capture.final_url,
            host=records.host,
            mode=capture.mode,
            depth=capture.depth,
            started_at=seen,
            finished_at=from_timestamp(capture.finished_at),
            status=capture.status,
            error=capture.error,
            load_finished=capture.load_finished,
            limits_hit=", ".join(capture.limits_hit) or None,
            seed_group=capture.seed_group,
            job=capture.job,
            security_headers=json.dumps(security_headers(capture.response_headers)) if not capture.failed else None,
        )
        session.add(visit)
        session.flush()
        if capture.screenshot:
            session.add(Screenshot(visit_id=visit.id, media_type="image/jpeg", image=capture.screenshot))
        if kept is not None:
            session.add(KeptCapture(visit_id=visit.id, format=FORMAT, data=kept.data, complete=kept.complete,
                                    contributions=json.dumps(counted), derived_at=utcnow()))
        pair_keys = [(p, c, k) for p, c, k in counted["pairs"]]
        pair_ids, new_pairs = upsert_pairs(session, pair_keys, seen)  # (under the write lock the visit took)
        add_evidence(session, visit.id, records, pair_ids)
        upsert_resolutions(session, records.resolutions, seen)
        upsert_attributes(session, records.host, counted, seen)
        if inventory is not None:
            store_inventory(session, visit, inventory)
        alerts = record_alerts(session, visit, changes, routing.seed_group, routing.destinations)
        return StoredVisit(visit.id, new_pairs=new_pairs, seen_pairs=len(pair_keys) - new_pairs, alerts=len(alerts))
