"""A visit in the browser: the page is guarded and captured before it loads, watched while it
loads, then browsed like a user and read out (scrapy-playwright gives the page to the spider)."""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Awaitable
from typing import Any

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

_context_numbers = itertools.count(1)


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
    if request.meta.get("hostpairs_abandoned"):
        await page.close()  # scrapy-playwright retries a closed page: let the retries fail at once
        return
    handed_over(request)  # a retry after a closed target starts afresh
    request.meta.pop("hostpairs_capture", None)

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
    capture = await BrowserCapture.attach(page, request.url, request.meta.get("depth", 0),
                                          check_connection=guard.connected)
    request.meta["hostpairs_capture"] = capture
    request.meta["hostpairs_watchdog"] = asyncio.get_running_loop().call_later(
        navigation_timeout + HANDOVER_GRACE, _abandon, page, request)


def _abandon(page: Page, request: scrapy.Request) -> None:
    """The page was not handed over in time (a renderer stuck in a loop during load): close it,
    which fails the pending browser calls and sends the visit to its errback."""
    request.meta["hostpairs_abandoned"] = True
    asyncio.ensure_future(close_quietly(page.close()))


def handed_over(request: scrapy.Request) -> None:
    """The page reached the spider (or failed): its watchdog is no longer needed."""
    if watchdog := request.meta.pop("hostpairs_watchdog", None):
        watchdog.cancel()


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
    within `visit_timeout`); close its context and return what the visit observed."""
    handed_over(request)
    capture: BrowserCapture | None = request.meta.get("hostpairs_capture")
    if capture is None:
        await close_quietly(page.context.close())
        return PageCapture.failure(request.url, "browser", request.meta.get("depth", 0), "browser capture did not start")
    error = None
    load_finished = False
    try:
        async with asyncio.timeout(visit_timeout):
            load_finished = await _load_event(page, load_wait)
            await simulate_user(page, dwell)
    except (PageUnresponsive, TimeoutError) as exc:
        error = one_line(exc) if isinstance(exc, PageUnresponsive) else "visit timed out"
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
    handed_over(request)
    error = one_line(exception)
    capture: BrowserCapture | None = request.meta.get("hostpairs_capture")
    page: Page | None = request.meta.get("playwright_page")
    if request.meta.get("hostpairs_abandoned"):
        error = "page unresponsive while loading (closed by the crawler)"
    elif capture is None and page is not None:
        error = f"browser capture did not start ({error})"
    try:
        if capture is not None:
            return await capture.finish(error=error)
        return PageCapture.failure(request.url, "browser", request.meta.get("depth", 0), error)
    finally:
        if page is not None:
            await close_quietly(page.context.close())
