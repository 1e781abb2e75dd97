"""The distributed crawl's frontier: visits in a Redis stream, leased to workers by a consumer group.

Why a stream and not a list popped by workers (scrapy-redis's queue): a popped URL is gone, so a
worker killed mid-visit loses it. A stream entry read by a consumer group stays pending, leased to
that worker, until it acknowledges the stored visit; a worker renews the lease of every visit it
holds, and takes over entries whose lease has run out (`XAUTOCLAIM`): a dead worker's visits are
visited by another. Redis is the engine; this module only names the keys and the calls.

Keys (under `hostpairs:`):
- `visits`: the stream; an entry is one visit — url, seed group, depth, run, per-visit options.
- `run:<run>:seen`: the (group, URL) pairs a run has queued: a run visits a page once, a new run
  (a scheduled re-crawl) visits it again. `run:<run>:followed:<group>`: pages the run queued from
  links, against the budget (`max_pages`). Both expire a week after the run's last page.
- `run:<run>:pending:<group>`: the run's visits of the group queued and not yet stored;
  `run:<run>:tally:<group>`: pages and errors stored. A seed group's run is finished when its
  pending count drops to 0 (a visit's links are queued before the visit is stored, so it never
  drops to 0 early).
- `group-runs`: each seed group's run in flight (group → run); `run:<run>:group:<group>`: the
  group's definition as the workers need it (crawler/frontier_runs.py).
- `done`, `failed`: visits stored (failed ones included) and visits stored as failed, all runs.
- `completions`: when the last visits were stored (pages per minute); `workers`: each worker's
  last sign of life.

Every call goes through `_retrying`: while Redis is unreachable a worker waits and tries again
(logging once), so an outage pauses the crawl and loses nothing."""

from __future__ import annotations

import json
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar

import redis

logger = logging.getLogger(__name__)

PREFIX = "hostpairs:"
STREAM = PREFIX + "visits"
GROUP = "workers"
RUN_KEYS_TTL = 7 * 86400
"""Seconds a run's deduplication keys outlive its last queued page."""
WORKER_ALIVE = 30.0
"""Seconds after its last sign of life a worker counts as alive."""

TRAVELLING = ("HOSTPAIRS_DWELL", "HOSTPAIRS_LOAD_WAIT", "HOSTPAIRS_PAGE_TIME")
"""The crawl settings queued with each visit (per-visit options): a worker uses them unless its
own command gives them."""

T = TypeVar("T")


def travelling(settings: dict[str, Any]) -> dict[str, Any]:
    """The per-visit options of a crawl's settings (CrawlOptions.settings()) that travel with its visits."""
    return {name: settings[name] for name in TRAVELLING}

# Queue one visit unless its run has it already (or, found by a link, its group's budget is spent):
# KEYS: stream, the run's seen set, the run's followed counter of the group, its pending counter.
# ARGV: member (group\turl), max followed pages (-1: a target, not counted), expiry, then fields.
_ENQUEUE = """
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1 then return 0 end
local budget = tonumber(ARGV[2])
if budget >= 0 then
  if tonumber(redis.call('GET', KEYS[3]) or '0') >= budget then return -1 end
  redis.call('INCR', KEYS[3])
  redis.call('EXPIRE', KEYS[3], ARGV[3])
end
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[3])
redis.call('INCR', KEYS[4])
redis.call('EXPIRE', KEYS[4], ARGV[3])
redis.call('XADD', KEYS[1], '*', unpack(ARGV, 4))
return 1
"""

# A visit is stored: end its lease, count it; returns the visits of its run and group still
# pending, or -1 if the entry was no longer leased (another worker took it over and stored it).
# KEYS: stream, pending counter, tally, done, failed, completions.
# ARGV: group, entry, failed (0/1), now, expiry.
_DONE = """
if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then return -1 end
redis.call('XDEL', KEYS[1], ARGV[2])
redis.call('INCR', KEYS[4])
redis.call('HINCRBY', KEYS[3], 'pages', 1)
if ARGV[3] == '1' then
  redis.call('INCR', KEYS[5])
  redis.call('HINCRBY', KEYS[3], 'errors', 1)
end
redis.call('EXPIRE', KEYS[3], ARGV[5])
redis.call('ZADD', KEYS[6], ARGV[4], ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[6], 0, tonumber(ARGV[4]) - 600)
return redis.call('DECR', KEYS[2])
"""

