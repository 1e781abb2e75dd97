"""What the page's final DOM holds, read at the end of a visit: links, forms, markup, cookies,
and the viewport's screenshot."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time

from playwright.async_api import CDPSession, Page

from hostpairs.crawler.browsing import STEP_TIMEOUT
from hostpairs.crawler.capture import isolated_world
from hostpairs.crawler.capture.frames import FrameTree, playwright_frame_chain
from hostpairs.crawler.capture.page_scripts import DOM_REFERENCES_JS, MARKUP_JS, SCRIPTS_JS
from hostpairs.extractors.observations import (
    CookieObservation,
    FormObservation,
    LinkObservation,
    ScriptElementObservation,
)
from hostpairs.extractors.static_html import script_type

logger = logging.getLogger(__name__)


async def read_links_and_forms(page: Page, max_frames: int = 0, deadline: float | None = None,
                               ) -> tuple[list[LinkObservation], list[FormObservation]]:
    """Links (with <link> rels and the <script src> parked under a type that is not JavaScript)
    and forms of every frame's final DOM (the first `max_frames`, until `deadline`, a
    monotonic time); a frame that does not answer is skipped."""
    links, forms = [], []
    frames = page.frames[:max_frames] if max_frames > 0 else page.frames
    for frame in frames:
        if deadline is not None and time.monotonic() > deadline:
            logger.info("final DOM of %s: %d frames left unread", page.url, len(frames) - frames.index(frame))
            break
        chain = playwright_frame_chain(frame)
        try:
            found = await asyncio.wait_for(frame.evaluate(DOM_REFERENCES_JS), STEP_TIMEOUT)
        except Exception as exc:
            logger.debug("could not read links of %s: %s", frame.url, exc)
            continue
        for tag, href, rel, declared in dict.fromkeys(tuple(entry) for entry in found.get("links") or ()):
            if not isinstance(href, str):
                continue
            if tag != "script":
                links.append(LinkObservation(href, chain, tag, rel))
            elif isinstance(declared, str) and (parked := script_type({"type": declared})):
                links.append(LinkObservation(href, chain, tag, script_type=parked))
        forms.extend(
            FormObservation(action, method, chain, tuple(sensitive))
            for action, method, sensitive in found.get("forms") or ()
            if isinstance(action, str)
        )
    return links, forms


async def read_scripts(session: CDPSession, frames: FrameTree, deadline: float | None = None,
                       ) -> tuple[list[ScriptElementObservation], dict[str, str]]:
    """The <script> elements of every live frame's final DOM, read in the capture's isolated world
    (a skimmer overriding `document.scripts` in the page does not hide itself), frames one by one
    until `deadline` (monotonic); and the inline ones' texts by SHA-256 (of their UTF-8)."""
    elements, bodies = [], {}
    async for frame_id, found in isolated_world.evaluate_each(session, frames.live_ids(), f"({SCRIPTS_JS})()", deadline):
        chain = frames.chain(frame_id)
        for src, declared, integrity, text in found if isinstance(found, list) else ():
            inline_sha256 = None
            if isinstance(text, str):
                data = text.encode("utf-8", "surrogatepass")
                inline_sha256 = hashlib.sha256(data).hexdigest()
                bodies[inline_sha256] = data.decode("utf-8", "surrogateescape")
            elements.append(ScriptElementObservation(chain, src if isinstance(src, str) else None,
                                                     declared if isinstance(declared, str) else None,
                                                     integrity if isinstance(integrity, str) else None, inline_sha256))
    return elements, bodies


async def read_markup(page: Page, requested_url: str) -> str:
    """The main frame's final markup without its prose (see `MARKUP_JS`); empty if the page does not answer."""
    try:
        return await asyncio.wait_for(page.evaluate(MARKUP_JS), STEP_TIMEOUT)
    except Exception as exc:
        logger.debug("could not read the DOM of %s: %s", requested_url, exc)
        return ""


async def read_cookies(page: Page) -> list[CookieObservation]:
    """The cookies the page's browser context holds; none if the browser does not answer."""
    try:
        cookies = await asyncio.wait_for(page.context.cookies(), STEP_TIMEOUT)
    except Exception:
        cookies = []
    return [
        CookieObservation(
            name=c["name"],
            domain=c["domain"],
            path=c.get("path", "/"),
            secure=c.get("secure", False),
            http_only=c.get("httpOnly", False),
            same_site=c.get("sameSite"),
        )
        for c in cookies
    ]


SCREENSHOT_BYTES = 200 * 1024
"""The most a stored screenshot may weigh: JPEG quality is lowered until it fits."""


async def viewport_screenshot(page: Page) -> bytes | None:
    """The page's viewport as JPEG of at most SCREENSHOT_BYTES, or None when the page does not
    give one within a step's time."""
    for quality in (70, 45, 25, 10):
        try:
            image = await asyncio.wait_for(page.screenshot(type="jpeg", quality=quality, animations="disabled",
                                                           caret="initial", timeout=STEP_TIMEOUT * 1000), STEP_TIMEOUT)
        except Exception as exc:  # closed, crashed, hung: the visit goes on without one
            logger.debug("no screenshot: %s", exc)
            return None
        if len(image) <= SCREENSHOT_BYTES:
            return image
    return None
