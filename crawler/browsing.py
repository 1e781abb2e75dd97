"""A user's visit rather than a page load: scroll through the page, move the mouse, dwell."""

from __future__ import annotations

import asyncio
import logging
import time

from playwright.async_api import Page

logger = logging.getLogger(__name__)

_STEP_TIMEOUT = 5.0
_SCROLL_PAUSE = 0.25
_MAX_SCROLL_STEPS = 40


async def _step(awaitable, what: str) -> object:  # noqa: ANN001
    """Run one interaction with a timeout: a hostile page must not stall the crawler."""
    try:
        return await asyncio.wait_for(awaitable, _STEP_TIMEOUT)
    except Exception as exc:
        logger.debug("visit step %s failed: %s", what, exc)
        return None


async def simulate_user(page: Page, dwell: float) -> None:
    """Scroll to the bottom in steps, move the mouse about, and stay `dwell` seconds after load."""
    loaded_at = time.monotonic()
    viewport = page.viewport_size or {"width": 1366, "height": 768}
    width, height = viewport["width"], viewport["height"]
    await _step(page.mouse.move(width / 2, height / 2, steps=5), "mouse")
    for _ in range(_MAX_SCROLL_STEPS):
        await _step(page.mouse.wheel(0, height * 0.8), "scroll")
        await asyncio.sleep(_SCROLL_PAUSE)
        at_bottom = await _step(
            page.evaluate("() => innerHeight + scrollY >= document.documentElement.scrollHeight - 2"), "position"
        )
        if at_bottom is not False:
            break
    for x, y in ((width * 0.2, height * 0.3), (width * 0.8, height * 0.6), (width * 0.5, height * 0.9)):
        await _step(page.mouse.move(x, y, steps=8), "mouse")
    await _step(page.evaluate("() => window.scrollTo(0, 0)"), "scroll to top")
    remaining = dwell - (time.monotonic() - loaded_at)
    if remaining > 0:
        await asyncio.sleep(remaining)
