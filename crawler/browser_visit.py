"""A visit in the browser: the page is guarded and captured before it loads, watched while it
loads, then browsed like a user and read out (scrapy-playwright gives the page to the spider)."""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import scrapy
from playwright.async_api import Page, Route
from scrapy.settings import BaseSettings

from hostpairs.crawler.browsing import STEP_TIMEOUT, PageUnresponsive, simulate_user
from hostpairs.crawler.capture import BrowserCapture
from hostpairs.crawler.errors import one_line
from hostpairs.crawler.safety import AddressGuard
from hostpairs.extractors.observations import PageCapture

logger = logging.getLogger(__name__)

HANDOVER_GRACE = 15.0
"""Seconds after the navigation timeout before a page that was never handed over is closed."""
ATTACH_TIMEOUT = STEP_TIMEOUT * 2
"""Seconds the capture may take to attach to a fresh page (a dead renderer never answers)."""

RENDERER_CRASHED = "renderer crashed"
BROWSER_CLOSED = "browser closed during the visit"
PAGE_CLOSED = "page closed during the visit"

_context_numbers = itertools.count(1)
_T = TypeVar("_T")


class PageLost(Exception):
    """The page's renderer crashed, or the page or the whole browser went away, mid-visit."""


@dataclass
class _Visit:
    """One visit across the pages scrapy-playwright may try it in (a page whose target closes
    during navigation is retried with a new one), kept in the request's meta."""

    page: Page | None = None
    capture: BrowserCapture | None = None
    watchdog: asyncio.TimerHandle | None = None
    abandoned: bool = False
    """The watchdog closed a page that was never handed over."""
    lost_reason: str | None = None
    """Why the page went away under the visit (renderer crash, browser killed)."""
    lost: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def over(self) -> bool:
        """Nothing more can come of this visit: retries must fail at once."""
        return self.abandoned or self.lost_reason == RENDERER_CRASHED


def _visit_of(request: scrapy.Request) -> _Visit:
    visit = request.meta.get("hostpairs_visit")
    if visit is None:
        visit = request.meta["hostpairs_visit"] = _Visit()
    return visit


async def close_quietly(closing: Awaitable[None]) -> None:
    """Close a page or context without letting a stuck browser stall or fail the crawl."""
    try:
        await asyncio.wait_for(closing, STEP_TIMEOUT * 2)
    except Exception as exc:
        logger.debug("close failed: %s", exc)


def _page_of(route: Route) -> Page | None:
    """The page a routed request belongs to (None for requests of no page: service workers)."""
    try:
        return route.request.frame.page
    except Exception:
        return None


def browser_meta(settings: BaseSettings, prepare_page: Any) -> dict[str, Any]:
    """Request meta for a browser visit: a fresh context of its own (nothing shared between
    visits), downloads refused, service workers blocked; `prepare_page` runs before navigation."""
    return {
        "playwright": True,
        "playwright_include_page": True,
        "playwright_context": f"visit-{next(_context_numbers)}",
        "playwright_context_kwargs": {
            "ignore_https_errors": settings.getbool("HOSTPAIRS_IGNORE_HTTPS_ERRORS"),
            "accept_downloads": False,
            "service_workers": "block",
            "user_agent": settings.get("HOSTPAIRS_USER_AGENT"),
            "viewport": {"width": 1366, "height": 768},
        },
        "playwright_page_init_callback": prepare_page,
        # Hand the page over at DOMContentLoaded: one hanging frame or tracker must not cost the
        # visit its user simulation and final DOM (`browse` waits for load a bounded time).
        "playwright_page_goto_kwargs": {"wait_until": "domcontentloaded"},
    }


async def prepare_page(page: Page, request: scrapy.Request, guard: AddressGuard, navigation_timeout: float) -> None:
    """Guard the page's context before anything else, then start the capture.

    scrapy-playwright swallows exceptions raised here and navigates anyway (and, when a target
    closes, retries with a new page), so the guard fails closed: until this page's capture is
    attached, every request of the context is refused."""
    visit = _visit_of(request)
    if visit.over:
        await page.close()  # scrapy-playwright retries a closed page: let the retries fail at once
        return
    visit.page, visit.capture, visit.lost_reason = page, None, None  # a retry starts afresh
    visit.lost.clear()
    _arm_watchdog(visit, navigation_timeout + HANDOVER_GRACE)

    capture: BrowserCapture | None = None

    async def page_guard(route: Route) -> None:
        if capture is None:
            await route.abort("blockedbyclient")
            return
        if refusal := await guard.refusal(route.request.url):
            capture.note_blocked(route.request.url, refusal)
            await route.abort("blockedbyclient")
        else:
            await route.fallback()

    async def popup_guard(route: Route) -> None:
        """The context's route: popups (recorded by the capture) are closed and load nothing."""
        if _page_of(route) is page:
            await page_guard(route)
        else:
            await route.abort("blockedbyclient")

    # The page's own route runs before scrapy-playwright's; the context's sees what is left.
    await page.route("**", page_guard)
    await page.context.route("**", popup_guard)
    page.on("popup", lambda popup: asyncio.ensure_future(close_quietly(popup.close())))
    page.on("dialog", lambda dialog: dialog.dismiss())
    page.on("crash", lambda _: _page_lost(visit, page, RENDERER_CRASHED))
    page.on("close", lambda _: _page_lost(visit, page, PAGE_CLOSED))
    # A renderer that died while the page was being created never answers: bounded.
    capture = await asyncio.wait_for(
        BrowserCapture.attach(page, request.url, request.meta.get("depth", 0), check_connection=guard.connected),
        ATTACH_TIMEOUT)
    visit.capture = capture


