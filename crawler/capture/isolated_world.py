"""The capture's own isolated world in each frame: JavaScript the capture runs there sees the
page's DOM through wrappers of its own, so nothing the page's scripts override (a prototype's
getter, `document.scripts`, `performance`) changes what it reads."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Iterable
from typing import Any

from playwright.async_api import CDPSession

from hostpairs.crawler.browsing import STEP_TIMEOUT

logger = logging.getLogger(__name__)

WORLD = "hostpairs-capture"


async def run_in_every_document(session: CDPSession, source: str) -> None:
    """Run `source` in the world at the start of every document the page loads from now on."""
    await session.send("Page.addScriptToEvaluateOnNewDocument", {"source": source, "worldName": WORLD})


async def evaluate(session: CDPSession, frame_id: str, expression: str) -> Any:
    """The value of `expression` evaluated in the frame's world (JSON-able values only); raises
    when the frame does not answer within a step's time."""
    world = await asyncio.wait_for(
        session.send("Page.createIsolatedWorld", {"frameId": frame_id, "worldName": WORLD}), STEP_TIMEOUT)
    reply = await asyncio.wait_for(session.send("Runtime.evaluate", {
        "expression": expression, "contextId": world["executionContextId"], "returnByValue": True}), STEP_TIMEOUT)
    if "exceptionDetails" in reply:
        raise RuntimeError(reply["exceptionDetails"].get("text", "exception"))
    return reply.get("result", {}).get("value")


async def evaluate_each(session: CDPSession, frame_ids: Iterable[str], expression: str,
                        deadline: float | None = None) -> AsyncIterator[tuple[str, Any]]:
    """(frame id, value of `expression`) for each frame, read one by one until `deadline`
    (monotonic); a frame that does not answer (detached, crashed, busy) is skipped."""
    for frame_id in frame_ids:
        if deadline is not None and time.monotonic() > deadline:
            return
        try:
            value = await evaluate(session, frame_id, expression)
        except Exception as exc:
            logger.debug("frame %s did not answer in the capture's world: %s", frame_id, exc)
            continue
        yield frame_id, value