# A seed group's run is over: forget it as the group's run in flight, unless a newer run is.
# KEYS: group-runs. ARGV: group, run.
_FINISH_GROUP_RUN = """
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then redis.call('HDEL', KEYS[1], ARGV[1]) end
return 1
"""


@dataclass(frozen=True)
class Visit:
    """One visit in the frontier."""

    url: str
    run: str
    seed_group: str | None = None
    depth: int = 0
    max_depth: int = 0
    """How deep the run follows links from its targets."""
    max_pages: int = 100
    """Pages the run may queue from links, per seed group."""
    options: dict[str, Any] = field(default_factory=dict)
    """Per-visit crawl options given when queueing (dwell, load_wait, visit_timeout)."""
    entry: str | None = None
    """The stream entry's id, once read from the frontier."""
    deliveries: int = 1
    """How many times the entry has been leased (more than once: its earlier workers never stored it)."""

    def fields(self) -> list[str]:
        """The stream entry's fields, flattened."""
        values = asdict(self)
        values.pop("entry")
        values.pop("deliveries")
        return [part for name, value in values.items() for part in (name, json.dumps(value))]

    @classmethod
    def from_entry(cls, entry: str, fields: dict[str, str], deliveries: int = 1) -> Visit:
        return cls(**{name: json.loads(value) for name, value in fields.items()}, entry=entry, deliveries=deliveries)

    def key(self, name: str) -> str:
        """The key of one of its run's per-group figures (`pending`, `tally`, `followed`, `group`)."""
        return f"{PREFIX}run:{self.run}:{name}:{self.seed_group or ''}"


@dataclass(frozen=True)
class Status:
    """The frontier at a glance."""

    queued: int
    leased: int
    done: int
    failed: int
    workers_alive: int
    pages_per_minute: int


def new_run() -> str:
    """A run's id: deduplication is per run."""
    return uuid.uuid4().hex[:12]


