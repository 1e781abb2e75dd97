"""Scrapy extensions: seed-group run bookkeeping, alert delivery at the end of a crawl, and the
browser's periodic restart.

The first two do their database work on threads, never on the event loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import time
from datetime import datetime

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from sqlalchemy.exc import SQLAlchemyError

from hostpairs.crawler import signals as hostpairs_signals
from hostpairs.crawler.delivery import deliver_for
from hostpairs.crawler.memory import BROWSER_KINDS, tree_memory
from hostpairs.extractors.observations import PageCapture
from hostpairs.seeds.groups import SeedGroup
from hostpairs.seeds.schedule import schedule_after_run
from hostpairs.storage.db import error_reason, open_database, session_factory
from hostpairs.storage.schedules import finish_run, renew_runs, run_slot, start_runs
from hostpairs.storage.times import aware, naive, utcnow
from hostpairs.storage.writer import StoredVisit

logger = logging.getLogger(__name__)


class SeedGroupRuns:
    """Record each seed group's run and, once it finished, when the group is due next.

    A crawl that dies before it finishes leaves its group due, so the next `watch` tick or cron
    invocation runs it again: no crawl is lost, and a finished one is never repeated. A group
    one of whose visits the database refused stays due too. While it crawls, a run renews its
    `alive_at` every HOSTPAIRS_RUN_HEARTBEAT seconds, so a watcher on any machine can tell a
    running crawl from a dead one."""

    def __init__(self, crawler: Crawler):
        self.database_url = crawler.settings.get("HOSTPAIRS_DB")
        self.heartbeat_seconds = crawler.settings.getfloat("HOSTPAIRS_RUN_HEARTBEAT")
        self.groups: dict[str, SeedGroup] = {}
        self.run_ids: dict[str, int] = {}
        self.pages: dict[str, int] = {}
        self.errors: dict[str, int] = {}
        self.lost: set[str] = set()
        self.heartbeat: asyncio.Task[None] | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SeedGroupRuns:
        extension = cls(crawler)
        crawler.signals.connect(extension.seed_run_started, signal=hostpairs_signals.seed_run_started)
        crawler.signals.connect(extension.visit_stored, signal=hostpairs_signals.visit_stored)
        crawler.signals.connect(extension.visit_not_stored, signal=hostpairs_signals.visit_not_stored)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    async def seed_run_started(self, groups: dict[str, SeedGroup], due_at: datetime | None) -> None:
        self.groups = groups
        self.sessions = session_factory(await asyncio.to_thread(open_database, self.database_url))

        def start() -> dict[str, int]:
            with self.sessions.begin() as session:
                return start_runs(session, groups, due_at, utcnow())

        self.run_ids = await asyncio.to_thread(start)
        self.heartbeat = asyncio.ensure_future(self._beat_forever())

    async def _beat_forever(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_seconds)
            await asyncio.to_thread(self._beat)

    def _beat(self) -> None:
        """Renew the runs' sign of life (a database hiccup is logged; the next beat tries again)."""
        try:
            with self.sessions.begin() as session:
                renew_runs(session, self.run_ids.values(), utcnow())
        except SQLAlchemyError as exc:
            logger.warning("seed-group run heartbeat not stored: %s", error_reason(exc))

    def visit_stored(self, capture: PageCapture, stored: StoredVisit) -> None:
        if capture.seed_group:
            self.pages[capture.seed_group] = self.pages.get(capture.seed_group, 0) + 1
            self.errors[capture.seed_group] = self.errors.get(capture.seed_group, 0) + int(capture.failed)

    def visit_not_stored(self, capture: PageCapture, reason: str) -> None:
        if capture.seed_group:
            self.lost.add(capture.seed_group)

    async def spider_closed(self, spider: Spider, reason: str) -> None:
        if self.heartbeat is not None:
            self.heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.heartbeat
        if self.run_ids and reason == "finished":
            await asyncio.to_thread(self._finish)

    def _finish(self) -> None:
        now = utcnow()
        rng = random.Random()
        with self.sessions.begin() as session:
            for name, run_id in self.run_ids.items():
                if name in self.lost:
                    continue  # a visit was lost: the run stays unfinished and its group due, as after a crash
                next_run = schedule_after_run(self.groups[name], aware(run_slot(session, run_id)), aware(now), rng)
                finish_run(session, run_id, self.pages.get(name, 0), self.errors.get(name, 0), now,
                           naive(next_run.slot), naive(next_run.run_at))


