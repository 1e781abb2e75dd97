"""Bounding the store: a visit's evidence (its dependencies, frames, forms, pair evidence,
screenshot, kept capture and which script versions it saw) is
kept for a window, the aggregates (host pairs, resolutions, trackers, cookies, components with
their first/last seen and visit counts) forever. A pruned visit keeps its row — URL, times,
status, and the alerts it raised — and is marked `pruned_at`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from hostpairs.storage.models import Dependency, Form, Frame, KeptCapture, PairEvidence, Screenshot, Visit, VisitScript

EVIDENCE = (PairEvidence, Dependency, Frame, Form, Screenshot, KeptCapture, VisitScript)
BATCH = 500
"""Visits pruned per transaction: each transaction stays short, so crawls writing meanwhile wait little."""


@dataclass(frozen=True)
class Pruned:
    """What a prune removed (or, in a dry run, would remove)."""

    visits: int
    rows: dict[str, int]


def prunable_visits(session: Session, keep_visits: int | None, older_than: datetime | None) -> list[int]:
    """Ids of the visits whose evidence no option keeps: not among the latest `keep_visits` of its
    page (by requested URL), and started before `older_than` (an option not given keeps nothing)."""
    latest_first = func.row_number().over(partition_by=Visit.requested_url,
                                          order_by=(Visit.started_at.desc(), Visit.id.desc())).label("rank")
    ranked = select(Visit.id, Visit.started_at, latest_first).where(Visit.pruned_at.is_(None)).subquery()
    statement = select(ranked.c.id).order_by(ranked.c.id)
    if keep_visits is not None:
        statement = statement.where(ranked.c.rank > keep_visits)
    if older_than is not None:
        statement = statement.where(ranked.c.started_at < older_than)
    return list(session.scalars(statement))


def prune(sessions: sessionmaker[Session], keep_visits: int | None, older_than: datetime | None,
          now: datetime, dry_run: bool = False) -> Pruned:
    """Remove the evidence of the visits `prunable_visits` names, BATCH visits per transaction
    (an interrupted prune leaves whole visits pruned or untouched: run it again)."""
    with sessions() as session:
        visit_ids = prunable_visits(session, keep_visits, older_than)
    rows = {model.__tablename__: 0 for model in EVIDENCE}
    for start in range(0, len(visit_ids), BATCH):
        batch = visit_ids[start:start + BATCH]
        with sessions.begin() as session:
            for model in EVIDENCE:
                if dry_run:
                    rows[model.__tablename__] += session.scalar(
                        select(func.count()).select_from(model).where(model.visit_id.in_(batch))) or 0
                else:
                    rows[model.__tablename__] += session.execute(
                        delete(model).where(model.visit_id.in_(batch))).rowcount
            if not dry_run:
                session.execute(update(Visit).where(Visit.id.in_(batch), Visit.pruned_at.is_(None))
                                .values(pruned_at=now))
    return Pruned(len(visit_ids), rows)
