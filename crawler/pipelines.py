"""Item pipelines."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from sqlalchemy.exc import SQLAlchemyError

from hostpairs.crawler import signals
from hostpairs.crawler.delivery import destinations
from hostpairs.crawler.recording import AlertPolicy, record_visit
from hostpairs.extractors.changes import PageWatch
from hostpairs.extractors.observations import PageCapture
from hostpairs.seeds.groups import SeedGroup
from hostpairs.storage.db import error_reason, open_database, session_factory

logger = logging.getLogger(__name__)


class StoragePipeline:
    """Record each visit (extraction, change detection, one write transaction) on a writer
    thread, so the event loop — every open page's DevTools events — never waits for the
    database; then send `visit_stored`, or `visit_not_stored` and drop the item when the database
    refuses it (the crawl goes on)."""

    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        settings = crawler.settings
        self.database_url = settings.get("HOSTPAIRS_DB")
        self.baseline_visits = settings.getint("HOSTPAIRS_BASELINE_VISITS")
        self.fingerprints = settings.get("HOSTPAIRS_FINGERPRINTS")
        self.destinations = destinations(settings.get("HOSTPAIRS_ALERT_FILE"), settings.getlist("HOSTPAIRS_WEBHOOKS"))
        self.watches: dict[str, PageWatch] = {}
        self.writer = ThreadPoolExecutor(1, thread_name_prefix="hostpairs-writer")
        crawler.signals.connect(self.seed_run_started, signal=signals.seed_run_started)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StoragePipeline:
        return cls(crawler)

    def seed_run_started(self, groups: dict[str, SeedGroup], due_at: datetime | None) -> None:
        self.watches = {name: PageWatch(group.tags, group.is_allowlisted) for name, group in groups.items()}

    async def open_spider(self) -> None:
        engine = await asyncio.get_running_loop().run_in_executor(self.writer, open_database, self.database_url)
        self.sessions = session_factory(engine)

    async def close_spider(self) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.writer.shutdown)

    async def process_item(self, item: object) -> object:
        if not isinstance(item, PageCapture):
            return item
        watch = self.watches.get(item.seed_group or "", PageWatch())
        policy = AlertPolicy(watch, item.seed_group, self.baseline_visits, self.destinations)
        try:
            stored = await asyncio.get_running_loop().run_in_executor(
                self.writer, record_visit, self.sessions, item, policy, self.fingerprints)
        except SQLAlchemyError as exc:
            reason = error_reason(exc)
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
