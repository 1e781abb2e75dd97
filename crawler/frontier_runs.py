"""A seed group's run through the distributed crawl's frontier.

Queued (`crawl --frontier --seeds`, `watch --frontier`): the run is recorded in the database as a
crawl on one machine records it, and in the frontier with the group's definition (schedule, page
budget, what its alerts allow), so that workers need no seed file. Finished by the worker that
stores its last visit: that worker closes the run and sets when the group is due next, as a crawl
on one machine does when it ends. While visits are pending, the workers storing them and the
watcher renew the run's sign of life; the run belongs to no process (host FRONTIER_HOST)."""

from __future__ import annotations

import random
import re
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from hostpairs.crawler.frontier import Frontier, Visit, new_run
from hostpairs.seeds.groups import SeedGroup
from hostpairs.seeds.schedule import schedule_after_run
from hostpairs.storage.schedules import FRONTIER_HOST, finish_run, renew_runs, run_slot, start_runs
from hostpairs.storage.times import aware, naive, utcnow

def group_definition(group: SeedGroup, crawl_run: int) -> dict[str, Any]:
    """What a worker needs of a seed group (not its URLs: those are the visits), and its run's id
    in the database."""
    return {"crawl_run": crawl_run, "interval_seconds": group.interval_seconds, "cron": group.cron,
            "jitter_seconds": group.jitter_seconds, "depth": group.depth, "max_pages": group.max_pages,
            "tags": sorted(group.tags), "allow_hosts": list(group.allow_hosts),
            "allow_patterns": [[pattern.pattern, pattern.flags] for pattern in group.allow_patterns],
            "inventory": group.inventory}


def group_from_definition(name: str, definition: dict[str, Any]) -> SeedGroup:
    """The seed group a definition describes (without its URLs)."""
    return SeedGroup(name=name, urls=(), interval_seconds=definition["interval_seconds"], cron=definition["cron"],
                     jitter_seconds=definition["jitter_seconds"], depth=definition["depth"],
                     max_pages=definition["max_pages"], tags=frozenset(definition["tags"]),
                     allow_hosts=tuple(definition["allow_hosts"]),
                     allow_patterns=tuple(re.compile(pattern, flags) for pattern, flags in definition["allow_patterns"]),
                     inventory=definition.get("inventory", False))


def queue_group_runs(frontier: Frontier, sessions: sessionmaker[Session], groups: list[SeedGroup],
                     due_at: datetime | None, options: dict[str, Any]) -> dict[str, int]:
    """Start a run of each group and queue its URLs (with `options`, the per-visit options that
    travel); returns how many visits each group's run queued."""
    with sessions.begin() as session:
        crawl_runs = start_runs(session, [group.name for group in groups], due_at, utcnow(), host=FRONTIER_HOST, pid=0)
    queued = {}
    for group in groups:
        run = new_run()
        frontier.start_group_run(run, group.name, group_definition(group, crawl_runs[group.name]))
        queued[group.name], _ = frontier.enqueue(
            Visit(url, run, group.name, 0, group.depth, group.max_pages, options) for url in group.urls)
    return queued


def renew_group_runs(sessions: sessionmaker[Session], crawl_runs: list[int]) -> None:
    """The runs' sign of life: their visits are being worked on."""
    with sessions.begin() as session:
        renew_runs(session, crawl_runs, utcnow())


def finish_group_run(frontier: Frontier, sessions: sessionmaker[Session], visit: Visit,
                     definition: dict[str, Any]) -> None:
    """`visit` was its group run's last: close the run and set when the group is due next."""
    pages, errors = frontier.finish_group_run(visit.run, visit.seed_group or "")
    group = group_from_definition(visit.seed_group or "", definition)
    now = utcnow()
    with sessions.begin() as session:
        crawl_run = definition["crawl_run"]
        next_run = schedule_after_run(group, aware(run_slot(session, crawl_run)), aware(now), random.Random())
        finish_run(session, crawl_run, pages, errors, now, naive(next_run.slot), naive(next_run.run_at))
