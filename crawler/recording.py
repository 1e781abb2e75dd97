"""Recording a visit: extract its records, compare it with earlier visits, store both.

The one place where the pure extractors meet the database: reads for the baseline first (and, on
an inventoried page, its scripts' known versions, the authorisations and its previous security
headers), then pure extraction and change detection, then one write transaction
(storage/writer.py)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker

from hostpairs.extractors.capture_codec import encode_capture
from hostpairs.extractors.changes import PageWatch, detect_changes, merge, observed_in
from hostpairs.extractors.inventory import header_changes, script_changes, script_inventory
from hostpairs.extractors.observations import PageCapture
from hostpairs.extractors.visit import extract_visit
from hostpairs.storage.alerts import known_hosts, recent_visits
from hostpairs.storage.inventory import active_authorizations, known_versions, previous_security_headers
from hostpairs.storage.writer import AlertRouting, StoredVisit, store_visit


@dataclass(frozen=True)
class AlertPolicy:
    """How alerts are raised for a visit and where they go."""

    watch: PageWatch = field(default_factory=PageWatch)
    seed_group: str | None = None
    baseline_visits: int = 10
    destinations: tuple[str, ...] = ()
    processors: tuple[str, ...] = ()
    """Payment processors' hosts: scripts in their frames are out of an inventory's scope."""


def record_visit(sessions: sessionmaker[Session], capture: PageCapture, policy: AlertPolicy = AlertPolicy(),
                 fingerprints: str | None = None, capture_bytes: int | None = None) -> StoredVisit:
    """Store `capture` with everything extracted from it and the alerts it raises, and keep the
    capture itself compressed to at most `capture_bytes` (None: not kept; 0: no cap). Blocking:
    call it off the event loop. Raises SQLAlchemyError when the database refuses the visit."""
    records = extract_visit(capture, fingerprints)
    kept = encode_capture(capture, capture_bytes) if capture_bytes is not None else None
    with sessions() as session:
        history = recent_visits(session, capture.requested_url, policy.baseline_visits)
        known = known_hosts(session, (d.host for d in records.dependencies if d.host)) if history else frozenset()
    baseline = merge(observed_in(requests, form_hosts) for requests, form_hosts in history)
    changes = detect_changes(capture, records.dependencies, baseline, policy.watch, known)
    inventory = None
    if policy.watch.inventory and capture.mode == "browser" and not capture.failed:
        inventory = script_inventory(capture, policy.processors)
        with sessions() as session:
            versions = known_versions(session, capture.requested_url)
            authorizations = active_authorizations(session)
            headers = previous_security_headers(session, capture.requested_url)
        payment = "payment" in policy.watch.tags
        # the inventory's script_changed says more (and knows authorisations) than the baseline's
        changes = [c for c in changes if c.kind != "script_changed"]
        changes += script_changes(capture, inventory, versions, authorizations, payment)
        changes += header_changes(capture, headers)
    return store_visit(sessions, records, changes, AlertRouting(policy.seed_group, policy.destinations), kept,
                       inventory)