class Frontier:
    """A crawl's frontier on the Redis at `url` (`redis://HOST:PORT/DB`)."""

    def __init__(self, url: str, lease: float = 60.0):
        try:
            self.redis = redis.Redis.from_url(url, decode_responses=True, socket_connect_timeout=5, socket_timeout=10)
        except ValueError as exc:
            raise ValueError(f"invalid frontier URL {url!r}: {exc}") from None
        self.url = url
        self.lease_ms = int(lease * 1000)
        self._enqueue = self.redis.register_script(_ENQUEUE)
        self._done = self.redis.register_script(_DONE)
        self._finish_group_run = self.redis.register_script(_FINISH_GROUP_RUN)
        self._group_ready = False

    def check(self) -> None:
        """Raise redis.RedisError (one-line message) if the frontier cannot be reached now."""
        self.redis.ping()

    def _retrying(self, call: Callable[[], T]) -> T:
        """`call()`, waited out while Redis is unreachable (back-off up to 5 s)."""
        delay, warned = 0.2, False
        while True:
            try:
                if not self._group_ready:
                    self._create_group()
                return call()
            except (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError) as exc:
                if not warned:
                    logger.warning("frontier %s unreachable (%s): waiting", self.url, exc)
                    warned = True
                time.sleep(delay)
                delay = min(delay * 2, 5.0)

    def _create_group(self) -> None:
        try:
            self.redis.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._group_ready = True

    def enqueue(self, visits: Iterable[Visit], followed: bool = False) -> tuple[int, int]:
        """Queue visits their run does not have yet; returns (queued, left out by the budget).
        `followed`: pages found by following links, counted against their group's max_pages."""
        queued = left_out = 0
        for visit in visits:
            keys = [STREAM, f"{PREFIX}run:{visit.run}:seen", visit.key("followed"), visit.key("pending")]
            args = [f"{visit.seed_group or ''}\t{visit.url}", visit.max_pages if followed else -1, RUN_KEYS_TTL,
                    *visit.fields()]
            result = self._retrying(lambda: self._enqueue(keys=keys, args=args))
            queued += result == 1
            left_out += result == -1
        return queued, left_out

    def take(self, worker: str, count: int = 1) -> list[Visit]:
        """Up to `count` visits leased to `worker`: first any whose lease ran out (their worker is
        gone), then new ones."""
        def read() -> list[Visit]:
            _, claimed, _ = self.redis.xautoclaim(STREAM, GROUP, worker, self.lease_ms, "0-0", count=count)
            visits = [Visit.from_entry(entry, fields, self._deliveries(entry)) for entry, fields in claimed if fields]
            if len(visits) < count:
                for _, fresh in self.redis.xreadgroup(GROUP, worker, {STREAM: ">"}, count=count - len(visits)) or []:
                    visits.extend(Visit.from_entry(entry, fields) for entry, fields in fresh)
            return visits

        return self._retrying(read)

    def renew(self, worker: str, entries: list[str]) -> None:
        """Renew `worker`'s leases of `entries` (they are still being visited) and its sign of life."""
        def renew() -> None:
            if entries:
                self.redis.xclaim(STREAM, GROUP, worker, 0, entries, justid=True)
            self.redis.hset(PREFIX + "workers", worker, time.time())

        self._retrying(renew)

    def _deliveries(self, entry: str) -> int:
        """How many times `entry` has been leased."""
        pending = self.redis.xpending_range(STREAM, GROUP, min=entry, max=entry, count=1)
        return int(pending[0]["times_delivered"]) if pending else 1

    def done(self, visit: Visit, failed: bool) -> int:
        """`visit` is stored: its lease ends, the entry leaves the stream, it is counted. Returns how
        many visits of its run and seed group are still pending (0: the last one; -1: another
        worker had taken it over and stored it already)."""
        keys = [STREAM, visit.key("pending"), visit.key("tally"), PREFIX + "done", PREFIX + "failed",
                PREFIX + "completions"]
        args = [GROUP, visit.entry, int(failed), time.time(), RUN_KEYS_TTL]
        return int(self._retrying(lambda: self._done(keys=keys, args=args)))

    def start_group_run(self, run: str, group: str, definition: dict[str, Any]) -> None:
        """Record a seed group's run in flight, with the group's definition for the workers (before
        its visits are queued)."""
        def start() -> None:
            with self.redis.pipeline() as pipe:
                pipe.set(Visit("", run, group).key("group"), json.dumps(definition), ex=RUN_KEYS_TTL)
                pipe.hset(PREFIX + "group-runs", group, run)
                pipe.execute()

        self._retrying(start)

    def group_definition(self, run: str, group: str) -> dict[str, Any] | None:
        """The definition a seed group's run was queued with (None: not a seed group's run)."""
        definition = self._retrying(lambda: self.redis.get(Visit("", run, group).key("group")))
        return json.loads(definition) if definition else None

    def group_runs(self) -> dict[str, str]:
        """The seed groups whose runs are in flight, with their runs."""
        return self._retrying(lambda: self.redis.hgetall(PREFIX + "group-runs"))

    def finish_group_run(self, run: str, group: str) -> tuple[int, int]:
        """A seed group's run has no visit pending: it is no longer in flight. Returns the pages and
        errors it stored."""
        def finish() -> tuple[int, int]:
            tally = self.redis.hgetall(Visit("", run, group).key("tally"))
            self._finish_group_run(keys=[PREFIX + "group-runs"], args=[group, run])
            return int(tally.get("pages", 0)), int(tally.get("errors", 0))

        return self._retrying(finish)

    def status(self) -> Status:
        """Queued, leased, done, failed, workers alive, pages stored in the last minute."""
        def status() -> Status:
            now = time.time()
            length = self.redis.xlen(STREAM)
            leased = self.redis.xpending(STREAM, GROUP)["pending"]
            seen = self.redis.hgetall(PREFIX + "workers")
            return Status(queued=length - leased, leased=leased, done=int(self.redis.get(PREFIX + "done") or 0),
                          failed=int(self.redis.get(PREFIX + "failed") or 0),
                          workers_alive=sum(now - float(t) < WORKER_ALIVE for t in seen.values()),
                          pages_per_minute=self.redis.zcount(PREFIX + "completions", now - 60, now))

        return self._retrying(status)

    def close(self) -> None:
        self.redis.close()


def worker_name() -> str:
    """This worker's consumer name: its machine and process, unique across workers."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
