"""`hostpairs watch`: run seed groups on their schedules, as a long-lived process.

Each due group is crawled by a child `hostpairs crawl --seeds FILE --group NAME` process, so a
hostile page that crashes a crawl never takes the watcher down. Schedule state lives in the
database: the crawl itself records when its group is due next once it has finished, so a
watcher restarted at any moment neither skips nor repeats a crawl.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from hostpairs.crawler.delivery import deliver_due
from hostpairs.seeds.groups import SeedFileError, SeedGroup
from hostpairs.seeds.schedule import is_due
from hostpairs.seeds.validation import load_seed_groups
from hostpairs.storage.db import error_reason
from hostpairs.storage.models import CrawlRun, SeedGroupState, WatchHeartbeat
from hostpairs.storage.times import aware, utcnow

RETRY_FAILED_CRAWL = timedelta(minutes=1)
SILENT_FOR = timedelta(minutes=2)
"""A run or watcher with no sign of life for this long is dead (runs beat every HOSTPAIRS_RUN_HEARTBEAT
seconds, a watcher every tick, at most a minute, and every BEAT_DURING_CRAWL seconds while it crawls)."""
BEAT_DURING_CRAWL = 10.0


class WatcherRunning(RuntimeError):
    """Another watcher is alive on the same database."""


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def alive(host: str, pid: int, last_sign: datetime) -> bool:
    """A process that gave a sign of life lately and, when it runs on this machine, still exists
    (a crash is seen at once, a reused pid is not believed for long)."""
    return last_sign >= utcnow() - SILENT_FOR and (host != socket.gethostname() or pid_alive(pid))


def running_run(session: Session, group: str) -> CrawlRun | None:
    """An unfinished run of `group` that is still alive."""
    for run in session.scalars(select(CrawlRun).where(CrawlRun.seed_group == group, CrawlRun.finished_at.is_(None))):
        if alive(run.host, run.pid, run.alive_at):
            return run
    return None


@dataclass
class Watcher:
    seeds_file: Path
    sessions: sessionmaker[Session]
    crawl_args: list[str]
    tick: float = 30.0
    log: Callable[[str], None] = print

    def claim(self) -> None:
        """Become the database's watcher, refusing to run beside another live one (two watchers
        would crawl each due group twice)."""
        with self.sessions.begin() as session:
            other = session.get(WatchHeartbeat, "watch", with_for_update=True)
            if other and other.pid != os.getpid() and alive(other.host, other.pid, other.beat_at):
                age = (utcnow() - other.beat_at).total_seconds()
                raise WatcherRunning(f"another watcher runs on this database: pid {other.pid} on {other.host}, "
                                     f"last heartbeat {age:.0f} s ago")
        self.beat()

    def beat(self) -> None:
        with self.sessions.begin() as session:
            heartbeat = session.get(WatchHeartbeat, "watch") or WatchHeartbeat(name="watch")
            heartbeat.host, heartbeat.pid = socket.gethostname(), os.getpid()
            heartbeat.beat_at, heartbeat.seeds_file = utcnow(), str(self.seeds_file)
            session.add(heartbeat)

    def due_groups(self, groups: list[SeedGroup]) -> list[tuple[SeedGroup, datetime]]:
        """Groups due now, each with the slot it is due for."""
        now = utcnow()
        due = []
        with self.sessions() as session:
            for group in groups:
                state = session.get(SeedGroupState, group.name)
                next_run_at = state.next_run_at if state else None
                if is_due(next_run_at and aware(next_run_at), aware(now)) and not running_run(session, group.name):
                    due.append((group, (state.next_slot_at if state else None) or now))
        return due

    def run_group(self, group: SeedGroup, slot: datetime) -> None:
        self.log(f"crawling seed group {group.name} (slot {slot:%Y-%m-%d %H:%M:%S})")
        command = [sys.executable, "-m", "hostpairs", "crawl", "--seeds", str(self.seeds_file),
                   "--group", group.name, "--due", slot.isoformat(), *self.crawl_args]
        crawl = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        while True:
            try:
                stdout, stderr = crawl.communicate(timeout=BEAT_DURING_CRAWL)
                break
            except subprocess.TimeoutExpired:
                try:
                    self.beat()  # still alive while the crawl runs
                except SQLAlchemyError:
                    pass  # the crawl itself reports what the database does
        summary = (stdout.strip().splitlines() or [""])[0]
        if crawl.returncode == 0:
            self.log(f"seed group {group.name}: {summary}")
            return
        reason = (stderr.strip().splitlines() or ["no output"])[-1]
        self.log(f"seed group {group.name}: crawl failed ({reason}); retrying in {RETRY_FAILED_CRAWL}")
        with self.sessions.begin() as session:
            state = session.get(SeedGroupState, group.name) or SeedGroupState(seed_group=group.name)
            if state.next_run_at is None or state.next_run_at <= utcnow():
                state.next_run_at = utcnow() + RETRY_FAILED_CRAWL
            session.add(state)

    def next_wake(self) -> float:
        with self.sessions() as session:
            upcoming = session.scalars(select(SeedGroupState.next_run_at).where(SeedGroupState.next_run_at.is_not(None))).all()
        if not upcoming:
            return self.tick
        return max(0.5, min(self.tick, (min(upcoming) - utcnow()).total_seconds()))

    def run_once(self, groups: list[SeedGroup]) -> float:
        """One pass: heartbeat, due crawls, alert delivery; returns the seconds to wait before the
        next pass. A database outage is logged and waited out, never fatal to the watcher."""
        try:
            self.beat()
            for group, slot in self.due_groups(groups):
                self.run_group(group, slot)
                self.beat()
            deliver_due(self.sessions)
            return self.next_wake()
        except SQLAlchemyError as exc:
            self.log(f"database unavailable, trying again in {self.tick:g} s: {error_reason(exc)}")
            return self.tick

    def run_forever(self) -> None:
        groups: list[SeedGroup] = []
        while True:
            try:
                groups = load_seed_groups(self.seeds_file)
            except SeedFileError as exc:
                self.log(f"seed file not reloaded, keeping the last good one: {exc}")
            time.sleep(self.run_once(groups))
