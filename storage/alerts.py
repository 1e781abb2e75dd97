"""Alerts in the database: what earlier visits of a page saw, filing changes once, listing them."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from hostpairs.extractors.records import SEVERITIES, Change
from hostpairs.storage.models import Alert, AlertDelivery, Dependency, Form, HostPair, Visit, reversed_host

RequestSeen = tuple[str, str, str | None, bool]
"""(url, resource_type, body_sha256, is_main_frame) of one stored dependency."""


def recent_visits(session: Session, page_url: str, visits: int) -> list[tuple[list[RequestSeen], list[str] | None]]:
    """The requests of the last `visits` successful visits of `page_url`, each with the hosts its
    forms submitted to (None for a visit that did not read forms: static mode)."""
    recent = session.execute(
        select(Visit.id, Visit.mode).where(Visit.requested_url == page_url, Visit.error.is_(None))
        .order_by(Visit.id.desc()).limit(visits)
    ).all()
    visit_ids = [visit_id for visit_id, _ in recent]
    form_hosts: dict[int, list[str]] = {visit_id: [] for visit_id, mode in recent if mode == "browser"}
    for visit_id, host in session.execute(
        select(Form.visit_id, Form.action_host).where(Form.visit_id.in_(list(form_hosts)), Form.action_host.is_not(None))
    ):
        form_hosts[visit_id].append(host)
    requests: dict[int, list[RequestSeen]] = {visit_id: [] for visit_id in visit_ids}
    for visit_id, url, resource_type, body_sha256, is_main_frame in session.execute(
        select(Dependency.visit_id, Dependency.url, Dependency.resource_type, Dependency.body_sha256,
               Dependency.is_main_frame).where(Dependency.visit_id.in_(visit_ids))
    ):
        requests[visit_id].append((url, resource_type, body_sha256, is_main_frame))
    return [(requests[visit_id], form_hosts.get(visit_id)) for visit_id in visit_ids]


def known_hosts(session: Session, hosts: Iterable[str]) -> frozenset[str]:
    """Which of `hosts` the store has already seen: in a stored visit's requests or in a host pair
    (pairs outlive the visits `hostpairs prune` strips of their requests)."""
    known: set[str] = set()
    ordered = sorted(set(hosts))
    for start in range(0, len(ordered), 500):
        chunk = ordered[start:start + 500]
        known.update(session.scalars(select(Dependency.host).distinct().where(Dependency.host.in_(chunk))))
        by_reversed = {reversed_host(host): host for host in chunk if host not in known}
        for column in (HostPair.child_reversed, HostPair.parent_reversed):
            known.update(by_reversed[r] for r in session.scalars(select(column).distinct()
                                                                 .where(column.in_(list(by_reversed)))))
    return frozenset(known)


def record_alerts(session: Session, visit: Visit, changes: Sequence[Change], seed_group: str | None,
                  destinations: Sequence[str]) -> list[Alert]:
    """File the changes of a stored visit not already alerted and unacknowledged, each queued in
    the outbox for every destination."""
    alerts = [
        Alert(
            created_at=visit.finished_at,
            visit_id=visit.id,
            page_url=visit.requested_url,
            kind=change.kind,
            cause=change.cause,
            child_host=change.child_host,
            child_url=change.child_url,
            severity=change.severity,
            signals=json.dumps(list(change.signals)),
            evidence=json.dumps(change.evidence, sort_keys=True),
            seed_group=seed_group,
        )
        for change in changes
        if not _open_alert_exists(session, visit.requested_url, change)
    ]
    session.add_all(alerts)
    session.flush()
    session.add_all(
        AlertDelivery(alert_id=alert.id, destination=destination, attempts=0, next_attempt_at=visit.finished_at)
        for alert in alerts
        for destination in destinations
    )
    return alerts


_BY_URL = frozenset({"script_changed", "unauthorized_script"})
"""Kinds alerted once per child URL (script) rather than once per child host while open."""
_STANDING_FOR = {"unauthorized_script": ("unauthorized_script", "script_changed")}
"""An open alert of these kinds stands for a new one of the key's: a changed pinned script is
unauthorised for as long as its script_changed alert is open."""


def _open_alert_exists(session: Session, page_url: str, change: Change) -> bool:
    if change.kind == "header_changed":
        return False  # each change of a header is an event of its own
    return session.scalar(
        select(Alert.id).where(
            Alert.page_url == page_url, Alert.kind.in_(_STANDING_FOR.get(change.kind, (change.kind,))),
            Alert.child_host == change.child_host,
            Alert.acknowledged_at.is_(None),
            *([Alert.child_url == change.child_url] if change.kind in _BY_URL else []),
        ).limit(1)
    ) is not None


def list_alerts(session: Session, since: datetime | None = None, min_severity: str | None = None,
                include_acknowledged: bool = True, seed_group: str | None = None, before_id: int | None = None,
                limit: int | None = None) -> list[Alert]:
    """Stored alerts, newest first (those older than alert `before_id`, at most `limit`)."""
    statement = select(Alert).order_by(Alert.id.desc()).limit(limit)
    if seed_group is not None:
        statement = statement.where(Alert.seed_group == seed_group)
    if before_id is not None:
        statement = statement.where(Alert.id < before_id)
    if since is not None:
        statement = statement.where(Alert.created_at >= since)
    if min_severity is not None:
        statement = statement.where(Alert.severity.in_(SEVERITIES[SEVERITIES.index(min_severity):]))
    if not include_acknowledged:
        statement = statement.where(Alert.acknowledged_at.is_(None))
    return list(session.scalars(statement))


def acknowledge(session: Session, alert_id: int, now: datetime, by: str | None = None) -> bool:
    """Mark an alert acknowledged (by whom, when told); False if there is no such alert."""
    alert = session.get(Alert, alert_id)
    if alert is None:
        return False
    if alert.acknowledged_at is None:
        alert.acknowledged_at, alert.acknowledged_by = now, by
    return True
