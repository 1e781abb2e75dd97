"""Item pipelines."""

from __future__ import annotations

from scrapy import Spider
from scrapy.crawler import Crawler

from extractors.observations import PageCapture
from storage.db import open_database, session_factory
from storage.writer import store_capture


class StoragePipeline:
    """Store each visit in one transaction and count pages, pairs and errors in the crawl stats."""

    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StoragePipeline:
        return cls(crawler)

    def open_spider(self, spider: Spider | None = None) -> None:
        self.engine = open_database(self.crawler.settings.get("HOSTPAIRS_DB"))
        self.sessions = session_factory(self.engine)

    def close_spider(self, spider: Spider | None = None) -> None:
        self.engine.dispose()

    def process_item(self, item: object, spider: Spider | None = None) -> object:
        if isinstance(item, PageCapture):
            stored = store_capture(self.sessions, item)
            self.stats.inc_value("hostpairs/pages")
            self.stats.inc_value("hostpairs/pairs_new", stored.new_pairs)
            self.stats.inc_value("hostpairs/pairs_seen", stored.seen_pairs)
            if item.failed:
                self.stats.inc_value("hostpairs/errors")
        return item
