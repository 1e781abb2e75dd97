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

T = TypeVar("T")

# Queue one visit unless its run has it already (or, found by a link, its group's budget is spent):
# KEYS: stream, the run's seen set, the run's followed counter of the group.
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
redis.call('XADD', KEYS[1], '*', unpack(ARGV, 4))
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

    def fields(self) -> list[str]:
        """The stream entry's fields, flattened."""
        values = asdict(self)
        values.pop("entry")
        return [part for name, value in values.items() for part in (name, json.dumps(value))]

    @classmethod
    def from_entry(cls, entry: str, fields: dict[str, str]) -> Visit:
        return cls(**{name: json.loads(value) for name, value in fields.items()}, entry=entry)


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
            keys = [STREAM, f"{PREFIX}run:{visit.run}:seen", f"{PREFIX}run:{visit.run}:followed:{visit.seed_group or ''}"]
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
            entries = [(entry, fields) for entry, fields in claimed if fields]
            if len(entries) < count:
                for _, fresh in self.redis.xreadgroup(GROUP, worker, {STREAM: ">"}, count=count - len(entries)) or []:
                    entries.extend(fresh)
            return [Visit.from_entry(entry, fields) for entry, fields in entries]

        return self._retrying(read)

    def renew(self, worker: str, entries: list[str]) -> None:
        """Renew `worker`'s leases of `entries` (they are still being visited) and its sign of life."""
        def renew() -> None:
            if entries:
                self.redis.xclaim(STREAM, GROUP, worker, 0, entries, justid=True)
            self.redis.hset(PREFIX + "workers", worker, time.time())

        self._retrying(renew)

    def done(self, entry: str, failed: bool) -> None:
        """The visit of `entry` is stored: its lease ends and the entry leaves the stream."""
        def done() -> None:
            now = time.time()
            with self.redis.pipeline() as pipe:
                pipe.xack(STREAM, GROUP, entry)
                pipe.xdel(STREAM, entry)
                pipe.incr(PREFIX + "done")
                if failed:
                    pipe.incr(PREFIX + "failed")
                pipe.zadd(PREFIX + "completions", {entry: now})
                pipe.zremrangebyscore(PREFIX + "completions", 0, now - 600)
                pipe.execute()

        self._retrying(done)

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
