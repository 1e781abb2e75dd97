"""Pure schedule arithmetic for seed groups: no I/O, no clock reads, randomness injected.

A long-lived ``watch`` process keeps one ``next_run_at`` per group. A group is due when that
time has passed (or was never set); after its crawl, ``schedule_after_run`` gives the new
``next_run_at``. It steps from the due time, not from when the crawl finished, so slow crawls
do not push the schedule back; and if the process was down for several slots, it lands on the
first slot after ``now``, so the missed slots cost exactly one catch-up run, never a burst.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

from croniter import croniter

from seeds.groups import SeedGroup


def next_due(group: SeedGroup, after: datetime, rng: random.Random) -> datetime:
    """The next run time strictly after `after` (tz-aware UTC), plus the group's jitter.

    Interval groups: ``after + interval``; cron groups: the next firing after `after`, in UTC.
    The jitter is a whole number of seconds drawn uniformly from ``[0, jitter_seconds]``.
    """
    return _next_slot(group, after, anchor=after) + _jitter(group, rng)


def is_due(next_run_at: datetime | None, now: datetime) -> bool:
    """True when a group should run at `now`; a group never scheduled (None) is due."""
    return next_run_at is None or next_run_at <= now


def schedule_after_run(group: SeedGroup, due_at: datetime, now: datetime, rng: random.Random) -> datetime:
    """The next due time after a run that was due at `due_at`, computed at `now`.

    Normally the slot after `due_at`; if that has already passed, the first slot after `now`
    (interval slots stay in step with `due_at`: ``due_at + k * interval``). Then jitter is added.
    """
    return _next_slot(group, max(due_at, now), anchor=due_at) + _jitter(group, rng)


def _next_slot(group: SeedGroup, after: datetime, anchor: datetime) -> datetime:
    """The first slot strictly after `after`; interval slots are ``anchor + k * interval``, k >= 1."""
    if after.tzinfo is None or anchor.tzinfo is None:
        raise ValueError("schedule times must be timezone-aware (UTC)")
    if group.interval_seconds is not None:
        interval = timedelta(seconds=group.interval_seconds)
        steps = max((after - anchor) // interval, 0) + 1
        return anchor + steps * interval
    assert group.cron is not None  # a SeedGroup has exactly one of interval and cron
    return croniter(group.cron, after.astimezone(timezone.utc)).get_next(datetime)


def _jitter(group: SeedGroup, rng: random.Random) -> timedelta:
    return timedelta(seconds=rng.randint(0, group.jitter_seconds))
