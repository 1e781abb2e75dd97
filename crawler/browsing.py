"""A user's visit rather than a page load: scroll through the page, move the mouse, dwell."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable
from typing import Any

from playwright.async_api import Page

logger = logging.getLogger(__name__)

STEP_TIMEOUT = 5.0
_SCROLL_GLANCE = 0.06
"""Seconds after a scroll step before the page is looked at: its scroll handlers and intersection
observers have run by then (they run with the next frames, ~16 ms apart)."""
_SCROLL_PAUSE = 0.25
"""Seconds a scroll step that started requests or grew the DOM waits for what it started."""
_MAX_SCROLL_STEPS = 40
PAGE_TIME_SETTLE = 0.5
"""Seconds after the page's timers were fast-forwarded for what they started to be requested."""
_SCROLL_STATE = "() => [innerHeight + scrollY >= document.documentElement.scrollHeight - 2, document.getElementsByTagName('*').length]"
"""Whether the page is scrolled to the bottom, and how many elements it has."""


class PageUnresponsive(Exception):
    """The page stopped answering (a busy loop, a hung renderer)."""


async def _step(awaitable: Awaitable[Any], what: str) -> Any:
    """Run one interaction with a timeout: a hostile page must not stall the crawler."""
    try:
        return await asyncio.wait_for(awaitable, STEP_TIMEOUT)
    except asyncio.TimeoutError:
        raise PageUnresponsive(f"page unresponsive during {what}") from None
    except Exception as exc:  # navigated away, closed frame: carry on with the visit
        logger.debug("visit step %s failed: %s", what, exc)
        return None


async def simulate_user(page: Page, dwell: float) -> None:
    """Scroll to the bottom in steps, move the mouse about, and stay `dwell` seconds after load.

    A step that starts no request and adds no element is followed by the next at once; one that
    does (lazy images, infinite scroll, a scroll-triggered injection) waits _SCROLL_PAUSE for it.
    Raises PageUnresponsive when the page stops answering."""
    loaded_at = time.monotonic()
    viewport = page.viewport_size or {"width": 1366, "height": 768}
    width, height = viewport["width"], viewport["height"]
    requests = 0

    def requested(_: object) -> None:
        nonlocal requests
        requests += 1

    page.on("request", requested)
    try:
        await _step(page.mouse.move(width / 2, height / 2, steps=5), "mouse move")
        elements = None
        for _ in range(_MAX_SCROLL_STEPS):
            before = requests
            await _step(page.mouse.wheel(0, height * 0.8), "scroll")
            await asyncio.sleep(_SCROLL_GLANCE)
            state = await _step(page.evaluate(_SCROLL_STATE), "scroll")
            if state is None:
                break  # navigated away, frame gone: nothing more to scroll
            if requests > before or (elements is not None and state[1] > elements):
                await asyncio.sleep(_SCROLL_PAUSE)
                state = await _step(page.evaluate(_SCROLL_STATE), "scroll") or state
            at_bottom, elements = state
            if at_bottom:
                break
    finally:
        page.remove_listener("request", requested)
    for x, y in ((width * 0.2, height * 0.3), (width * 0.8, height * 0.6), (width * 0.5, height * 0.9)):
        await _step(page.mouse.move(x, y, steps=8), "mouse move")
    await _step(page.evaluate("() => window.scrollTo(0, 0)"), "scroll")
    remaining = dwell - (time.monotonic() - loaded_at)
    if remaining > 0:
        await asyncio.sleep(remaining)


async def pass_page_time(page: Page, seconds: float) -> None:
    """Fast-forward the page's timers by `seconds` of page time on Playwright's clock (installed
    before the page loaded), firing every timer due meanwhile in order, then give what they started
    a moment to be requested. Raises PageUnresponsive when the page stops answering."""
    try:
        await asyncio.wait_for(page.clock.run_for(int(seconds * 1000)), STEP_TIMEOUT + seconds / 10)
    except asyncio.TimeoutError:
        raise PageUnresponsive("page unresponsive while its timers ran") from None
    except Exception as exc:  # a page that keeps setting timers: Playwright ends the run; carry on
        logger.debug("page time not passed: %s", exc)
    await asyncio.sleep(PAGE_TIME_SETTLE)
