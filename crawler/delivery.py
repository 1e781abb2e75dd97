"""Delivering stored alerts: to a JSON-lines file and to webhooks, from the outbox, with retries.

A destination that fails never stops a crawl and never loses an alert: the outbox row stays
undelivered, with the error and the time of the next attempt (exponential back-off)."""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from hostpairs.api.alert_events import alert_event
from hostpairs.crawler.errors import one_line
from hostpairs.storage.outbox import due_deliveries, next_attempt_at, record_attempt
from hostpairs.storage.times import utcnow

WEBHOOK_TIMEOUT = 10.0


def destinations(alert_file: str | None, webhooks: list[str]) -> tuple[str, ...]:
    """Outbox destination names from the settings."""
    return tuple([f"file:{alert_file}"] if alert_file else []) + tuple(f"webhook:{url}" for url in webhooks)


def send(destination: str, event: dict[str, Any]) -> None:
    """Deliver one event; raises OSError (or a subclass) when the destination refuses it."""
    kind, _, target = destination.partition(":")
    line = json.dumps(event, sort_keys=True)
    if kind == "file":
        with open(target, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")
            handle.flush()
            os.fsync(handle.fileno())
    elif kind == "webhook":
        request = urllib.request.Request(
            target, data=line.encode(), method="POST",
            headers={"Content-Type": "application/json", "User-Agent": "hostpairs-alerts"},
        )
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT) as response:  # noqa: S310 (operator's URL)
            response.read()
    else:
        raise OSError(f"unknown destination {destination!r}")


def deliver_due(sessions: sessionmaker[Session], sender: Callable[[str, dict[str, Any]], None] = send) -> int:
    """Try every due delivery once; returns how many were delivered."""
    with sessions() as session:
        due = [(delivery_id, destination, alert_event(alert))
               for delivery_id, destination, alert in due_deliveries(session, utcnow())]
    delivered = 0
    for delivery_id, destination, event in due:
        try:
            sender(destination, event)
            error = None
        except (OSError, urllib.error.URLError, ValueError) as exc:
            error = one_line(exc)
        with sessions.begin() as session:
            delivered += record_attempt(session, delivery_id, error, utcnow())
    return delivered


def deliver_for(sessions: sessionmaker[Session], seconds: float,
                sender: Callable[[str, dict[str, Any]], None] = send) -> int:
    """Deliver, retrying with back-off for up to `seconds`; what is still pending stays in the outbox."""
    deadline = time.monotonic() + seconds
    delivered = deliver_due(sessions, sender)
    while True:
        with sessions() as session:
            pending = next_attempt_at(session)
        if pending is None:
            return delivered
        wait = max((pending - utcnow()).total_seconds(), 0.0)
        if time.monotonic() + wait > deadline:
            return delivered
        time.sleep(wait)
        delivered += deliver_due(sessions, sender)
