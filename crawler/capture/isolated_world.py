"""The capture's own isolated world in each frame: JavaScript the capture runs there sees the
page's DOM through wrappers of its own, so nothing the page's scripts override (a prototype's
getter, `document.scripts`, `performance`) changes what it reads."""

from __future__ import annotations

import asyncio
from typing import Any

from playwright.async_api import CDPSession

from hostpairs.crawler.browsing import STEP_TIMEOUT

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
