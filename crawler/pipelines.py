"""Item pipelines."""

from __future__ import annotations

import logging

from scrapy import Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from sqlalchemy.exc import SQLAlchemyError

from hostpairs.crawler.delivery import destinations
from hostpairs.extractors.changes import PageWatch
from hostpairs.extractors.observations import PageCapture
from hostpairs.storage.alerts import AlertPolicy
from hostpairs.storage.db import error_reason, open_database, session_factory
from hostpairs.storage.writer import store_capture

logger = logging.getLogger(__name__)


class StoragePipeline:
    """Store each visit, and the alerts it raises, in one transaction; count pages, pairs, alerts.

    A visit the database refuses is dropped with its reason and counted as not stored
    (`hostpairs/unstored`): the crawl goes on, and its seed group stays due."""

    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        self.stats = crawler.stats
        settings = crawler.settings
        self.baseline_visits = settings.getint("HOSTPAIRS_BASELINE_VISITS")
        self.destinations = destinations(settings.get("HOSTPAIRS_ALERT_FILE"), settings.getlist("HOSTPAIRS_WEBHOOKS"))

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StoragePipeline:
        return cls(crawler)

    def open_spider(self, spider: Spider | None = None) -> None:
        self.engine = open_database(self.crawler.settings.get("HOSTPAIRS_DB"))
        self.sessions = session_factory(self.engine)

    def close_spider(self, spider: Spider | None = None) -> None:
        self.engine.dispose()

    def _policy(self, item: PageCapture) -> AlertPolicy:
        seed_group = getattr(self.crawler.spider, "seed_groups", {}).get(item.seed_group)
        watch = PageWatch(seed_group.tags, seed_group.is_allowlisted) if seed_group else PageWatch()
        return AlertPolicy(watch, item.seed_group, self.baseline_visits, self.destinations)

    def process_item(self, item: object, spider: Spider | None = None) -> object:
        if isinstance(item, PageCapture):
            try:
                stored = store_capture(self.sessions, item, self._policy(item))
            except SQLAlchemyError as exc:
                reason = error_reason(exc)
                self._count("unstored", item)
                logger.error("visit of %s not stored: %s", item.requested_url, reason)
                raise DropItem(reason) from None
            self._count("pages", item)
            self.stats.inc_value("hostpairs/pairs_new", stored.new_pairs)
            self.stats.inc_value("hostpairs/pairs_seen", stored.seen_pairs)
            self.stats.inc_value("hostpairs/alerts", stored.alerts)
            if item.failed:
                self._count("errors", item)
        return item

    def _count(self, name: str, item: PageCapture) -> None:
        """Count `hostpairs/NAME` for the crawl and, for a seed group's visit, `hostpairs/NAME/GROUP`."""
        self.stats.inc_value(f"hostpairs/{name}")
        if item.seed_group:
            self.stats.inc_value(f"hostpairs/{name}/{item.seed_group}")
