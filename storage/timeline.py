"""A host's timeline: on which days each of its host pairs and resolutions was seen, from the
visits that saw them (while their evidence is kept; after `prune`, the days between first and
last seen stand in)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from hostpairs.storage.models import Dependency, HostPair, PairEvidence, Resolution, Visit
from hostpairs.storage.queries import host_filter

ROWS = 40
"""Host pairs, and resolutions, a timeline shows at most (the latest seen)."""
SEEN, IN_RANGE = "seen", "range"


@dataclass(frozen=True)
class TimelineRow:
    kind: str  # "pair" or "resolution"
    label: str
    seen: tuple[str | None, ...]
    """Per day: SEEN (a visit saw it that day), IN_RANGE (between its first and last seen, no
    evidence kept for that day) or None."""


@dataclass(frozen=True)
class Timeline:
    days: list[date]
    rows: list[TimelineRow]


def _row(kind: str, label: str, days: list[date], seen_on: set[date], first: datetime, last: datetime) -> TimelineRow:
    return TimelineRow(kind, label, tuple(
        SEEN if day in seen_on else IN_RANGE if not seen_on and first.date() <= day <= last.date() else None
        for day in days))


def host_timeline(session: Session, host: str, days: int, now: datetime) -> Timeline:
    """The last `days` days up to `now`, and a row for each of `host`'s (and its subdomains')
    host pairs and resolutions seen in them, latest first."""
    window = [now.date() - timedelta(days=n) for n in range(days - 1, -1, -1)]
    start = datetime.combine(window[0], datetime.min.time())
    pairs = session.execute(
        select(HostPair.id, HostPair.parent, HostPair.child, HostPair.cause, HostPair.first_seen, HostPair.last_seen)
        .where(or_(host_filter(HostPair.parent_reversed, host), host_filter(HostPair.child_reversed, host)),
               HostPair.last_seen >= start)
        .order_by(HostPair.last_seen.desc()).limit(ROWS)).all()
    pair_days: dict[int, set[date]] = defaultdict(set)
    if pairs:
        for pair_id, started in session.execute(
                select(PairEvidence.host_pair_id, Visit.started_at).join(Visit, Visit.id == PairEvidence.visit_id)
                .where(PairEvidence.host_pair_id.in_([p.id for p in pairs]), Visit.started_at >= start)):
            pair_days[pair_id].add(started.date())
    resolutions = session.execute(
        select(Resolution.hostname, Resolution.ip, Resolution.first_seen, Resolution.last_seen)
        .where(host_filter(Resolution.hostname_reversed, host), Resolution.last_seen >= start)
        .order_by(Resolution.last_seen.desc()).limit(ROWS)).all()
    resolution_days: dict[tuple[str, str], set[date]] = defaultdict(set)
    if resolutions:
        for hostname, ip, started in session.execute(
                select(Dependency.host, Dependency.remote_ip, Visit.started_at).join(Visit, Visit.id == Dependency.visit_id)
                .where(Dependency.host.in_({r.hostname for r in resolutions}), Visit.started_at >= start,
                       Dependency.remote_ip.in_({r.ip for r in resolutions})).distinct()):
            resolution_days[(hostname, ip)].add(started.date())
    rows = [_row("pair", f"{p.parent} → {p.child} ({p.cause})", window, pair_days[p.id], p.first_seen, p.last_seen)
            for p in pairs]
    rows += [_row("resolution", f"{r.hostname} = {r.ip}", window, resolution_days[(r.hostname, r.ip)], r.first_seen,
                  r.last_seen) for r in resolutions]
    return Timeline(window, rows)
