"""A visit in the browser: the page is guarded and captured before it loads, watched while it
loads, then browsed like a user and read out (scrapy-playwright gives the page to the spider).

A visit always ends in a PageCapture: a page that crashes its renderer, loses its browser, never
finishes its document, or trips a download or a navigation while scrapy-playwright reads it is
recorded with what it showed and why it ended; the per-visit limits it reached (`VisitLimits`)
are in `limits_hit`."""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import scrapy
from playwright.async_api import Dialog, Page
from playwright.async_api import TimeoutError as PlaywrightTimeoutError
from scrapy.settings import BaseSettings

from hostpairs.crawler.browsing import STEP_TIMEOUT, PageUnresponsive, pass_page_time, simulate_user
from hostpairs.crawler.capture import BrowserCapture, CaptureLimits
from hostpairs.crawler.capture.dom import viewport_screenshot
from hostpairs.crawler.capture.page_scripts import storm_caps_js
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
UNRESPONSIVE_WHILE_LOADING = "page unresponsive while loading"

_context_numbers = itertools.count(1)
_T = TypeVar("_T")


@dataclass(frozen=True)
class VisitLimits:
    """The per-visit limits of crawler/settings.py, read once per request."""

    page_timeout: float = 30.0
    load_wait: float = 10.0
    dwell: float = 5.0
    visit_timeout: float = 90.0
    max_frames: int = 1000
    max_requests: int = 5000
    max_response_bytes: int = 32 * 1024 * 1024
    max_visit_bytes: int = 128 * 1024 * 1024
    max_dialogs: int = 20
    max_popups: int = 20
    max_messages: int = 10000

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> VisitLimits:
        return cls(
            page_timeout=settings.getfloat("HOSTPAIRS_PAGE_TIMEOUT"),
            load_wait=settings.getfloat("HOSTPAIRS_LOAD_WAIT"),
            dwell=settings.getfloat("HOSTPAIRS_DWELL"),
            visit_timeout=settings.getfloat("HOSTPAIRS_VISIT_TIMEOUT"),
            max_frames=settings.getint("HOSTPAIRS_MAX_FRAMES"),
            max_requests=settings.getint("HOSTPAIRS_MAX_REQUESTS"),
            max_response_bytes=settings.getint("HOSTPAIRS_MAX_RESPONSE_BYTES"),
            max_visit_bytes=settings.getint("HOSTPAIRS_MAX_VISIT_BYTES"),
            max_dialogs=settings.getint("HOSTPAIRS_MAX_DIALOGS"),
            max_popups=settings.getint("HOSTPAIRS_MAX_POPUPS"),
            max_messages=settings.getint("HOSTPAIRS_MAX_MESSAGES"),
        )

    def capture_limits(self) -> CaptureLimits:
        return CaptureLimits(max_frames=self.max_frames, max_requests=self.max_requests,
                             max_response_bytes=self.max_response_bytes, max_visit_bytes=self.max_visit_bytes,
                             max_popups=self.max_popups, max_messages=self.max_messages)


class PageLost(Exception):
    """The page's renderer crashed, or the page or the whole browser went away, mid-visit."""


@dataclass
class _Visit:
    """One visit across the pages scrapy-playwright may try it in (a page whose target closes
    during navigation is retried with a new one), kept in the request's meta."""

    limits: VisitLimits = field(default_factory=VisitLimits)
    page: Page | None = None
    capture: BrowserCapture | None = None
    watchdog: asyncio.TimerHandle | None = None
    abandoned: bool = False
    """The watchdog closed a page that was never handed over."""
    lost_reason: str | None = None
    """Why the page went away under the visit (renderer crash, browser killed)."""
    lost: asyncio.Event = field(default_factory=asyncio.Event)
    dialogs: int = 0
    page_time: float = 0.0
    """Seconds of the page's timers fast-forwarded after the user simulation (0: the clock is the page's own)."""
    screenshots: bool = True
    """Whether the viewport is photographed after the user simulation."""
    screenshot: bytes | None = None
    inventory: bool = False
    """Whether the page's scripts are inventoried: their bodies and <script> elements kept."""

    @property
    def over(self) -> bool:
        """Nothing more can come of this visit: retries must fail at once."""
        return self.abandoned or self.lost_reason == RENDERER_CRASHED

    def limits_hit(self) -> tuple[str, ...]:
        """The limits this visit's page reached that the capture does not know of."""
        return (f"dialogs {self.limits.max_dialogs}",) if self.dialogs >= self.limits.max_dialogs > 0 else ()


