"""The options of a crawl, as `hostpairs crawl` and `hostpairs watch` take them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hostpairs.crawler import settings as defaults


@dataclass(frozen=True)
class CrawlOptions:
    """How to crawl; the defaults are crawler/settings.py's."""

    db: str = defaults.HOSTPAIRS_DB
    db_retry: float = defaults.HOSTPAIRS_DB_RETRY
    depth: int = defaults.HOSTPAIRS_DEPTH
    max_pages: int = defaults.HOSTPAIRS_MAX_PAGES
    dwell: float = defaults.HOSTPAIRS_DWELL
    page_timeout: float = defaults.HOSTPAIRS_PAGE_TIMEOUT
    load_wait: float = defaults.HOSTPAIRS_LOAD_WAIT
    page_time: float = defaults.HOSTPAIRS_PAGE_TIME
    host_rules: str = defaults.HOSTPAIRS_HOST_RULES
    allow_private: bool = defaults.HOSTPAIRS_ALLOW_PRIVATE
    mode: str = defaults.HOSTPAIRS_MODE
    alert_file: str | None = defaults.HOSTPAIRS_ALERT_FILE
    webhooks: tuple[str, ...] = tuple(defaults.HOSTPAIRS_WEBHOOKS)
    verbose: bool = False
    job: str | None = None
    """A crawl job's directory (`--job`): the crawl resumes where it was killed."""
    frontier: str | None = None
    """A worker's frontier (`hostpairs worker --frontier`): visits come from it."""
    frontier_lease: float = defaults.HOSTPAIRS_FRONTIER_LEASE
    exit_when_idle: float = defaults.HOSTPAIRS_EXIT_WHEN_IDLE
    concurrency: int | None = None
    """Visits at once (`hostpairs worker --concurrency`; default: the mode's own)."""
    worker_options: tuple[str, ...] = ()
    """The per-visit settings a worker's own command gave (they win over those queued)."""

    def settings(self) -> dict[str, Any]:
        """The Scrapy settings these options set."""
        return {
            "HOSTPAIRS_DB": self.db,
            "HOSTPAIRS_DB_RETRY": self.db_retry,
            "HOSTPAIRS_DEPTH": self.depth,
            "HOSTPAIRS_MAX_PAGES": self.max_pages,
            "HOSTPAIRS_DWELL": self.dwell,
            "HOSTPAIRS_PAGE_TIMEOUT": self.page_timeout,
            "HOSTPAIRS_LOAD_WAIT": self.load_wait,
            "HOSTPAIRS_PAGE_TIME": self.page_time,
            "HOSTPAIRS_HOST_RULES": self.host_rules,
            "HOSTPAIRS_ALLOW_PRIVATE": self.allow_private,
            "HOSTPAIRS_MODE": self.mode,
            "HOSTPAIRS_ALERT_FILE": self.alert_file,
            "HOSTPAIRS_WEBHOOKS": list(self.webhooks),
            "HOSTPAIRS_JOB": self.job,
            "HOSTPAIRS_FRONTIER": self.frontier,
            "HOSTPAIRS_FRONTIER_LEASE": self.frontier_lease,
            "HOSTPAIRS_EXIT_WHEN_IDLE": self.exit_when_idle,
            "HOSTPAIRS_WORKER_OPTIONS": list(self.worker_options),
            "LOG_LEVEL": "INFO" if self.verbose else "ERROR",
        } | ({} if self.concurrency is None else {
            "CONCURRENT_REQUESTS": self.concurrency, "CONCURRENT_REQUESTS_PER_DOMAIN": self.concurrency,
            "PLAYWRIGHT_MAX_CONTEXTS": self.concurrency})

    def arguments(self) -> list[str]:
        """The same options as `hostpairs crawl` flags (how `watch` hands them to its crawls)."""
        args = ["--db", self.db, "--db-retry", str(self.db_retry), "--depth", str(self.depth), "--max-pages", str(self.max_pages),
                "--dwell", str(self.dwell), "--page-timeout", str(self.page_timeout),
                "--load-wait", str(self.load_wait), "--page-time", str(self.page_time), "--mode", self.mode]
        if self.host_rules:
            args += ["--host-rules", self.host_rules]
        if self.allow_private:
            args.append("--allow-private")
        if self.alert_file:
            args += ["--alert-file", self.alert_file]
        for url in self.webhooks:
            args += ["--webhook", url]
        if self.verbose:
            args.append("--verbose")
        return args
