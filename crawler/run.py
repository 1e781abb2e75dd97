"""Run the hostpairs spider in this process with a Rich progress display."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from scrapy import signals
from scrapy.crawler import CrawlerProcess
from scrapy.utils.project import get_project_settings

from hostpairs.crawler import signals as hostpairs_signals
from hostpairs.crawler.options import CrawlOptions
from hostpairs.extractors.observations import PageCapture
from hostpairs.storage.writer import StoredVisit


@dataclass
class CrawlSummary:
    """What a crawl did, counted from the visits it stored."""

    pages: int = 0
    pairs_new: int = 0
    pairs_seen: int = 0
    alerts: int = 0
    errors: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    """(URL, reason) of visits stored as failed."""
    unstored: list[tuple[str, str]] = field(default_factory=list)
    """(URL, reason) of visits the database refused."""
    left_out: int = 0
    """Links not followed because a page budget was spent (`--max-pages`, a group's max_pages)."""
    close_reason: str = ""
    """Why the crawl ended: `finished`, or e.g. `database_unavailable` (StoragePipeline)."""


def run_crawl(urls: list[str], options: CrawlOptions, console: Console, seeds: str = "", group: str = "",
              due: str = "") -> CrawlSummary:
    """Crawl `urls` and/or the seed groups of `seeds` (blocking; once per process, as Twisted's
    reactor cannot restart)."""
    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "hostpairs.crawler.settings")
    settings = get_project_settings()
    settings.setdict(options.settings(), priority="cmdline")
    process = CrawlerProcess(settings)
    crawler = process.create_crawler("hostpairs")
    summary = CrawlSummary()

    with Progress(
        TextColumn("[bold]crawling"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        TextColumn("{task.description}"), console=console, transient=True,
    ) as progress:
        task = progress.add_task("", total=None)

        def visit_stored(capture: PageCapture, stored: StoredVisit) -> None:
            summary.pages += 1
            summary.pairs_new += stored.new_pairs
            summary.pairs_seen += stored.seen_pairs
            summary.alerts += stored.alerts
            if capture.failed:
                summary.errors += 1
                summary.failures.append((capture.requested_url, capture.error or ""))
            progress.update(task, advance=1, description=capture.requested_url)

        def visit_not_stored(capture: PageCapture, reason: str) -> None:
            summary.unstored.append((capture.requested_url, reason))

        def page_left_out(url: str, seed_group: str | None) -> None:
            summary.left_out += 1

        def spider_closed(spider: object, reason: str) -> None:
            summary.close_reason = reason

        crawler.signals.connect(spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(visit_stored, signal=hostpairs_signals.visit_stored)
        crawler.signals.connect(visit_not_stored, signal=hostpairs_signals.visit_not_stored)
        crawler.signals.connect(page_left_out, signal=hostpairs_signals.page_left_out)
        process.crawl(crawler, targets=" ".join(urls), seeds=seeds, group=group, due=due)
        process.start()
    return summary