class AlertDelivery:
    """Deliver the crawl's alerts when it closes, retrying for HOSTPAIRS_DELIVERY_GRACE seconds."""

    def __init__(self, crawler: Crawler):
        settings = crawler.settings
        if not (settings.get("HOSTPAIRS_ALERT_FILE") or settings.getlist("HOSTPAIRS_WEBHOOKS")):
            raise NotConfigured("no alert destinations")
        self.database_url = settings.get("HOSTPAIRS_DB")
        self.grace = settings.getfloat("HOSTPAIRS_DELIVERY_GRACE")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> AlertDelivery:
        extension = cls(crawler)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    async def spider_closed(self, spider: Spider) -> None:
        def deliver() -> None:
            deliver_for(session_factory(open_database(self.database_url)), self.grace)

        await asyncio.to_thread(deliver)


class BrowserRecycling:
    """Restart Chromium after every HOSTPAIRS_BROWSER_VISITS visits, or sooner once its processes
    hold more than HOSTPAIRS_BROWSER_MEMORY MB (browser mode; checked every MEMORY_CHECK_EVERY
    visits, off the event loop). A fresh context per visit frees the pages, not what Chromium's
    browser process and Playwright's driver keep across contexts (measured: +60% for the browser
    process over 270 visits): the engine is paused, the visits in flight finish, the browser is
    closed, and scrapy-playwright launches a new one for the next visit."""

    DRAIN_TIMEOUT = 300.0
    """Seconds to wait for the visits in flight; past it the browser is kept for now."""
    MEMORY_CHECK_EVERY = 5
    """Visits between two readings of the browser's memory."""

    def __init__(self, crawler: Crawler):
        settings = crawler.settings
        self.every = settings.getint("HOSTPAIRS_BROWSER_VISITS")
        self.memory_bound = settings.getint("HOSTPAIRS_BROWSER_MEMORY") * 2**20
        if self.every <= 0 and self.memory_bound <= 0 or settings.get("HOSTPAIRS_MODE") != "browser":
            raise NotConfigured("browser recycling is off")
        self.crawler = crawler
        self.visits = 0
        self.recycling: asyncio.Future[None] | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> BrowserRecycling:
        extension = cls(crawler)
        crawler.signals.connect(extension.visit_ended, signal=hostpairs_signals.visit_stored)
        crawler.signals.connect(extension.visit_ended, signal=hostpairs_signals.visit_not_stored)
        return extension

    def visit_ended(self, capture: PageCapture) -> None:
        self.visits += 1
        if self.recycling is not None:
            return
        if 0 < self.every <= self.visits:
            self.recycling = asyncio.ensure_future(self._recycle(f"after {self.visits} visits"))
        elif self.memory_bound > 0 and self.visits % self.MEMORY_CHECK_EVERY == 0:
            self.recycling = asyncio.ensure_future(self._check_memory())

    async def _check_memory(self) -> None:
        try:
            memory = await asyncio.to_thread(tree_memory, os.getpid())
            held = sum(memory[kind] for kind in BROWSER_KINDS)
            if held > self.memory_bound:
                await self._recycle(f"its processes hold {held / 2**20:,.0f} MB "
                                    f"(bound: {self.memory_bound / 2**20:,.0f} MB)")
        finally:
            self.recycling = None

    async def _recycle(self, why: str) -> None:
        engine = self.crawler.engine
        # Scrapy builds one scrapy-playwright handler per scheme, each with a browser of its own.
        handlers = {id(h): h for h in map(engine.downloader.handlers._get_handler, ("http", "https")) if h}.values()
        engine.pause()
        try:
            deadline = time.monotonic() + self.DRAIN_TIMEOUT
            while any(getattr(h, "context_wrappers", None) for h in handlers) and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            if any(getattr(h, "context_wrappers", None) for h in handlers):
                return
            for handler in handlers:
                if (browser := getattr(handler, "browser", None)) is None:
                    continue
                logger.info("restarting the browser: %s", why)
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(browser.close(), 30)
                while hasattr(handler, "browser") and time.monotonic() < deadline:
                    await asyncio.sleep(0.05)  # scrapy-playwright forgets it once it reports the disconnect
            self.visits = 0
        finally:
            engine.unpause()
            self.recycling = None
