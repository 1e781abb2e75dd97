"""Item pipelines."""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from hostpairs.crawler import signals
from hostpairs.crawler.delivery import destinations
from hostpairs.crawler.recording import AlertPolicy, record_visit
from hostpairs.extractors.changes import PageWatch
from hostpairs.extractors.observations import PageCapture
from hostpairs.seeds.groups import SeedGroup
from hostpairs.storage.db import error_reason, open_database, session_factory

logger = logging.getLogger(__name__)


class DatabaseUnavailable(RuntimeError):
    """The database stayed unavailable for the whole retry window (one-line message)."""


class StoragePipeline:
    """Record each visit (extraction, change detection, one write transaction) on a writer
    thread, so the event loop — every open page's DevTools events — never waits for the
    database; then send `visit_stored`, or `visit_not_stored` and drop the item when the database
    refuses it (the crawl goes on).

    A database that is unavailable (gone, locked, disk full: an OperationalError) is tried again
    with back-off for HOSTPAIRS_DB_RETRY seconds; if it is still unavailable then, the visit is
    not stored and the crawl is closed with reason `database_unavailable` (what is in flight is
    reported as not stored too: nothing is half-written, seed groups stay due)."""

    close_reason = "database_unavailable"

    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        settings = crawler.settings
        self.database_url = settings.get("HOSTPAIRS_DB")
        self.baseline_visits = settings.getint("HOSTPAIRS_BASELINE_VISITS")
        self.fingerprints = settings.get("HOSTPAIRS_FINGERPRINTS")
        self.capture_bytes = settings.getint("HOSTPAIRS_CAPTURE_BYTES") if settings.getbool("HOSTPAIRS_KEEP_CAPTURES") else None
        self.destinations = destinations(settings.get("HOSTPAIRS_ALERT_FILE"), settings.getlist("HOSTPAIRS_WEBHOOKS"))
        self.retry_for = settings.getfloat("HOSTPAIRS_DB_RETRY")
        self.processors = tuple(settings.getlist("HOSTPAIRS_PAYMENT_PROCESSORS"))
        self.unavailable: str | None = None
        self.watches: dict[str, PageWatch] = {}
        self.writer = ThreadPoolExecutor(1, thread_name_prefix="hostpairs-writer")
        crawler.signals.connect(self.seed_groups_known, signal=signals.seed_groups_known)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StoragePipeline:
        return cls(crawler)

    def seed_groups_known(self, groups: dict[str, SeedGroup]) -> None:
        self.watches.update({name: PageWatch(group.tags, group.is_allowlisted, group.inventoried)
                             for name, group in groups.items()})

    async def open_spider(self) -> None:
        engine = await asyncio.get_running_loop().run_in_executor(self.writer, open_database, self.database_url)
        self.sessions = session_factory(engine)

    async def close_spider(self) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.writer.shutdown)

    async def process_item(self, item: object) -> object:
        if not isinstance(item, PageCapture):
            return item
        watch = self.watches.get(item.seed_group or "", PageWatch())
        policy = AlertPolicy(watch, item.seed_group, self.baseline_visits, self.destinations, self.processors)
        try:
            stored = await self._record(item, policy)
        except (SQLAlchemyError, DatabaseUnavailable) as exc:
            reason = error_reason(exc) if isinstance(exc, SQLAlchemyError) else str(exc)
            logger.error("visit of %s not stored: %s", item.requested_url, reason)
            self.crawler.stats.inc_value("hostpairs/unstored")
            self.crawler.signals.send_catch_log(signal=signals.visit_not_stored, capture=item, reason=reason)
            raise DropItem(reason) from None
        stats = self.crawler.stats
        stats.inc_value("hostpairs/pages")
        stats.inc_value("hostpairs/errors", int(item.failed))
        stats.inc_value("hostpairs/pairs_new", stored.new_pairs)
        stats.inc_value("hostpairs/pairs_seen", stored.seen_pairs)
        stats.inc_value("hostpairs/alerts", stored.alerts)
        self.crawler.signals.send_catch_log(signal=signals.visit_stored, capture=item, stored=stored)
        return item

    async def _record(self, item: PageCapture, policy: AlertPolicy):  # noqa: ANN202 (StoredVisit)
        """record_visit on the writer thread, tried again while the database is unavailable."""
        if self.unavailable is not None:
            raise DatabaseUnavailable(self.unavailable)
        deadline, pause = time.monotonic() + self.retry_for, 1.0
        while True:
            try:
                return await asyncio.get_running_loop().run_in_executor(
                    self.writer, record_visit, self.sessions, item, policy, self.fingerprints, self.capture_bytes)
            except OperationalError as exc:
                if time.monotonic() + pause > deadline:
                    self.unavailable = f"database unavailable for {self.retry_for:g} s: {error_reason(exc)}"
                    logger.warning("%s; closing the crawl", self.unavailable)
                    asyncio.ensure_future(self.crawler.engine.close_spider_async(reason=self.close_reason))
                    raise DatabaseUnavailable(self.unavailable) from None
                logger.warning("database unavailable (%s); trying again in %g s", error_reason(exc), pause)
                await asyncio.sleep(pause)
                pause = min(pause * 2, 10.0)
