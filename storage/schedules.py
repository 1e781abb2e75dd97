"""Seed-group schedules in the database: runs and their signs of life, each group's next due
time, and the watcher's heartbeat. The schedule arithmetic itself is seeds/schedule.py."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from hostpairs.storage.models import CrawlRun, SeedGroupState, WatchHeartbeat

SILENT_FOR = timedelta(minutes=2)
"""A run or watcher with no sign of life for this long is dead (runs beat every
HOSTPAIRS_RUN_HEARTBEAT seconds; a watcher every tick, at most a minute, and every 10 s while it
crawls)."""

FRONTIER_HOST = "frontier"
"""The host of a run whose visits are in the distributed crawl's frontier: it has no pid to check;
it is alive while workers or the watcher renew it (crawler/frontier_runs.py)."""

WATCHER = "watch"
"""The one heartbeat row of a database's watcher."""


class WatcherRunning(RuntimeError):
    """Another watcher is alive on the same database."""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def alive(host: str, pid: int, last_sign: datetime, now: datetime) -> bool:
    """A process that gave a sign of life lately and, when it runs on this machine, still exists
    (a crash is seen at once, a reused pid is not believed for long)."""
    return last_sign >= now - SILENT_FOR and (host != socket.gethostname() or _pid_alive(pid))


def start_runs(session: Session, groups: Iterable[str], due_at: datetime | None, now: datetime,
               host: str | None = None, pid: int | None = None) -> dict[str, int]:
    """Record that this process (or `host` and `pid`: whoever will crawl them) starts crawling
    `groups`; returns each group's run ID."""
    run_ids = {}
    for name in groups:
        run = CrawlRun(seed_group=name, due_at=due_at, started_at=now, host=host or socket.gethostname(),
                       pid=os.getpid() if pid is None else pid, alive_at=now, pages=0, errors=0)
        session.add(run)
        state = session.get(SeedGroupState, name) or SeedGroupState(seed_group=name)
        state.last_started_at = now
        if state.next_slot_at is None:
            state.next_slot_at = due_at  # a first run killed before it finished is run again for its own slot
        session.add(state)
        session.flush()
        run_ids[name] = run.id
    return run_ids


def renew_runs(session: Session, run_ids: Iterable[int], now: datetime) -> None:
    """The runs' sign of life."""
    session.execute(update(CrawlRun).where(CrawlRun.id.in_(list(run_ids))).values(alive_at=now))


def finish_run(session: Session, run_id: int, pages: int, errors: int, now: datetime,
               next_slot: datetime, next_run_at: datetime) -> None:
    """Close a run that finished and record when its group is due next."""
    run = session.get_one(CrawlRun, run_id)
    run.finished_at, run.pages, run.errors = now, pages, errors
    state = session.get_one(SeedGroupState, run.seed_group)
    state.last_finished_at = now
    state.next_slot_at, state.next_run_at = next_slot, next_run_at


def run_slot(session: Session, run_id: int) -> datetime:
    """The slot a run was due for (its start when nobody scheduled it)."""
    run = session.get_one(CrawlRun, run_id)
    return run.due_at or run.started_at


def running_run(session: Session, group: str, now: datetime) -> CrawlRun | None:
    """An unfinished run of `group` that is still alive."""
    for run in session.scalars(select(CrawlRun).where(CrawlRun.seed_group == group, CrawlRun.finished_at.is_(None))):
        if alive(run.host, run.pid, run.alive_at, now):
            return run
    return None


def claim_watcher(session: Session, seeds_file: str, now: datetime) -> None:
    """Become the database's watcher, refusing to when another live one is (two watchers would
    crawl each due group twice)."""
    other = session.get(WatchHeartbeat, WATCHER, with_for_update=True)
    if other and other.pid != os.getpid() and alive(other.host, other.pid, other.beat_at, now):
        age = (now - other.beat_at).total_seconds()
        raise WatcherRunning(f"another watcher runs on this database: pid {other.pid} on {other.host}, "
                             f"last heartbeat {age:.0f} s ago")
    beat_watcher(session, seeds_file, now)


def beat_watcher(session: Session, seeds_file: str, now: datetime) -> None:
    """The watcher's sign of life."""
    heartbeat = session.get(WatchHeartbeat, WATCHER) or WatchHeartbeat(name=WATCHER)
    heartbeat.host, heartbeat.pid, heartbeat.beat_at, heartbeat.seeds_file = socket.gethostname(), os.getpid(), now, seeds_file
    session.add(heartbeat)


def watcher_heartbeat(session: Session) -> WatchHeartbeat | None:
    """The watcher's last heartbeat, if a watcher ever ran on this database."""
    return session.get(WatchHeartbeat, WATCHER)


def group_state(session: Session, group: str) -> SeedGroupState | None:
    """A group's schedule state (None before its first run)."""
    return session.get(SeedGroupState, group)


def postpone(session: Session, group: str, until: datetime, now: datetime) -> None:
    """Make a group due again at `until` unless it is already due later (after a failed crawl)."""
    state = session.get(SeedGroupState, group) or SeedGroupState(seed_group=group)
    if state.next_run_at is None or state.next_run_at <= now:
        state.next_run_at = until
    session.add(state)


def earliest_due(session: Session) -> datetime | None:
    """When the first group is due next."""
    return session.scalar(select(func.min(SeedGroupState.next_run_at)))


@dataclass(frozen=True)
class GroupStatus:
    """One group's schedule as `hostpairs seeds status` shows it."""

    state: SeedGroupState
    running: CrawlRun | None


def group_statuses(session: Session, now: datetime) -> list[GroupStatus]:
    """Every group the database has a schedule for, by name."""
    return [GroupStatus(state, running_run(session, state.seed_group, now))
            for state in session.scalars(select(SeedGroupState).order_by(SeedGroupState.seed_group))]
