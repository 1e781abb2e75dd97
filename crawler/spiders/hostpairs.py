"""The hostpairs spider: visit each target like a user would and emit what the visit observed.

    scrapy crawl hostpairs -a targets="https://shop-a.com/ seeds.txt" -a depth=1 \
        -s HOSTPAIRS_HOST_RULES="MAP * 127.0.0.1:8080"
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import scrapy
from playwright.async_api import Page, Route
from scrapy.http import Response
from scrapy.settings import BaseSettings
from twisted.python.failure import Failure

from hostpairs.crawler.browsing import STEP_TIMEOUT, PageUnresponsive, simulate_user
from hostpairs.crawler.capture import BrowserCapture
from hostpairs.crawler.errors import one_line
from hostpairs.crawler.host_rules import HostRules
from hostpairs.crawler.middlewares import address_guard
from hostpairs.crawler.static import (
    add_stylesheet,
    static_capture,
    stylesheet_failed,
    stylesheets_to_fetch,
)
from hostpairs.crawler.targets import expand_targets
from hostpairs.extractors.hosts import host_of, same_site
from hostpairs.extractors.observations import PageCapture
from hostpairs.seeds.validation import load_seed_groups

_visit_numbers = itertools.count(1)


MAX_STYLESHEETS = 20
"""Stylesheets static mode fetches per page (linked and imported)."""

HANDOVER_GRACE = 15.0
"""Seconds after the navigation timeout before a page that was never handed over is closed."""


async def close_quietly(closing: Awaitable[None]) -> None:
    """Close a page or context without letting a stuck browser stall or fail the crawl."""
    try:
        await asyncio.wait_for(closing, STEP_TIMEOUT * 2)
    except Exception as exc:
        logging.getLogger(__name__).debug("close failed: %s", exc)


def _page_of(route: Route) -> Page | None:
    """The page a routed request belongs to (None for requests of no page: service workers)."""
    try:
        return route.request.frame.page
    except Exception:
        return None


@dataclass
class Budget:
    """How deep and how many pages a set of targets may be crawled."""

    max_depth: int
    max_pages: int
    scheduled: set[str] = field(default_factory=set)


class HostpairsSpider(scrapy.Spider):
    """Arguments: targets (URLs and seed files, space or comma separated), depth, max_pages;
    or seeds (a TOML seed-group file) with an optional group name and the run's due time (ISO)."""

    name = "hostpairs"

    def __init__(self, targets: str = "", depth: int | str = 0, max_pages: int | str = 100, seeds: str = "",
                 group: str = "", due: str = "", **kwargs: Any):
        super().__init__(**kwargs)
        self.targets = expand_targets(targets.replace(",", " ").split())
        self.seed_groups = {g.name: g for g in load_seed_groups(seeds)} if seeds else {}
        if group:
            if group not in self.seed_groups:
                raise ValueError(f"no seed group {group!r} in {seeds}")
            self.seed_groups = {group: self.seed_groups[group]}
        self.due_at = datetime.fromisoformat(due) if due else None
        self.budgets: dict[str | None, Budget] = {None: Budget(int(depth), int(max_pages))}
        self.budgets.update({name: Budget(g.depth, g.max_pages) for name, g in self.seed_groups.items()})

    @property
    def scheduled_count(self) -> int:
        """Visits scheduled so far, all groups together."""
        return sum(len(budget.scheduled) for budget in self.budgets.values())

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> HostpairsSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.guard = address_guard(crawler.settings)
        return spider

    @classmethod
    def update_settings(cls, settings: BaseSettings) -> None:
        super().update_settings(settings)
        host_rules = HostRules.parse(settings.get("HOSTPAIRS_HOST_RULES"))
        args = list(settings.getlist("HOSTPAIRS_CHROMIUM_ARGS"))
        if host_rules:
            args.append(f"--host-resolver-rules={host_rules.text}")
        launch_options = {
            "executable_path": settings.get("HOSTPAIRS_CHROMIUM"),
            "headless": True,
            "args": args,
            "chromium_sandbox": False,
        }
        settings.set("PLAYWRIGHT_LAUNCH_OPTIONS", launch_options, priority="spider")
        if settings.get("HOSTPAIRS_MODE") == "static":
            settings.set("CONCURRENT_REQUESTS", settings.getint("HOSTPAIRS_STATIC_CONCURRENCY"), priority="spider")
            settings.set("CONCURRENT_REQUESTS_PER_DOMAIN", settings.getint("HOSTPAIRS_STATIC_CONCURRENCY"),
                         priority="spider")

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for url in self.targets:
            if request := self._visit(url, 0, None):
                yield request
        for name, seed_group in self.seed_groups.items():
            for url in seed_group.urls:
                if request := self._visit(url, 0, name):
                    yield request

    def _visit(self, url: str, depth: int, seed_group: str | None) -> scrapy.Request | None:
        budget = self.budgets[seed_group]
        if url in budget.scheduled or len(budget.scheduled) >= budget.max_pages:
            return None
        budget.scheduled.add(url)
        if self.settings.get("HOSTPAIRS_MODE") == "static":
            return scrapy.Request(url, callback=self.parse_static, errback=self.visit_failed, dont_filter=True,
                                  meta={"hostpairs_depth": depth, "hostpairs_group": seed_group,
                                        "hostpairs_started": time.time()})
        return scrapy.Request(
            url,
            callback=self.parse_visit,
            errback=self.visit_failed,
            dont_filter=True,  # the same page may be watched by two groups
            meta={
                "playwright": True,
                "playwright_include_page": True,
                "playwright_context": f"visit-{next(_visit_numbers)}",
                "playwright_context_kwargs": {
                    "ignore_https_errors": self.settings.getbool("HOSTPAIRS_IGNORE_HTTPS_ERRORS"),
                    "accept_downloads": False,
                    "service_workers": "block",
                    "user_agent": self.settings.get("HOSTPAIRS_USER_AGENT"),
                    "viewport": {"width": 1366, "height": 768},
                },
                "playwright_page_init_callback": self._prepare_page,
                "hostpairs_depth": depth,
                "hostpairs_group": seed_group,
            },
        )

    async def _prepare_page(self, page: Page, request: scrapy.Request) -> None:
        """Guard the page's context before anything else, then start the capture.

        scrapy-playwright swallows exceptions raised here and navigates anyway (and, when a target
        closes, retries with a new page), so the guard fails closed: until this page's capture is
        attached, every request of the context is refused.
        """
        if request.meta.get("hostpairs_abandoned"):
            await page.close()  # scrapy-playwright retries a closed page: let the retries fail at once
            return
        self._handed_over(request)  # a retry after a closed target starts afresh
        request.meta.pop("hostpairs_capture", None)

        capture: BrowserCapture | None = None

        async def guard(route: Route) -> None:
            if capture is None:
                await route.abort("blockedbyclient")
                return
            if refusal := await self.guard.refusal(route.request.url):
                capture.note_blocked(route.request.url, refusal)
                await route.abort("blockedbyclient")
            else:
                await route.fallback()

        async def popup_guard(route: Route) -> None:
            """The context's route: popups (recorded by the capture) are closed and load nothing."""
            if _page_of(route) is page:
                await guard(route)
            else:
                await route.abort("blockedbyclient")

        # The page's own route runs before scrapy-playwright's; the context's sees what is left.
        await page.route("**", guard)
        await page.context.route("**", popup_guard)
        page.on("popup", lambda popup: asyncio.ensure_future(close_quietly(popup.close())))
        page.on("dialog", lambda dialog: dialog.dismiss())
        capture = await BrowserCapture.attach(
            page, request.url, request.meta["hostpairs_depth"], check_connection=self.guard.connected)
        request.meta["hostpairs_capture"] = capture
        request.meta["hostpairs_watchdog"] = asyncio.get_running_loop().call_later(
            self.settings.getfloat("PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT") / 1000 + HANDOVER_GRACE,
            self._abandon, page, request)

    def _abandon(self, page: Page, request: scrapy.Request) -> None:
        """The page was not handed over in time (a renderer stuck in a loop during load): close it,
        which fails the pending browser calls and sends the visit to `visit_failed`."""
        request.meta["hostpairs_abandoned"] = True
        asyncio.ensure_future(close_quietly(page.close()))

    @staticmethod
    def _handed_over(request: scrapy.Request) -> None:
        if watchdog := request.meta.pop("hostpairs_watchdog", None):
            watchdog.cancel()

    async def parse_visit(self, response: Response) -> AsyncIterator[Any]:
        self._handed_over(response.request)
        page: Page = response.meta["playwright_page"]
        capture: BrowserCapture | None = response.meta.get("hostpairs_capture")
        if capture is None:
            await close_quietly(page.context.close())
            yield self._bare_failure(response.request.url, response.meta["hostpairs_depth"], "browser capture did not start")
            return
        error = None
        try:
            await asyncio.wait_for(simulate_user(page, self.settings.getfloat("HOSTPAIRS_DWELL")),
                                   self.settings.getfloat("HOSTPAIRS_VISIT_TIMEOUT"))
        except (PageUnresponsive, asyncio.TimeoutError) as exc:
            error = one_line(exc) if isinstance(exc, PageUnresponsive) else "visit timed out"
        try:
            result = await capture.finish(error=error)
        finally:
            await close_quietly(page.context.close())
        result.seed_group = response.meta["hostpairs_group"]
        yield result
        for request in self._follow(result):
            yield request

    def parse_static(self, response: Response) -> Iterator[Any]:
        result = static_capture(response)
        result.seed_group = response.meta["hostpairs_group"]
        yield from self._next_stylesheet(result, stylesheets_to_fetch(result, MAX_STYLESHEETS))

    def _next_stylesheet(self, capture: PageCapture, pending: list[str]) -> Iterator[Any]:
        """Fetch the page's stylesheets one after the other, then emit the visit."""
        if not pending:
            capture.finished_at = time.time()
            yield capture
            yield from self._follow(capture)
            return
        yield scrapy.Request(pending[0], callback=self._stylesheet_fetched, errback=self._stylesheet_failed,
                             dont_filter=True, cb_kwargs={"capture": capture, "pending": pending[1:]},
                             meta={"hostpairs_group": capture.seed_group})

    def _stylesheet_fetched(self, response: Response, capture: PageCapture, pending: list[str]) -> Iterator[Any]:
        imports = add_stylesheet(capture, response)
        fetched = {r.url for r in capture.requests if r.resource_type == "stylesheet" and r.status is not None}
        room = MAX_STYLESHEETS - len(fetched) - len(pending)
        pending = pending + [url for url in imports if url not in fetched and url not in pending][:max(room, 0)]
        yield from self._next_stylesheet(capture, pending)

    def _stylesheet_failed(self, failure: Failure) -> Iterator[Any]:
        kwargs = failure.request.cb_kwargs
        stylesheet_failed(kwargs["capture"], failure.request.url, one_line(failure.value))
        yield from self._next_stylesheet(kwargs["capture"], kwargs["pending"])

    async def visit_failed(self, failure: Failure) -> AsyncIterator[PageCapture]:
        request = failure.request
        self._handed_over(request)
        error = one_line(failure.value)
        capture: BrowserCapture | None = request.meta.get("hostpairs_capture")
        if request.meta.get("hostpairs_abandoned"):
            error = "page unresponsive while loading (closed by the crawler)"
        elif capture is None and request.meta.get("playwright_page") is not None:
            error = f"browser capture did not start ({error})"
        page: Page | None = request.meta.get("playwright_page")
        try:
            if capture is not None:
                result = await capture.finish(error=error)
            else:
                result = self._bare_failure(request.url, request.meta.get("hostpairs_depth", 0), error)
            result.seed_group = request.meta.get("hostpairs_group")
            yield result
        finally:
            if page is not None:
                await close_quietly(page.context.close())

    def _bare_failure(self, url: str, depth: int, error: str) -> PageCapture:
        now = time.time()
        return PageCapture(url, url, self.settings.get("HOSTPAIRS_MODE"), now, now, depth=depth, error=error)

    def _follow(self, capture: PageCapture) -> list[scrapy.Request]:
        """Same-site links of the top document, while depth and page budget allow."""
        if capture.depth >= self.budgets[capture.seed_group].max_depth:
            return []
        page_host = host_of(capture.final_url)
        requests = []
        for link in capture.links:
            if link.tag != "a" or len(link.frame_chain) != 1:
                continue  # only anchors of the top document
            href = link.href.split("#")[0]
            link_host = host_of(href)
            if page_host and link_host and same_site(page_host, link_host):
                if request := self._visit(href, capture.depth + 1, capture.seed_group):
                    requests.append(request)
        return requests
