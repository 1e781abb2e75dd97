"""The hostpairs spider: visit each target like a user would and emit what the visit observed.

    scrapy crawl hostpairs -a targets="https://shop-a.com/ seeds.txt" -s HOSTPAIRS_DEPTH=1 \\
        -s HOSTPAIRS_HOST_RULES="MAP * 127.0.0.1:8080"

One spider, two modes chosen once by HOSTPAIRS_MODE: `browser` (crawler/browser_visit.py) and
`static` (crawler/static.py). Depth is Scrapy's own (DepthMiddleware's `depth` meta); which links
are followed, and how many pages a crawl may schedule, is this spider's rule (`_followable`, `_visit`).
With HOSTPAIRS_FRONTIER the spider is a worker of a distributed crawl: it leases its visits from a
Redis frontier and queues the links it follows there (crawler/frontier.py).
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

import scrapy
from scrapy import signals
from scrapy.http import Response
from scrapy.settings import BaseSettings
from sqlalchemy.orm import Session, sessionmaker
from twisted.python.failure import Failure

from hostpairs.crawler import browser_visit
from hostpairs.crawler.errors import one_line
from hostpairs.crawler.host_rules import HostRules
from hostpairs.crawler.jobs import CrawlJob, Scheduled, job_crawls
from hostpairs.crawler.middlewares import address_guard
from hostpairs.crawler import frontier, frontier_runs
from hostpairs.crawler.signals import (
    page_left_out,
    seed_groups_known,
    seed_run_started,
    visit_not_stored,
    visit_stored,
)
from hostpairs.crawler.static import fetch_stylesheets, static_capture
from hostpairs.crawler.targets import expand_targets
from hostpairs.extractors.hosts import host_of, same_site
from hostpairs.extractors.observations import PageCapture
from hostpairs.seeds.validation import load_seed_groups
from hostpairs.storage.db import open_database, session_factory
from hostpairs.storage.queries import job_visits

RUN_RENEWAL = 30.0
"""Seconds between a worker's renewals of a seed-group run's sign of life (it stays alive for
storage/schedules.py's SILENT_FOR)."""


@dataclass
class Budget:
    """How deep a set of targets may be crawled, and how many pages found by following links may
    be visited (the targets themselves are all visited)."""

    max_depth: int
    max_pages: int
    scheduled: set[str] = field(default_factory=set)
    followed: int = 0
    """Pages scheduled from links (depth > 0): at most max_pages."""
    left_out: set[str] = field(default_factory=set)
    """Links not followed because the budget was spent."""


class HostpairsSpider(scrapy.Spider):
    """Arguments: targets (URLs and seed files, space or comma separated), every one visited, their
    links followed as deep as HOSTPAIRS_DEPTH and as far as HOSTPAIRS_MAX_PAGES allow; and/or seeds (a TOML seed-group file)
    with an optional group name and the run's due time (ISO), each group with its own depth and
    page budget. With HOSTPAIRS_JOB (a directory) the crawl is a job that resumes where it was
    killed (crawler/jobs.py)."""

    name = "hostpairs"
    job: CrawlJob | None = None
    frontier: frontier.Frontier | None = None
    """With HOSTPAIRS_FRONTIER, a worker: its visits come from the frontier (crawler/frontier.py)."""

    def __init__(self, targets: str = "", seeds: str = "", group: str = "", due: str = "", **kwargs: Any):
        super().__init__(**kwargs)
        self.targets = expand_targets(targets.replace(",", " ").split())
        self.seed_groups = {g.name: g for g in load_seed_groups(seeds)} if seeds else {}
        if group:
            if group not in self.seed_groups:
                raise ValueError(f"no seed group {group!r} in {seeds}")
            self.seed_groups = {group: self.seed_groups[group]}
        self.due_at = datetime.fromisoformat(due) if due else None
        self.arguments = (seeds, group, due)
        self.leased: dict[str, frontier.Visit] = {}
        """A worker's frontier visits in progress, by stream entry."""
        self.captured: dict[int, str] = {}
        """A worker's captures on their way to the database (by id) → their stream entry."""
        self.acknowledging: set[asyncio.Future[None]] = set()
        self.group_runs: dict[tuple[str, str], dict[str, Any] | None] = {}
        """A worker's seed-group runs by (run, group): their definitions (None: not a group's run)."""
        self.run_renewed: dict[str, float] = {}
        self.sessions: sessionmaker[Session] | None = None
        """A worker's database sessions for its seed-group runs' bookkeeping (opened on first use)."""

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> HostpairsSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        settings = crawler.settings
        spider.mode = settings.get("HOSTPAIRS_MODE")
        spider.guard = address_guard(settings)
        spider.budgets = {None: Budget(settings.getint("HOSTPAIRS_DEPTH"), settings.getint("HOSTPAIRS_MAX_PAGES"))}
        spider.budgets.update({name: Budget(g.depth, g.max_pages) for name, g in spider.seed_groups.items()})
        deepest = max(budget.max_depth for budget in spider.budgets.values())
        if deepest:  # DepthMiddleware enforces the deepest budget as a cap (0 would mean no limit)
            settings.set("DEPTH_LIMIT", deepest, priority="spider")
        if frontier_url := settings.get("HOSTPAIRS_FRONTIER"):
            spider.frontier = frontier.Frontier(frontier_url, settings.getfloat("HOSTPAIRS_FRONTIER_LEASE"))
            spider.worker = frontier.worker_name()
            crawler.signals.connect(spider.visit_ended, signal=visit_stored)
            crawler.signals.connect(spider.visit_ended, signal=visit_not_stored)
            crawler.signals.connect(spider.visit_broke, signal=signals.spider_error)
        if job_directory := settings.get("HOSTPAIRS_JOB"):
            spider.job = CrawlJob.open(job_directory, job_crawls(
                spider.targets, *spider.arguments, spider.mode, settings.getint("HOSTPAIRS_DEPTH"),
                settings.getint("HOSTPAIRS_MAX_PAGES")))
        return spider

    @classmethod
    def update_settings(cls, settings: BaseSettings) -> None:
        super().update_settings(settings)
        host_rules = HostRules.parse(settings.get("HOSTPAIRS_HOST_RULES"))
        args = list(settings.getlist("HOSTPAIRS_CHROMIUM_ARGS"))
        if host_rules:
            args.append(f"--host-resolver-rules={host_rules.text}")
        settings.set("PLAYWRIGHT_LAUNCH_OPTIONS", {
            "executable_path": settings.get("HOSTPAIRS_CHROMIUM"),
            "headless": True,
            "args": args,
            "ignore_default_args": ["--disable-popup-blocking"],  # popups: recorded, never opened
            "chromium_sandbox": False,
        }, priority="spider")
        page_timeout = settings.getfloat("HOSTPAIRS_PAGE_TIMEOUT")
        settings.set("PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT", page_timeout * 1000, priority="spider")
        settings.set("DOWNLOAD_TIMEOUT", page_timeout, priority="spider")
        if settings.get("HOSTPAIRS_MODE") == "static":
            concurrency = settings.getint("HOSTPAIRS_STATIC_CONCURRENCY")
            settings.set("CONCURRENT_REQUESTS", concurrency, priority="spider")
            settings.set("CONCURRENT_REQUESTS_PER_DOMAIN", concurrency, priority="spider")

    async def start(self) -> AsyncIterator[scrapy.Request]:
        if self.frontier is not None:
            async for request in self._from_frontier():
                yield request
            return
        if self.seed_groups:
            self.crawler.signals.send_catch_log(signal=seed_groups_known, groups=self.seed_groups)
            await self.crawler.signals.send_catch_log_async(signal=seed_run_started, groups=self.seed_groups,
                                                            due_at=self.due_at)
        for request in await self._resumed():
            yield request
        for url in self.targets:
            if request := self._visit(url, None):
                yield request
        for name, seed_group in self.seed_groups.items():
            for url in seed_group.urls:
                if request := self._visit(url, name):
                    yield request

    async def _from_frontier(self) -> AsyncIterator[scrapy.Request]:
        """Visits leased from the frontier, as many at a time as the crawl visits at once; with
        HOSTPAIRS_EXIT_WHEN_IDLE, done once the frontier has had nothing queued or leased (by
        any worker) for that long."""
        frontier, concurrency = self.frontier, self.settings.getint("CONCURRENT_REQUESTS")
        exit_when_idle = self.settings.getfloat("HOSTPAIRS_EXIT_WHEN_IDLE")
        attempts = self.settings.getint("HOSTPAIRS_FRONTIER_ATTEMPTS")
        renewing = asyncio.ensure_future(self._renew_leases())
        idle_since = time.monotonic()
        try:
            while True:
                if len(self.leased) >= concurrency:
                    await asyncio.sleep(0.1)
                    continue
                visits = await asyncio.to_thread(frontier.take, self.worker, concurrency - len(self.leased))
                for visit in visits:
                    self.leased[visit.entry] = visit
                    await self._know_group(visit)
                    if visit.deliveries > attempts:  # its earlier workers died with it (or could not store it)
                        yield self._given_up(visit, attempts)
                    else:
                        yield self._request(Scheduled(visit.url, visit.seed_group, visit.depth), visit)
                if visits or self.leased:
                    idle_since = time.monotonic()
                    continue
                status = await asyncio.to_thread(frontier.status)
                if status.queued or status.leased:
                    idle_since = time.monotonic()
                elif exit_when_idle and time.monotonic() - idle_since >= exit_when_idle:
                    return
                await asyncio.sleep(0.5)
        finally:
            renewing.cancel()

    async def _know_group(self, visit: frontier.Visit) -> None:
        """Load the definition of a seed group's run the first time one of its visits comes, and
        tell the pipeline the group's policy."""
        key = (visit.run, visit.seed_group or "")
        if not visit.seed_group or key in self.group_runs:
            return
        definition = self.group_runs[key] = await asyncio.to_thread(self.frontier.group_definition, *key)
        if definition is not None:
            group = frontier_runs.group_from_definition(visit.seed_group, definition)
            self.crawler.signals.send_catch_log(signal=seed_groups_known, groups={group.name: group})

    def _given_up(self, visit: frontier.Visit, attempts: int) -> PageCapture:
        """A visit leased `attempts` times already and never stored, stored now as a failed visit
        (a page that kills its worker or its browser every time must not go round forever)."""
        capture = PageCapture.failure(visit.url, self.mode, visit.depth,
                                      f"given up: leased {visit.deliveries - 1} times and never stored "
                                      "(its workers stopped, or the database refused it)")
        capture.seed_group = visit.seed_group
        self.captured[id(capture)] = visit.entry
        return capture

    async def _renew_leases(self) -> None:
        """Renew the leases of the visits this worker holds and its sign of life, a third of the lease
        time apart, or of WORKER_ALIVE if shorter (a long lease must not make the worker look dead)."""
        every = min(self.settings.getfloat("HOSTPAIRS_FRONTIER_LEASE"), frontier.WORKER_ALIVE) / 3
        while True:
            await asyncio.to_thread(self.frontier.renew, self.worker, list(self.leased))
            await asyncio.sleep(every)

    def visit_ended(self, capture: PageCapture, stored: Any = None, reason: str | None = None) -> None:
        """A frontier visit is stored (its lease ends: acknowledged, off the event loop) or was
        refused by the database (its lease is let go: a worker visits it again once it runs out)."""
        entry = self.captured.pop(id(capture), None)
        if entry is None or (visit := self.leased.pop(entry, None)) is None:
            return
        if reason is None:
            acknowledging = asyncio.ensure_future(asyncio.to_thread(self._acknowledge, visit, capture.failed))
            self.acknowledging.add(acknowledging)
            acknowledging.add_done_callback(self.acknowledging.discard)

    def _acknowledge(self, visit: frontier.Visit, failed: bool) -> None:
        """(On a thread.) End a stored visit's lease; the last visit of a seed group's run finishes
        the run, the others renew its sign of life (every RUN_RENEWAL seconds at most). A failure is
        logged in one line: an entry not acknowledged is visited again once its lease runs out; a
        run not finished leaves its group due, as a crawl that died would."""
        try:
            left = self.frontier.done(visit, failed)
            definition = self.group_runs.get((visit.run, visit.seed_group or ""))
            if definition is None or left < 0:
                return
            if self.sessions is None:
                self.sessions = session_factory(open_database(self.settings.get("HOSTPAIRS_DB")))
            if left == 0:
                frontier_runs.finish_group_run(self.frontier, self.sessions, visit, definition)
            elif time.monotonic() - self.run_renewed.get(visit.run, 0.0) > RUN_RENEWAL:
                self.run_renewed[visit.run] = time.monotonic()
                frontier_runs.renew_group_runs(self.sessions, [definition["crawl_run"]])
        except Exception as exc:  # (Redis or the database refused; the crawl goes on)
            self.logger.warning("frontier bookkeeping of %s failed: %s", visit.url, one_line(exc))

    def visit_broke(self, failure: Failure, response: Response | None, spider: scrapy.Spider) -> None:
        """A frontier visit whose callback failed stores nothing: its lease is let go (not renewed),
        so a worker visits it again once the lease runs out."""
        if response is not None and (visit := response.request.meta.get("hostpairs_frontier_visit")) is not None:
            self.leased.pop(visit.entry, None)

    async def closed(self, reason: str) -> None:
        if self.job is not None:
            self.job.close()
        if self.acknowledging:  # the last visits' acknowledgements
            await asyncio.gather(*self.acknowledging)

    async def _resumed(self) -> list[scrapy.Request]:
        """A resumed job's pages that have no stored visit yet (its stored ones count against the
        budgets, as they did before it was killed)."""
        if self.job is None or not self.job.resumed:
            return []

        def stored() -> set[tuple[str, str | None]]:
            engine = open_database(self.settings.get("HOSTPAIRS_DB"))
            with session_factory(engine)() as session:
                return job_visits(session, self.job.id)

        done = await asyncio.to_thread(stored)
        scheduled = [page for page in self.job.scheduled() if page.seed_group in self.budgets]
        requests = []
        for page in scheduled:
            budget = self.budgets[page.seed_group]
            if page.url not in budget.scheduled:
                budget.scheduled.add(page.url)
                budget.followed += page.depth > 0
                if (page.url, page.seed_group) not in done:
                    requests.append(self._request(page))
        self.logger.info("resuming job %s: %d of %d scheduled pages to visit", self.job.directory, len(requests),
                         sum(len(budget.scheduled) for budget in self.budgets.values()))
        return requests

    def _visit(self, url: str, seed_group: str | None, depth: int = 0) -> scrapy.Request | None:
        """A request visiting `url` for a seed group (None: the targets) unless it is scheduled
        already or, found by following a link (depth > 0), its budget is spent (then it is counted
        with `page_left_out`); a job records it as scheduled first."""
        budget = self.budgets[seed_group]
        if url in budget.scheduled:
            return None
        if depth > 0:
            if budget.followed >= budget.max_pages:
                if url not in budget.left_out:
                    budget.left_out.add(url)
                    self.crawler.signals.send_catch_log(signal=page_left_out, url=url, seed_group=seed_group)
                return None
            budget.followed += 1
        budget.scheduled.add(url)
        page = Scheduled(url, seed_group, depth)
        if self.job is not None:
            self.job.schedule([page])
        return self._request(page)

    def _request(self, page: Scheduled, visit: frontier.Visit | None = None) -> scrapy.Request:
        """dont_filter: the same page may be watched by two groups."""
        meta = {"hostpairs_group": page.seed_group, "depth": page.depth, "hostpairs_frontier_visit": visit,
                "hostpairs_page_time": self._option(visit, "HOSTPAIRS_PAGE_TIME"),
                "hostpairs_inventory": self._inventoried(page.seed_group, visit)}
        if self.mode == "static":
            return scrapy.Request(page.url, callback=self.parse_static, errback=self.visit_failed, dont_filter=True,
                                  meta={**meta, "hostpairs_started": time.time()})
        prepare = partial(browser_visit.prepare_page, guard=self.guard,
                          navigation_timeout=self.settings.getfloat("HOSTPAIRS_PAGE_TIMEOUT"))
        return scrapy.Request(page.url, callback=self.parse_visit, errback=self.visit_failed, dont_filter=True,
                              meta={**browser_visit.browser_meta(self.settings, prepare), **meta})

    def _inventoried(self, seed_group: str | None, visit: frontier.Visit | None) -> bool:
        """Whether the seed group's pages have their scripts inventoried (tagged payment, or `inventory = true`)."""
        if seed_group is None:
            return False
        if visit is not None:
            definition = self.group_runs.get((visit.run, seed_group))
            return definition is not None and frontier_runs.group_from_definition(seed_group, definition).inventoried
        group = self.seed_groups.get(seed_group)
        return group is not None and group.inventoried

    def _option(self, visit: frontier.Visit | None, name: str) -> float:
        """A per-visit option: as queued with a frontier visit, unless this crawl's own command
        gave it (HOSTPAIRS_WORKER_OPTIONS), else this crawl's setting."""
        if visit is not None and name in visit.options and name not in self.settings.getlist("HOSTPAIRS_WORKER_OPTIONS"):
            return float(visit.options[name])
        return self.settings.getfloat(name)

    async def parse_visit(self, response: Response) -> AsyncIterator[Any]:
        request = response.request
        visit = request.meta.get("hostpairs_frontier_visit")
        capture = await browser_visit.browse(response.meta["playwright_page"], request,
                                             self._option(visit, "HOSTPAIRS_DWELL"),
                                             self._option(visit, "HOSTPAIRS_VISIT_TIMEOUT"),
                                             self._option(visit, "HOSTPAIRS_LOAD_WAIT"))
        for output in await self._emit(capture, request):
            yield output

    async def parse_static(self, response: Response) -> AsyncIterator[Any]:
        capture = static_capture(response)
        await fetch_stylesheets(capture, self.crawler.engine.download_async)
        for output in await self._emit(capture, response.request):
            yield output

    async def visit_failed(self, failure: Failure) -> AsyncIterator[Any]:
        """The failed visit, and the links of a page browsed despite its error (a document that
        never finished, say)."""
        request = failure.request
        if self.mode == "static":
            capture = PageCapture.failure(request.url, "static", request.meta.get("depth", 0), one_line(failure.value))
        else:
            capture = await browser_visit.failed(request, failure.value)
        for output in await self._emit(capture, request):
            yield output

    async def _emit(self, capture: PageCapture, request: scrapy.Request) -> list[Any]:
        """The visit, then the same-site links of its top document it may follow (a frontier
        visit's links go into the frontier, for any worker)."""
        capture.seed_group = request.meta.get("hostpairs_group")
        capture.job = self.job.id if self.job else None
        visit: frontier.Visit | None = request.meta.get("hostpairs_frontier_visit")
        if visit is None:
            if capture.depth >= self.budgets[capture.seed_group].max_depth:
                return [capture]
            return [capture, *filter(None, (self._visit(url, capture.seed_group, capture.depth + 1)
                                            for url in _followable(capture)))]
        self.captured[id(capture)] = visit.entry
        if capture.depth < visit.max_depth and (links := _followable(capture)):
            found = [dataclasses.replace(visit, url=url, depth=capture.depth + 1, entry=None) for url in links]
            _, left_out = await asyncio.to_thread(self.frontier.enqueue, found, True)
            for _ in range(left_out):
                self.crawler.signals.send_catch_log(signal=page_left_out, url=None, seed_group=capture.seed_group)
        return [capture]


def _followable(capture: PageCapture) -> list[str]:
    """The same-site links of the top document (anchors only, fragments dropped), once each."""
    page_host = host_of(capture.final_url)
    urls: dict[str, None] = {}
    for link in capture.links:
        if link.tag != "a" or len(link.frame_chain) != 1:
            continue  # only anchors of the top document
        href = link.href.split("#")[0]
        link_host = host_of(href)
        if page_host and link_host and same_site(page_host, link_host):
            urls[href] = None
    return list(urls)