def _visit_of(request: scrapy.Request) -> _Visit:
    visit = request.meta.get("hostpairs_visit")
    if visit is None:
        visit = request.meta["hostpairs_visit"] = _Visit(request.meta.get("hostpairs_limits") or VisitLimits(),
                                                         page_time=request.meta.get("hostpairs_page_time") or 0.0,
                                                         screenshots=request.meta.get("hostpairs_screenshots", True),
                                                         inventory=request.meta.get("hostpairs_inventory", False))
    return visit


async def close_quietly(closing: Awaitable[None]) -> None:
    """Close a page or context without letting a stuck browser stall or fail the crawl."""
    try:
        await asyncio.wait_for(closing, STEP_TIMEOUT * 2)
    except Exception as exc:
        logger.debug("close failed: %s", exc)


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
        "hostpairs_limits": VisitLimits.from_settings(settings),
        "hostpairs_screenshots": settings.getbool("HOSTPAIRS_SCREENSHOTS"),
    }


async def prepare_page(page: Page, request: scrapy.Request, guard: AddressGuard, navigation_timeout: float) -> None:
    """Start the capture and put the guard before every request of the page, then let it navigate.

    One interception, the capture's own DevTools `Fetch`, judges every request the page makes
    (redirect hops and its dedicated workers' included): the address guard, the frame limit and
    the request limit. Playwright's request routing is not used (scrapy-playwright's route, which
    only rewrites headers the crawler does not ask it to, is removed): each route would pause every
    request once more and send it to Python and back. Popups are refused by Chromium's own popup
    blocker (the user simulation gives no user activation), recorded from `Page.windowOpen`.

    scrapy-playwright swallows exceptions raised here and navigates anyway (and, when a target
    closes, retries with a new page), so the guard fails closed: a page whose capture could not
    start is taken offline (or closed) before it loads anything."""
    visit = _visit_of(request)
    if visit.over:
        await page.close()  # scrapy-playwright retries a closed page: let the retries fail at once
        return
    visit.page, visit.capture, visit.lost_reason = page, None, None  # a retry starts afresh
    visit.lost.clear()
    _arm_watchdog(visit, navigation_timeout + HANDOVER_GRACE)

    async def dismiss(dialog: Dialog) -> None:
        visit.dialogs += 1
        try:
            await dialog.dismiss()
        except Exception as exc:  # the page went away meanwhile
            logger.debug("could not dismiss a dialog: %s", exc)

    try:
        await page.unroute("**")  # scrapy-playwright's: see above
        await page.add_init_script(storm_caps_js(visit.limits.max_dialogs, visit.limits.max_popups))
        if visit.page_time > 0:  # the page's timers run on Playwright's clock from the start (real speed until fast-forwarded)
            await asyncio.wait_for(page.clock.install(), ATTACH_TIMEOUT)
        page.on("popup", lambda popup: asyncio.ensure_future(close_quietly(popup.close())))
        page.on("dialog", dismiss)
        page.on("crash", lambda _: _page_lost(visit, page, RENDERER_CRASHED))
        page.on("close", lambda _: _page_lost(visit, page, PAGE_CLOSED))
        # A renderer that died while the page was being created never answers: bounded.
        capture = await asyncio.wait_for(
            BrowserCapture.attach(page, request.url, request.meta.get("depth", 0), check_connection=guard.connected,
                                  limits=visit.limits.capture_limits(), inventory=visit.inventory),
            ATTACH_TIMEOUT)
        await asyncio.wait_for(_guard_every_request(capture, guard), ATTACH_TIMEOUT)
    except BaseException:
        await _refuse_everything(visit, page)
        raise
    visit.capture = capture


