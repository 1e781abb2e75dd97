"""Pure schedule arithmetic for seed groups: no I/O, no clock reads, randomness injected.

A long-lived ``watch`` process keeps, per group, the next slot and the jittered time it runs
at. A group is due when that time has passed (or was never set); after its crawl,
``schedule_after_run`` gives the next slot and run time. It steps from the slot, not from when
the crawl finished nor from the jittered time, so slow crawls and jitter never make the
schedule drift; and if the process was down for several slots, it lands on the first slot after
``now``, so the missed slots cost exactly one catch-up run, never a burst.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from croniter import croniter

from hostpairs.seeds.groups import SeedGroup


def next_due(group: SeedGroup, after: datetime, rng: random.Random) -> datetime:
    """The next run time strictly after `after` (tz-aware UTC), plus the group's jitter.

    Interval groups: ``after + interval``; cron groups: the next firing after `after`, in UTC.
    The jitter is a whole number of seconds drawn uniformly from ``[0, jitter_seconds]``.
    """
    return _next_slot(group, after, anchor=after) + _jitter(group, rng)


def is_due(next_run_at: datetime | None, now: datetime) -> bool:
    """True when a group should run at `now`; a group never scheduled (None) is due."""
    return next_run_at is None or next_run_at <= now


@dataclass(frozen=True)
class NextRun:
    slot: datetime
    """The scheduled slot, without jitter: what the following run steps from."""
    run_at: datetime
    """The slot plus jitter: when the run is due."""


def schedule_after_run(group: SeedGroup, slot: datetime, now: datetime, rng: random.Random) -> NextRun:
    """The next run after a run of slot `slot`, computed at `now`.

    Normally the slot after `slot`; if that has already passed, the first slot after `now`
    (interval slots stay in step: ``slot + k * interval``). Jitter is added to the run time only.
    """
    next_slot = _next_slot(group, max(slot, now), anchor=slot)
    return NextRun(next_slot, next_slot + _jitter(group, rng))


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
