"""Run the hostpairs spider in this process with a Rich progress display."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from scrapy import signals
from scrapy.crawler import CrawlerProcess
from scrapy.utils.project import get_project_settings

from hostpairs.extractors.observations import PageCapture


@dataclass(frozen=True)
class CrawlOptions:
    db: str | None = None
    depth: int = 0
    max_pages: int = 100
    dwell: float = 5.0
    page_timeout: float = 30.0
    host_rules: str = ""
    allow_private: bool = False
    mode: str = "browser"
    seeds: str = ""
    group: str = ""
    due: str = ""
    alert_file: str | None = None
    webhooks: tuple[str, ...] = ()
    verbose: bool = False


def run_crawl(urls: list[str], options: CrawlOptions, console: Console) -> dict[str, Any]:
    """Crawl `urls` (blocking; once per process, as Twisted's reactor cannot restart)."""
    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "hostpairs.crawler.settings")
    settings = get_project_settings()
    overrides = {
        "HOSTPAIRS_HOST_RULES": options.host_rules,
        "HOSTPAIRS_ALLOW_PRIVATE": options.allow_private,
        "HOSTPAIRS_DWELL": options.dwell,
        "PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT": options.page_timeout * 1000,
        "DOWNLOAD_TIMEOUT": options.page_timeout,
        "HOSTPAIRS_MODE": options.mode,
        "LOG_LEVEL": "INFO" if options.verbose else "ERROR",
    }
    if options.db:
        overrides["HOSTPAIRS_DB"] = options.db
    if options.alert_file:
        overrides["HOSTPAIRS_ALERT_FILE"] = options.alert_file
    if options.webhooks:
        overrides["HOSTPAIRS_WEBHOOKS"] = list(options.webhooks)
    settings.setdict(overrides, priority="cmdline")
    process = CrawlerProcess(settings)
    crawler = process.create_crawler("hostpairs")
    failures: list[tuple[str, str]] = []
    unstored: list[tuple[str, str]] = []

    with Progress(
        TextColumn("[bold]crawling"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        TextColumn("{task.description}"), console=console, transient=True,
    ) as progress:
        task = progress.add_task("", total=None)

        def item_scraped(item: object, spider: Any) -> None:
            if isinstance(item, PageCapture):
                if item.failed:
                    failures.append((item.requested_url, item.error or ""))
                progress.update(task, advance=1, total=spider.scheduled_count, description=item.requested_url)

        def item_dropped(item: object, response: Any, exception: BaseException, spider: Any) -> None:
            if isinstance(item, PageCapture):
                unstored.append((item.requested_url, str(exception)))

        crawler.signals.connect(item_scraped, signal=signals.item_scraped)
        crawler.signals.connect(item_dropped, signal=signals.item_dropped)
        process.crawl(crawler, targets=" ".join(urls), depth=options.depth, max_pages=options.max_pages,
                      seeds=options.seeds, group=options.group, due=options.due)
        process.start()

    stats = crawler.stats
    return {
        "pages": stats.get_value("hostpairs/pages", 0),
        "pairs_new": stats.get_value("hostpairs/pairs_new", 0),
        "pairs_seen": stats.get_value("hostpairs/pairs_seen", 0),
        "errors": stats.get_value("hostpairs/errors", 0),
        "alerts": stats.get_value("hostpairs/alerts", 0),
        "failures": failures,
        "unstored": unstored,
    }
