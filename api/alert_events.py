"""An alert as one flat JSON event: the form written to alert files, posted to webhooks and
printed by `hostpairs alerts --json`."""

from __future__ import annotations

import json
from typing import Any

from hostpairs.extractors.hosts import host_of
from hostpairs.storage.models import Alert


def alert_event(alert: Alert) -> dict[str, Any]:
    """The event of a stored alert."""
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
