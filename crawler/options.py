"""The options of a crawl, as `hostpairs crawl` and `hostpairs watch` take them."""

from __future__ import annotations

import os
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
    screenshots: bool = defaults.HOSTPAIRS_SCREENSHOTS
    keep_captures: bool = defaults.HOSTPAIRS_KEEP_CAPTURES
    concurrency: int | None = None
    """Visits at once (`--concurrency`; default: the mode's own, CONCURRENT_REQUESTS or
    HOSTPAIRS_STATIC_CONCURRENCY)."""
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
            "HOSTPAIRS_SCREENSHOTS": self.screenshots,
            "HOSTPAIRS_KEEP_CAPTURES": self.keep_captures,
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
        if self.concurrency is not None:
            args += ["--concurrency", str(self.concurrency)]
        if not self.screenshots:
            args.append("--no-screenshots")
        if not self.keep_captures:
            args.append("--no-keep-captures")
        if self.verbose:
            args.append("--verbose")
        return args


BROWSER_VISIT_MEMORY = 300 * 2**20
"""Bytes one browser visit at once needs: its renderer and context, with room for a heavy page
(the soak measured 130-250 MB of proportional set size per renderer)."""
BROWSER_BASE_MEMORY = 2**30
"""Bytes the crawler, Playwright's driver and the browser need before any visit (~0.6 GB measured)."""


def auto_concurrency(mode: str) -> int:
    """Visits at once for this machine (`--concurrency auto`): in browser mode two per core (a visit
    waits on the network and its dwell about half its time), fewer if the available memory cannot
    hold them, at most 16; in static mode 16 per core, at most 64."""
    cores = len(os.sched_getaffinity(0))
    if mode == "static":
        return min(16 * cores, 64)
    by_memory = (_available_memory() - BROWSER_BASE_MEMORY) // BROWSER_VISIT_MEMORY
    return max(1, min(2 * cores, by_memory, 16))


def _available_memory() -> int:
    """Bytes of memory available to new processes (Linux's MemAvailable; elsewhere, assume 4 GiB)."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 4 * 2**30
