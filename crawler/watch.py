"""`hostpairs watch`: run seed groups on their schedules, as a long-lived process.

Each due group is crawled by a child `hostpairs crawl --seeds FILE --group NAME` process, so a
hostile page that crashes a crawl never takes the watcher down. Schedule state lives in the
database (storage/schedules.py): the crawl itself records when its group is due next once it has
finished, so a watcher restarted at any moment neither skips nor repeats a crawl.

With a frontier (`watch --frontier`) the watcher crawls nothing itself: it queues each due group's
run for the workers (crawler/frontier_runs.py) and queues it again only once the worker storing
its last visit has finished it; meanwhile it keeps the runs in flight alive.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from hostpairs.crawler.delivery import deliver_due
from hostpairs.crawler.frontier import Frontier, travelling
from hostpairs.crawler.frontier_runs import queue_group_runs, renew_group_runs
from hostpairs.crawler.options import CrawlOptions
from hostpairs.seeds.groups import SeedFileError, SeedGroup
from hostpairs.seeds.schedule import is_due
from hostpairs.seeds.validation import load_seed_groups
from hostpairs.storage.db import error_reason
from hostpairs.storage.schedules import (
    beat_watcher,
    claim_watcher,
    earliest_due,
    group_state,
    postpone,
    running_run,
)
from hostpairs.storage.times import aware, utcnow

RETRY_FAILED_CRAWL = timedelta(minutes=1)
BEAT_DURING_CRAWL = 10.0
"""Seconds between the watcher's heartbeats while a crawl runs."""


@dataclass
class Watcher:
    seeds_file: Path
    sessions: sessionmaker[Session]
    options: CrawlOptions
    tick: float = 30.0
    log: Callable[[str], None] = print
    jobs: Path | None = None
    """With `watch --job DIR`: each group's run is a crawl job in DIR, resumed if the run was killed."""
    frontier: Frontier | None = None
    """With `watch --frontier`: due groups are queued there for the workers."""

    def claim(self) -> None:
        """Become the database's watcher; raises WatcherRunning while another one is alive."""
        with self.sessions.begin() as session:
            claim_watcher(session, str(self.seeds_file), utcnow())

    def beat(self) -> None:
        with self.sessions.begin() as session:
            beat_watcher(session, str(self.seeds_file), utcnow())

    def due_groups(self, groups: list[SeedGroup]) -> list[tuple[SeedGroup, datetime]]:
        """Groups due now, each with the slot it is due for (not those whose run is in the frontier)."""
        now = utcnow()
        due = []
        in_flight = self.frontier.group_runs() if self.frontier else {}
        with self.sessions() as session:
            for group in groups:
                if group.name in in_flight:
                    continue
                state = group_state(session, group.name)
                next_run_at = state.next_run_at if state else None
                if is_due(next_run_at and aware(next_run_at), aware(now)) and not running_run(session, group.name, now):
                    due.append((group, (state.next_slot_at if state else None) or now))
        return due

    def queue_group(self, group: SeedGroup, slot: datetime) -> None:
        """Queue the group's run in the frontier for the workers."""
        assert self.frontier is not None
        queued = queue_group_runs(self.frontier, self.sessions, [group], slot, travelling(self.options.settings()))[group.name]
        self.log(f"seed group {group.name}: queued {queued} visits on {self.frontier.url} "
                 f"(slot {slot:%Y-%m-%d %H:%M:%S})")

    def keep_alive(self) -> None:
        """Renew the sign of life of the group runs in the frontier (while workers have not yet
        stored any of their visits, nobody else does)."""
        if self.frontier is None:
            return
        definitions = [self.frontier.group_definition(run, group) for group, run in self.frontier.group_runs().items()]
        renew_group_runs(self.sessions, [d["crawl_run"] for d in definitions if d])

    def run_group(self, group: SeedGroup, slot: datetime) -> None:
        if self.frontier is not None:
            self.queue_group(group, slot)
            return
        self.log(f"crawling seed group {group.name} (slot {slot:%Y-%m-%d %H:%M:%S})")
        command = [sys.executable, "-m", "hostpairs", "crawl", "--seeds", str(self.seeds_file),
                   "--group", group.name, "--due", slot.isoformat(), *self.options.arguments()]
        group_jobs = self.jobs / _directory_name(group.name) if self.jobs else None
        if group_jobs:
            command += ["--job", str(group_jobs / f"{slot:%Y%m%dT%H%M%S}")]
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
            if group_jobs:
                shutil.rmtree(group_jobs, ignore_errors=True)  # its slot is done (and any older one)
            return
        reason = (stderr.strip().splitlines() or ["no output"])[-1]
        self.log(f"seed group {group.name}: crawl failed ({reason}); retrying in {RETRY_FAILED_CRAWL}")
        with self.sessions.begin() as session:
            postpone(session, group.name, utcnow() + RETRY_FAILED_CRAWL, utcnow())

    def next_wake(self) -> float:
        with self.sessions() as session:
            upcoming = earliest_due(session)
        if upcoming is None:
            return self.tick
        return max(0.5, min(self.tick, (upcoming - utcnow()).total_seconds()))

    def run_once(self, groups: list[SeedGroup]) -> float:
        """One pass: heartbeat, due crawls, alert delivery; returns the seconds to wait before the
        next pass. A database outage is logged and waited out, never fatal to the watcher."""
        try:
            self.beat()
            self.keep_alive()
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


def _directory_name(group: str) -> str:
    """A file name for a seed group's jobs (its name may hold any character)."""
    return f"{re.sub(r'[^A-Za-z0-9_.-]', '_', group)[:64]}-{hashlib.sha256(group.encode()).hexdigest()[:8]}"
