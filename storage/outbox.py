"""The alert outbox: which deliveries are due, and what each attempt did."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hostpairs.storage.models import Alert, AlertDelivery


def due_deliveries(session: Session, now: datetime) -> list[tuple[int, str, Alert]]:
    """Undelivered outbox rows whose next attempt is due: (delivery id, destination, alert)."""
    rows = session.execute(
        select(AlertDelivery.id, AlertDelivery.destination, Alert).join(Alert, Alert.id == AlertDelivery.alert_id)
        .where(AlertDelivery.delivered_at.is_(None), AlertDelivery.next_attempt_at <= now)
        .order_by(AlertDelivery.id)
    ).all()
    return [(delivery_id, destination, alert) for delivery_id, destination, alert in rows]


def backoff(attempts: int) -> timedelta:
    """Delay before the next attempt: 1 s, 2 s, 4 s, ... capped at one hour."""
    return timedelta(seconds=min(2 ** max(attempts - 1, 0), 3600))


def record_attempt(session: Session, delivery_id: int, error: str | None, now: datetime) -> bool:
    """Record one attempt (error None: delivered); True if it delivered a pending row."""
    row = session.get(AlertDelivery, delivery_id)
    if row is None or row.delivered_at is not None:
        return False
    row.attempts += 1
    if error is None:
        row.delivered_at, row.last_error = now, None
        return True
    row.last_error = error
    row.next_attempt_at = now + backoff(row.attempts)
    return False


def next_attempt_at(session: Session) -> datetime | None:
    """When the earliest undelivered row may be tried again (None: nothing pending)."""
    return session.scalar(select(func.min(AlertDelivery.next_attempt_at)).where(AlertDelivery.delivered_at.is_(None)))
