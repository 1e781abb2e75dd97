"""Record what a browser page does through the Chrome DevTools Protocol.

One `BrowserCapture` is attached to a fresh page before it navigates. It follows the frame tree
(`frames.FrameTree`: frames created by the parser or by script, their later navigations and why
they happened) and every network request (`network.NetworkLog`: redirect hops, initiator, frame,
status, the address connected to; what Resource Timing says started each one: `resource_timing`),
reads the final DOM when the visit ends (`dom`), then turns
it all into a plain `PageCapture` for the extractors. The JavaScript run in the page is in js/.

Site isolation is switched off in the browser (see settings), so every frame, cross-site ones
included, lives in the page's renderer and one DevTools session sees all of their events.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
import time
from dataclasses import dataclass
from typing import TypeVar

from playwright.async_api import CDPSession, Page

from hostpairs.crawler.browsing import STEP_TIMEOUT
from hostpairs.crawler.capture import resource_timing
from hostpairs.crawler.capture.dom import read_cookies, read_links_and_forms, read_markup, read_scripts
from hostpairs.crawler.capture.frames import FrameTree
from hostpairs.crawler.capture.network import POPUP_NOT_LOADED, ConnectionCheck, NetworkLog
from hostpairs.extractors.observations import PageCapture

__all__ = ["POPUP_NOT_LOADED", "BrowserCapture", "CaptureLimits", "ConnectionCheck"]

logger = logging.getLogger(__name__)

_V = TypeVar("_V")

READ_BUDGET = 30.0
"""Seconds the final DOM of all frames may take to read at the end of a visit (5,000 frames
would take minutes); frames not read by then are recorded without it."""


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable(value: _V) -> _V:
    """`value` with every string made storable: a page's DOM, frame names, URLs and cookies are
    JavaScript strings, which may hold lone surrogates (no UTF-8 encodes them) and NUL
    characters (PostgreSQL text refuses them); each becomes U+FFFD, as a decoder shows bad bytes.
    Dataclasses, tuples, lists and dicts are rebuilt only when something in them changed."""
    if isinstance(value, str):
        return _UNSTORABLE.sub("\ufffd", value) if not value.isascii() or "\x00" in value else value  # type: ignore[return-value]
    if isinstance(value, (list, tuple)):
        items = [storable(item) for item in value]
        if all(new is old for new, old in zip(items, value)):
            return value
        return type(value)(items)  # type: ignore[return-value]
    if isinstance(value, dict):
        pairs = {storable(key): storable(item) for key, item in value.items()}
        return value if all(k in value and value[k] is v for k, v in pairs.items()) else pairs  # type: ignore[return-value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {}
        for field in dataclasses.fields(value):
            old = getattr(value, field.name)
            new = storable(old)
            if new is not old:
                changes[field.name] = new
        return dataclasses.replace(value, **changes) if changes else value
    return value


@dataclass(frozen=True)
class CaptureLimits:
    """What one visit's capture records at most (0: no limit); see crawler/settings.py."""

    max_frames: int = 0
    max_requests: int = 0
    max_response_bytes: int = 0
    max_visit_bytes: int = 0
    max_popups: int = 0
    max_messages: int = 0


