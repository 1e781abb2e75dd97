"""Re-deriving a stored visit from its kept capture: its evidence replaced, the aggregates it
counted corrected (what it no longer yields taken back, what it now yields added at the visit's
own time), in one transaction per visit. Alerts are history and stay as raised; resolutions come
from the addresses connected to, which no rule changes, and stay too."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, tuple_, update
from sqlalchemy.orm import Session

from hostpairs.extractors.capture_codec import FORMAT, decode_capture
from hostpairs.extractors.observations import PageCapture
from hostpairs.extractors.records import VisitRecords
from hostpairs.storage.models import (
    Component,
    Cookie,
    Dependency,
    Form,
    Frame,
    HostPair,
    KeptCapture,
    PairEvidence,
    Tracker,
    Visit,
)
from hostpairs.storage.summaries import count_new
from hostpairs.storage.times import utcnow
from hostpairs.storage.writer import add_evidence, contributions, upsert_attributes, upsert_pairs

_ATTRIBUTES = {
    "trackers": (Tracker, ("attribute_type", "attribute_value")),
    "cookies": (Cookie, ("cookie_name", "cookie_domain")),
    "components": (Component, ("category", "label", "version")),
}


@dataclass(frozen=True)
class Rederived:
    """What re-deriving one visit changed."""

    pairs_added: int
    pairs_removed: int
    changed: bool


def reprocessable_visits(session: Session, since: datetime | None, url: str | None) -> tuple[list[int], int]:
    """Ids of the visits (started at or after `since`, of `url` as requested or as it ended up)
    with a complete kept capture, oldest first, and how many others match but have none."""
    statement = (select(Visit.id, KeptCapture.complete.is_(True) & (KeptCapture.format == FORMAT))
                 .outerjoin(KeptCapture, KeptCapture.visit_id == Visit.id).order_by(Visit.id))
    if since is not None:
        statement = statement.where(Visit.started_at >= since)
    if url is not None:
        statement = statement.where(or_(Visit.requested_url == url, Visit.final_url == url))
    rows = session.execute(statement).all()
    return [visit_id for visit_id, usable in rows if usable], sum(1 for _, usable in rows if not usable)


def kept_capture(session: Session, visit_id: int) -> PageCapture | None:
    """The capture kept for a visit (None when there is none or it is incomplete)."""
    kept = session.get(KeptCapture, visit_id)
    if kept is None or not kept.complete or kept.format != FORMAT:
        return None
    return decode_capture(kept.data)


def rederive_visit(session: Session, visit_id: int, records: VisitRecords) -> Rederived:
    """Replace a visit's evidence and its share of the aggregates with `records` (derived from its
    kept capture by today's extractors). Idempotent: a second run changes nothing."""
    visit = session.get(Visit, visit_id, with_for_update=True)
    kept = session.get(KeptCapture, visit_id)
    if visit is None or kept is None:
        raise LookupError(f"visit {visit_id} has no kept capture")
    before, after = json.loads(kept.contributions), contributions(records)
    seen = visit.started_at
    for model in (PairEvidence, Dependency, Frame, Form):
        session.execute(delete(model).where(model.visit_id == visit_id))
    old_pairs = {tuple(key) for key in before["pairs"]}
    new_pairs = {tuple(key) for key in after["pairs"]}
    added, removed = sorted(new_pairs - old_pairs), sorted(old_pairs - new_pairs)
    upsert_pairs(session, added, seen)
    _take_back_pairs(session, removed)
    pair_ids = _pair_ids(session, sorted(new_pairs))
    add_evidence(session, visit_id, records, pair_ids)
    upsert_attributes(session, visit.host, {name: _missing(after[name], before[name]) for name in _ATTRIBUTES}, seen)
    for name, (model, columns) in _ATTRIBUTES.items():
        gone = _missing(before[name], after[name])
        if gone and visit.host:
            _take_back(session, model, ("hostname", *columns), [[visit.host, *row[:len(columns)]] for row in gone])
    changed = before != after
    kept.contributions, kept.derived_at = json.dumps(after), utcnow()
    return Rederived(len(added), len(removed), changed)


def _missing(rows: list[list[Any]], other: list[list[Any]]) -> list[list[Any]]:
    present = {tuple(row) for row in other}
    return [row for row in rows if tuple(row) not in present]


def _pair_ids(session: Session, keys: Sequence[tuple[str, str, str]]) -> dict[tuple[str, str, str], int]:
    ids = {}
    for start in range(0, len(keys), 500):
        chunk = keys[start:start + 500]
        rows = session.execute(select(HostPair.parent, HostPair.child, HostPair.cause, HostPair.id)
                               .where(tuple_(HostPair.parent, HostPair.child, HostPair.cause).in_(chunk)))
        ids.update({(parent, child, cause): pair_id for parent, child, cause, pair_id in rows})
    return ids


def _take_back(session: Session, model: type, columns: Sequence[str], keys: list[list[Any]]) -> tuple[list[Any], list[Any]]:
    """Count one visit less for each key; rows no visit counts any more are deleted. Returns the
    rows other visits still count (their first/last seen keep their widest bounds) and the deleted."""
    remaining, deleted = [], []
    for key in sorted(keys):
        match = and_(*(getattr(model, column) == value for column, value in zip(columns, key)))
        row = session.execute(select(model).where(match).with_for_update()).scalar_one_or_none()
        if row is None:
            continue
        if row.visit_count <= 1:
            session.delete(row)
            deleted.append(row)
        else:
            row.visit_count -= 1
            remaining.append(row)
    session.flush()
    return remaining, deleted


def _take_back_pairs(session: Session, keys: list[tuple[str, str, str]]) -> None:
    """_take_back for host pairs, keeping host_pair_counts; a pair other visits still count gets
    its first/last seen from their evidence when every one of them still has it."""
    remaining, deleted = _take_back(session, HostPair, ("parent", "child", "cause"), [list(key) for key in keys])
    for pair in remaining:
        visits, first, last = session.execute(
            select(func.count(func.distinct(PairEvidence.visit_id)), func.min(Visit.started_at), func.max(Visit.started_at))
            .join(Visit, Visit.id == PairEvidence.visit_id).where(PairEvidence.host_pair_id == pair.id)).one()
        if visits == pair.visit_count:
            session.execute(update(HostPair).where(HostPair.id == pair.id).values(first_seen=first, last_seen=last))
    count_new(session, [(pair.parent_reversed, pair.child_reversed) for pair in deleted], step=-1)