async def _refuse_everything(visit: _Visit, page: Page) -> None:
    """The guard is not on: the page must load nothing. Offline, its navigation fails at once
    (the visit records that its capture did not start); a page that cannot even be taken
    offline is closed, and the visit's retries fail at once."""
    try:
        await asyncio.wait_for(page.context.set_offline(True), ATTACH_TIMEOUT)
    except Exception as exc:
        logger.debug("could not take a page without its guard offline: %s", exc)
        visit.abandoned = True
        await close_quietly(page.close())


async def _guard_every_request(capture: BrowserCapture, guard: AddressGuard) -> None:
    """Pause every request of the page (redirect hops and dedicated workers' requests included)
    in the capture's DevTools session and fail those refused: past the capture's limits, or to an
    address the guard refuses. Each answer is awaited off the paused request's event, never in
    Playwright's dispatch."""
    session = capture.session

    async def paused(event: dict[str, Any]) -> None:
        request_id, url = event["requestId"], event["request"]["url"]
        limited = refusal = capture.refusal(event.get("frameId"))
        if refusal is None:
            try:
                refusal = await guard.refusal(url)
            except Exception as exc:  # fail closed
                refusal = f"refused: the address guard failed ({one_line(exc)})"
        try:
            if refusal is None:
                await session.send("Fetch.continueRequest", {"requestId": request_id})
                return
            capture.note_blocked(url, refusal)
            # A frame refused past a limit, or navigated away from a document it shows, is
            # aborted: it keeps its document, or shows no error page (each would be a document
            # of its own, 200 KB or so). The visit's own first navigation keeps its network error.
            navigates_away = event.get("resourceType") == "Document" and (
                event.get("frameId") != capture.frames.main_frame_id or capture.document_committed)
            await session.send("Fetch.failRequest", {
                "requestId": request_id,
                "errorReason": "Aborted" if limited or navigates_away else "BlockedByClient"})
        except Exception as exc:  # the page went away meanwhile
            logger.debug("could not answer an intercepted request: %s", exc)

    session.on("Fetch.requestPaused", lambda event: asyncio.ensure_future(paused(event)))
    await session.send("Fetch.enable", {"patterns": [{"urlPattern": "*", "requestStage": "Request"}]})


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