class BrowserCapture:
    """Collects DevTools events of one page; `finish()` returns the PageCapture.

    Past a byte limit the page is taken offline at once (what it still loads fails); frames and
    requests past their limits are not recorded, and the crawler's guard refuses them
    (`refusal`). The limits reached are the PageCapture's `limits_hit`."""

    def __init__(self, page: Page, session: CDPSession, requested_url: str, depth: int,
                 check_connection: ConnectionCheck, limits: CaptureLimits | None = None, inventory: bool = False):
        self.page = page
        self.session = session
        self.requested_url = requested_url
        self.depth = depth
        self.started_at = time.time()
        self.limits = limits or CaptureLimits()
        self.frames = FrameTree(session, self.limits.max_frames)
        self.network = NetworkLog(session, self.frames, check_connection, self.limits.max_requests,
                                  self.limits.max_response_bytes, self.limits.max_visit_bytes, self._limit_reached,
                                  self.limits.max_messages, keep_script_bodies=inventory)
        self.inventory = inventory
        """Whether the page's scripts are inventoried: bodies and <script> elements are kept."""
        self._offline: asyncio.Task[None] | None = None
        self.cut = asyncio.Event()
        """Set when a byte or message limit cut the page off: its visit ends there."""

    @classmethod
    async def attach(cls, page: Page, requested_url: str, depth: int, check_connection: ConnectionCheck,
                     limits: CaptureLimits | None = None, inventory: bool = False) -> BrowserCapture:
        """Open a DevTools session on `page` and start recording (call before navigating).

        `check_connection(url, ip)` judges each address the browser connected to; a reason it
        returns is recorded as the request's error. With `inventory`, script bodies and the
        <script> elements of every frame are kept too."""
        session = await page.context.new_cdp_session(page)
        capture = cls(page, session, requested_url, depth, check_connection, limits, inventory)
        capture.frames.listen()
        capture.network.listen(page)
        await session.send("Page.enable")
        await session.send("Network.enable")
        await resource_timing.install(session)
        await capture.frames.find_main_frame()
        return capture

    def _limit_reached(self, limit: str) -> None:
        logger.info("%s reached the limit of %s", self.requested_url, limit)
        if limit.startswith(("response bytes", "visit bytes", "messages")) and self._offline is None:
            self._offline = asyncio.ensure_future(self._cut())
            self.cut.set()

    async def _cut(self) -> None:
        """Past a byte or message limit: no more requests, and the loads in flight stopped (the
        emulated offline state alone lets a response that is already streaming go on)."""
        await self.go_offline()
        try:
            await asyncio.wait_for(self.session.send("Page.stopLoading"), STEP_TIMEOUT)
        except Exception as exc:
            logger.debug("could not stop the loads of %s: %s", self.requested_url, exc)

    def limits_hit(self) -> tuple[str, ...]:
        """The per-visit limits the page reached so far."""
        hit = list(self.network.limits_reached)
        if self.frames.refused_ids:
            hit.append(f"frames {self.limits.max_frames}")
        if 0 < self.limits.max_popups <= self.network.popups:
            hit.append(f"popups {self.limits.max_popups}")
        return tuple(hit)

    def refusal(self, frame_id: str | None) -> str | None:
        """Why the crawler refuses a request of the page now, if it does: past the visit's
        request limit, or from a frame past its frame limit."""
        if self.network.full:
            return f"refused: the visit reached its limit of {self.limits.max_requests} requests"
        if frame_id in self.frames.refused_ids:
            return f"refused: the visit reached its limit of {self.limits.max_frames} frames"
        return None

    @property
    def document_committed(self) -> bool:
        """Whether the page's main frame shows a document of its own (it may still be loading)."""
        url = self.frames.main_url
        return bool(url) and url != "about:blank"

    async def go_offline(self) -> None:
        """Fail every request of the page from now on (and those still loading)."""
        try:
            await asyncio.wait_for(self.session.send("Network.emulateNetworkConditions", {
                "offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}), STEP_TIMEOUT)
        except Exception as exc:
            logger.debug("could not take %s offline: %s", self.requested_url, exc)

    def note_blocked(self, url: str, reason: str) -> None:
        """Remember why the crawler refused a request, to report it instead of a bare network error."""
        self.network.note_blocked(url, reason)

    async def finish(self, error: str | None = None, page_answers: bool = True) -> PageCapture:
        """Take the page offline, gather frames, links and cookies, then return everything observed.

        Nothing the page starts from now on leaves the browser (the visit is over and about to be
        torn down). After an error the page may not answer, so only what the browser itself knows
        is read; a page known not to answer (`page_answers` False: a busy renderer, which also
        holds up the offline switch) is not asked anything. The final DOM is read within
        READ_BUDGET seconds, frames first to last."""
        if page_answers and not self.page.is_closed():  # a crashed page is closed: nothing of it answers
            await self.go_offline()
        deadline = time.monotonic() + READ_BUDGET
        frames = await self.frames.observations(inspect_elements=error is None, deadline=deadline)
        links, forms = (await read_links_and_forms(self.page, self.limits.max_frames, deadline)
                        if error is None else ([], []))
        cookies = self.network.refused_cookies + await read_cookies(self.page)
        html = await read_markup(self.page, self.requested_url) if error is None else ""
        scripts, inline_bodies = (await read_scripts(self.session, self.frames, deadline)
                                  if self.inventory and error is None else ([], {}))
        requests = await self.network.observations()
        if error is None:
            requests = resource_timing.with_fetch_initiators(
                requests, await resource_timing.read(self.session, self.frames.live_ids(), deadline))
        final_url = self.frames.main_url or self.requested_url
        top_status = next(
            (r.status for r in requests if r.is_main_frame and r.resource_type == "document" and r.url == final_url),
            None,
        )
        capture = storable(PageCapture(
            requested_url=self.requested_url,
            final_url=final_url,
            mode="browser",
            started_at=self.started_at,
            finished_at=time.time(),
            depth=self.depth,
            status=top_status,
            error=error,
            requests=requests,
            frames=frames,
            links=links,
            forms=forms,
            cookies=cookies,
            html=html,
            response_headers=self.network.document_headers,
            limits_hit=self.limits_hit(),
            script_elements=scripts,
        ))
        capture.script_bodies = {**self.network.script_bodies, **inline_bodies}  # exact bodies: not made "storable"
        return capture
