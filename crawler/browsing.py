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
_SCROLL_PAUSE = 0.25
_MAX_SCROLL_STEPS = 40


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

    Raises PageUnresponsive when the page stops answering."""
    loaded_at = time.monotonic()
    viewport = page.viewport_size or {"width": 1366, "height": 768}
    width, height = viewport["width"], viewport["height"]
    await _step(page.mouse.move(width / 2, height / 2, steps=5), "mouse move")
    for _ in range(_MAX_SCROLL_STEPS):
        await _step(page.mouse.wheel(0, height * 0.8), "scroll")
        await asyncio.sleep(_SCROLL_PAUSE)
        at_bottom = await _step(
            page.evaluate("() => innerHeight + scrollY >= document.documentElement.scrollHeight - 2"), "scroll"
        )
        if at_bottom is not False:
            break
    for x, y in ((width * 0.2, height * 0.3), (width * 0.8, height * 0.6), (width * 0.5, height * 0.9)):
        await _step(page.mouse.move(x, y, steps=8), "mouse move")
    await _step(page.evaluate("() => window.scrollTo(0, 0)"), "scroll")
    remaining = dwell - (time.monotonic() - loaded_at)
    if remaining > 0:
        await asyncio.sleep(remaining)