async def _unless_lost(visit: _Visit, awaitable: Awaitable[_T], cut: asyncio.Event | None = None) -> _T | None:
    """Await `awaitable` unless the page is lost first (PageLost): a crashed renderer or a dead
    browser fails some calls and leaves others pending forever. When `cut` is set first (the
    capture cut the page off at a limit), stop there and return None."""
    task = asyncio.ensure_future(awaitable)
    waits = {asyncio.ensure_future(visit.lost.wait())}
    if cut is not None:
        waits.add(asyncio.ensure_future(cut.wait()))
    try:
        await asyncio.wait({task, *waits}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for wait in waits:
            wait.cancel()
        if not task.done():
            task.cancel()
    if visit.lost.is_set() or not task.done() or task.cancelled():
        if task.done() and not task.cancelled():
            task.exception()  # retrieved: what a dying page's calls raised is not the visit's error
        if visit.lost.is_set():
            raise PageLost(await _lost_reason(visit))
        return None
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
    if visit.capture is None:
        await close_quietly(page.context.close())
        return PageCapture.failure(request.url, "browser", request.meta.get("depth", 0), "browser capture did not start")
    return await _browse(page, visit, visit.capture, dwell, visit_timeout, load_wait)


async def _browse(page: Page, visit: _Visit, capture: BrowserCapture, dwell: float, visit_timeout: float,
                  load_wait: float | None, limits_hit: tuple[str, ...] = ()) -> PageCapture:
    """The user's visit and its read-out; `load_wait` None: the document never finished, so
    there is no load event to wait for."""
    error = None
    load_finished = False

    async def user_visit() -> None:
        nonlocal load_finished
        if load_wait is not None:
            load_finished = await _load_event(page, load_wait)
        await simulate_user(page, dwell)
        if visit.page_time > 0:
            await pass_page_time(page, visit.page_time)
        if visit.screenshots:
            visit.screenshot = await viewport_screenshot(page)

    page_answers = True
    try:
        async with asyncio.timeout(visit_timeout):
            await _unless_lost(visit, user_visit(), capture.cut)
    except (PageUnresponsive, PageLost) as exc:
        error = one_line(exc)
        page_answers = False
    except TimeoutError:
        error = "visit timed out"
        limits_hit += (f"visit timeout {visit_timeout:g} s",)
    try:
        result = await capture.finish(error=error, page_answers=page_answers)
    finally:
        await close_quietly(page.context.close())
    result.load_finished = load_finished
    result.screenshot = visit.screenshot
    if not load_finished and error is None and load_wait is not None:
        limits_hit = (f"load wait {load_wait:g} s", *limits_hit)
    result.limits_hit = _merged(limits_hit, visit.limits_hit(), result.limits_hit)
    return result


def _merged(*groups: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(limit for group in groups for limit in group))


async def _answers(page: Page) -> bool:
    """Whether the page's main thread runs a script within a step's timeout (a page navigating
    meanwhile answers too)."""
    try:
        await asyncio.wait_for(page.evaluate("1"), STEP_TIMEOUT)
    except asyncio.TimeoutError:
        return False
    except Exception as exc:
        logger.debug("evaluate failed: %s", exc)
        return not page.is_closed()
    return True


async def failed(request: scrapy.Request, exception: BaseException) -> PageCapture:
    """What a visit whose page failed to load observed, with its error; the context is closed.

    A page that did show a document of its own is browsed all the same when it still answers:
    one whose document never finished within the page timeout (it trickles forever, records the
    limit), and one that tripped scrapy-playwright after DOMContentLoaded (a scripted download,
    a page that navigates while it is read)."""
    visit = _visit_of(request)
    handed_over(request)
    limits = visit.limits
    error = one_line(exception)
    capture = visit.capture
    page: Page | None = request.meta.get("playwright_page") or visit.page
    timed_out = isinstance(exception, PlaywrightTimeoutError)
    limits_hit = (f"page timeout {limits.page_timeout:g} s",) if timed_out or visit.abandoned else ()
    page_answers = not (visit.abandoned or visit.lost_reason or timed_out)
    if visit.abandoned:
        error = f"{UNRESPONSIVE_WHILE_LOADING} (closed by the crawler)"
    elif visit.lost_reason is not None:
        error = await _lost_reason(visit)
    elif capture is None and page is not None:
        error = f"browser capture did not start ({error})"
    elif capture is not None and "ERR_BLOCKED_BY_CLIENT" in error and (refusal := capture.network.main_refusal()):
        error = refusal  # the visited URL redirected to an address the guard refuses
    elif page is not None and capture is not None and not page.is_closed() and capture.document_committed:
        if await _answers(page):
            logger.debug("browsing %s despite: %s", request.url, error)
            return await _browse(page, visit, capture, limits.dwell, limits.visit_timeout,
                                 None if timed_out else limits.load_wait, limits_hit)
        error = UNRESPONSIVE_WHILE_LOADING
    try:
        if capture is not None:
            result = await capture.finish(error=error, page_answers=page_answers)
        else:
            result = PageCapture.failure(request.url, "browser", request.meta.get("depth", 0), error)
        result.limits_hit = _merged(limits_hit, visit.limits_hit(), result.limits_hit)
        return result
    finally:
        if page is not None:
            await close_quietly(page.context.close())
