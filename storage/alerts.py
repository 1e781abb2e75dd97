"""Alerts: baselines from stored visits, recording changes once, and the delivery outbox."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hostpairs.extractors.changes import (
    SEVERITIES,
    Baseline,
    Change,
    PageWatch,
    detect_changes,
    merge,
    observed_in,
)
from hostpairs.extractors import host_pairs
from hostpairs.extractors.hosts import host_of
from hostpairs.extractors.observations import PageCapture
from hostpairs.storage.models import Alert, AlertDelivery, Dependency, Form, Visit


@dataclass(frozen=True)
class AlertPolicy:
    """How alerts are raised for a visit and where they go."""

    watch: PageWatch = field(default_factory=PageWatch)
    seed_group: str | None = None
    baseline_visits: int = 10
    destinations: tuple[str, ...] = ()


def baseline(session: Session, page_url: str, before_visit_id: int, visits: int) -> Baseline:
    """What the last `visits` successful visits of `page_url` before this one saw."""
    recent = session.execute(
        select(Visit.id, Visit.mode).where(Visit.requested_url == page_url, Visit.id < before_visit_id,
                                           Visit.error.is_(None))
        .order_by(Visit.id.desc()).limit(visits)
    ).all()
    visit_ids = [visit_id for visit_id, _ in recent]
    form_hosts: dict[int, list[str]] = {visit_id: [] for visit_id, mode in recent if mode == "browser"}
    for visit_id, host in session.execute(
        select(Form.visit_id, Form.action_host).where(Form.visit_id.in_(list(form_hosts)), Form.action_host.is_not(None))
    ):
        form_hosts[visit_id].append(host)
    rows = session.execute(
        select(Dependency.visit_id, Dependency.url, Dependency.resource_type, Dependency.body_sha256,
               Dependency.is_main_frame).where(Dependency.visit_id.in_(visit_ids))
    ).all()
    per_visit: dict[int, list[tuple[str, str, str | None, bool]]] = {visit_id: [] for visit_id in visit_ids}
    for visit_id, url, resource_type, body_sha256, is_main_frame in rows:
        per_visit[visit_id].append((url, resource_type, body_sha256, is_main_frame))
    return merge(observed_in(requests, form_hosts.get(visit_id)) for visit_id, requests in per_visit.items())


def known_hosts(session: Session, hosts: set[str], except_visit_id: int) -> frozenset[str]:
    """Which of `hosts` any other visit has already seen."""
    known: set[str] = set()
    ordered = sorted(hosts)
    for start in range(0, len(ordered), 500):
        known.update(session.scalars(
            select(Dependency.host).distinct()
            .where(Dependency.host.in_(ordered[start:start + 500]), Dependency.visit_id != except_visit_id)
        ))
    return frozenset(known)


def record_alerts(session: Session, visit: Visit, capture: PageCapture, dependencies: list[host_pairs.Dependency],
                  policy: AlertPolicy) -> list[Alert]:
    """Detect changes of this visit and store those not already alerted and unacknowledged."""
    page_baseline = baseline(session, capture.requested_url, visit.id, policy.baseline_visits)
    if page_baseline.visits == 0:
        return []
    hosts = {h for r in capture.requests if (h := host_of(r.url))}
    changes = detect_changes(capture, dependencies, page_baseline, policy.watch, known_hosts(session, hosts, visit.id))
    alerts = [
        _alert(visit, capture, change, policy.seed_group)
        for change in changes
        if not _open_alert_exists(session, capture.requested_url, change)
    ]
    session.add_all(alerts)
    session.flush()
    session.add_all(
        AlertDelivery(alert_id=alert.id, destination=destination, attempts=0, next_attempt_at=visit.finished_at)
        for alert in alerts
        for destination in policy.destinations
    )
    return alerts


def _open_alert_exists(session: Session, page_url: str, change: Change) -> bool:
    return session.scalar(
        select(Alert.id).where(
            Alert.page_url == page_url, Alert.kind == change.kind, Alert.child_host == change.child_host,
            Alert.acknowledged_at.is_(None),
            *([Alert.child_url == change.child_url] if change.kind == "script_changed" else []),
        ).limit(1)
    ) is not None


def _alert(visit: Visit, capture: PageCapture, change: Change, seed_group: str | None) -> Alert:
    return Alert(
        created_at=visit.finished_at,
        visit_id=visit.id,
        page_url=capture.requested_url,
        kind=change.kind,
        cause=change.cause,
        child_host=change.child_host,
        child_url=change.child_url,
        severity=change.severity,
        signals=json.dumps(list(change.signals)),
        evidence=json.dumps(change.evidence, sort_keys=True),
        seed_group=seed_group,
    )


def alert_event(alert: Alert) -> dict[str, Any]:
    """An alert as one flat JSON event, the form written to files and posted to webhooks."""
    return {
        "source": "hostpairs",
        "id": alert.id,
        "timestamp": alert.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "kind": alert.kind,
        "severity": alert.severity,
        "page_url": alert.page_url,
        "page_host": host_of(alert.page_url),
        "child_host": alert.child_host,
        "child_url": alert.child_url,
        "cause": alert.cause,
        "signals": json.loads(alert.signals),
        "seed_group": alert.seed_group,
        "visit_id": alert.visit_id,
        "acknowledged": alert.acknowledged_at is not None,
        "evidence": json.loads(alert.evidence),
    }


def list_alerts(session: Session, since: datetime | None = None, min_severity: str | None = None,
                include_acknowledged: bool = True) -> list[dict[str, Any]]:
    """Stored alerts, newest first, as events."""
    statement = select(Alert).order_by(Alert.id.desc())
    if since is not None:
        statement = statement.where(Alert.created_at >= since)
    if min_severity is not None:
        statement = statement.where(Alert.severity.in_(SEVERITIES[SEVERITIES.index(min_severity):]))
    if not include_acknowledged:
        statement = statement.where(Alert.acknowledged_at.is_(None))
    return [alert_event(a) for a in session.scalars(statement)]


def acknowledge(session: Session, alert_id: int, now: datetime) -> bool:
    """Mark an alert acknowledged; False if there is no such alert."""
    alert = session.get(Alert, alert_id)
    if alert is None:
        return False
    alert.acknowledged_at = alert.acknowledged_at or now
    return True


def due_deliveries(session: Session, now: datetime) -> list[tuple[AlertDelivery, dict[str, Any]]]:
    """Undelivered outbox rows whose next attempt is due, with their events."""
    rows = session.execute(
        select(AlertDelivery, Alert).join(Alert, Alert.id == AlertDelivery.alert_id)
        .where(AlertDelivery.delivered_at.is_(None), AlertDelivery.next_attempt_at <= now)
        .order_by(AlertDelivery.id)
    ).all()
    return [(delivery, alert_event(alert)) for delivery, alert in rows]


def backoff(attempts: int) -> timedelta:
    """Delay before the next attempt: 1 s, 2 s, 4 s, ... capped at one hour."""
    return timedelta(seconds=min(2 ** max(attempts - 1, 0), 3600))