def _arm_watchdog(visit: _Visit, delay: float) -> None:
    if visit.watchdog is not None:
        visit.watchdog.cancel()
    visit.watchdog = asyncio.get_running_loop().call_later(delay, _abandon, visit)


def _abandon(visit: _Visit) -> None:
    """The page was not handed over in time (a renderer stuck in a loop during load): close it,
    which fails the pending browser calls and sends the visit to its errback."""
    visit.abandoned = True
    if visit.page is not None:
        asyncio.ensure_future(close_quietly(visit.page.close()))


def _page_lost(visit: _Visit, page: Page, reason: str) -> None:
    """The page crashed or closed. If the crawler did not close it itself, the visit ends here
    with `reason`; a crashed page is closed (its renderer is gone; nothing of it answers)."""
    if page is not visit.page or visit.abandoned or visit.lost.is_set():
        return
    visit.lost_reason = reason
    visit.lost.set()
    if reason == RENDERER_CRASHED:
        asyncio.ensure_future(close_quietly(page.close()))


def handed_over(request: scrapy.Request) -> None:
    """The page reached the spider (or failed): its watchdog is no longer needed."""
    visit = _visit_of(request)
    if visit.watchdog is not None:
        visit.watchdog.cancel()
        visit.watchdog = None


async def _unless_lost(visit: _Visit, awaitable: Awaitable[_T]) -> _T:
    """Await `awaitable` unless the page is lost first (PageLost): a crashed renderer or a dead
    browser fails some calls and leaves others pending forever."""
    task = asyncio.ensure_future(awaitable)
    lost = asyncio.ensure_future(visit.lost.wait())
    try:
        await asyncio.wait({task, lost}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        lost.cancel()
        if not task.done():
            task.cancel()
    if visit.lost.is_set():
        if task.done() and not task.cancelled():
            task.exception()  # retrieved: what a dying page's calls raised is not the visit's error
        raise PageLost(await _lost_reason(visit))
    return task.result()


async def _lost_reason(visit: _Visit) -> str:
    """Why the page was lost: a page closed under the visit is the browser going away (killed,
    crashed) if the browser disconnects soon after (Playwright reports the page closed first)."""
    if visit.lost_reason == PAGE_CLOSED and visit.page is not None:
        browser = visit.page.context.browser
        for _ in range(10):
            if browser is not None and not browser.is_connected():
                visit.lost_reason = BROWSER_CLOSED
                break
            await asyncio.sleep(0.05)
    return visit.lost_reason or PAGE_CLOSED


async def _load_event(page: Page, load_wait: float) -> bool:
    """Wait up to `load_wait` seconds for the page's load event; whether it came."""
    try:
        await asyncio.wait_for(page.wait_for_load_state("load"), load_wait)
    except asyncio.TimeoutError:
        return False
    except Exception as exc:  # closed, navigated away: the visit goes on with what there is
        logger.debug("no load event: %s", exc)
        return False
    return True


async def browse(page: Page, request: scrapy.Request, dwell: float, visit_timeout: float,
                 load_wait: float) -> PageCapture:
    """Browse a page that reached DOMContentLoaded like a user: wait up to `load_wait` seconds for
    its load event (recording whether it came), then `dwell` seconds of scrolling and mouse (all
    within `visit_timeout`); close its context and return what the visit observed. A renderer
    crash or a browser that goes away ends the visit there, with what it had observed."""
    visit = _visit_of(request)
    handed_over(request)
    capture = visit.capture
    if capture is None:
        await close_quietly(page.context.close())
        return PageCapture.failure(request.url, "browser", request.meta.get("depth", 0), "browser capture did not start")
    error = None
    load_finished = False

    async def user_visit() -> None:
        nonlocal load_finished
        load_finished = await _load_event(page, load_wait)
        await simulate_user(page, dwell)

    try:
        async with asyncio.timeout(visit_timeout):
            await _unless_lost(visit, user_visit())
    except (PageUnresponsive, PageLost) as exc:
        error = one_line(exc)
    except TimeoutError:
        error = "visit timed out"
    try:
        result = await capture.finish(error=error)
    finally:
        await close_quietly(page.context.close())
    result.load_finished = load_finished
    if not load_finished and error is None:
        result.limits_hit = (f"load wait {load_wait:g} s",)
    return result


async def failed(request: scrapy.Request, exception: BaseException) -> PageCapture:
    """What a visit whose page failed to load observed, with its error; the context is closed."""
    visit = _visit_of(request)
    handed_over(request)
    error = one_line(exception)
    capture = visit.capture
    page: Page | None = request.meta.get("playwright_page") or visit.page
    if visit.abandoned:
        error = "page unresponsive while loading (closed by the crawler)"
    elif visit.lost_reason is not None:
        error = await _lost_reason(visit)
    elif capture is None and page is not None:
        error = f"browser capture did not start ({error})"
    try:
        if capture is not None:
            return await capture.finish(error=error)
        return PageCapture.failure(request.url, "browser", request.meta.get("depth", 0), error)
    finally:
        if page is not None:
            await close_quietly(page.context.close())
