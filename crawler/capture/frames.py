"""The frame tree of one page, followed through its DevTools frame events.

Frames created by the parser or by script, their later navigations and why they happened, the
frames since detached; at the end of the visit, whether each frame's owner element is hidden.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

from playwright.async_api import CDPSession, Frame

from hostpairs.crawler.browsing import STEP_TIMEOUT
from hostpairs.crawler.capture.page_scripts import HIDDEN_REASONS_JS
from hostpairs.extractors.observations import FrameObservation

logger = logging.getLogger(__name__)


@dataclass
class _FrameState:
    parent_id: str | None
    url: str = ""
    name: str | None = None
    created_by_script: bool = False
    creator_script_url: str | None = None
    detached: bool = False
    pending_reason: str | None = None


def script_url(initiator: dict[str, Any]) -> str | None:
    """The innermost script URL on an initiator's stack (following async parents)."""
    stack = initiator.get("stack")
    while stack:
        for call_frame in stack.get("callFrames", []):
            if call_frame.get("url"):
                return call_frame["url"]
        stack = stack.get("parent")
    return initiator.get("url")


def playwright_frame_chain(frame: Frame) -> tuple[str, ...]:
    """The URLs from a Playwright frame up to the main frame, the frame's own first."""
    chain = []
    current: Frame | None = frame
    while current is not None:
        chain.append(current.url)
        current = current.parent_frame
    return tuple(chain)


class FrameTree:
    """Every frame the page's DevTools session reported, by frame id."""

    def __init__(self, session: CDPSession, max_frames: int = 0):
        self.session = session
        self.main_frame_id: str | None = None
        self.frames: dict[str, _FrameState] = {}
        self.max_frames = max_frames
        """Frames recorded at most, the main frame included (0: no limit); the crawler refuses
        the requests of the frames past it, which therefore load nothing."""
        self.refused_ids: set[str] = set()
        """The frames past `max_frames`."""

    def listen(self) -> None:
        """Follow the session's frame events (before `Page.enable`)."""
        self.session.on("Page.frameAttached", self._on_frame_attached)
        self.session.on("Page.frameNavigated", self._on_frame_navigated)
        self.session.on("Page.frameRequestedNavigation", self._on_frame_requested_navigation)
        self.session.on("Page.frameDetached", self._on_frame_detached)

    async def find_main_frame(self) -> None:
        """Ask the browser which frame is the main one and start the tree there (after `Page.enable`)."""
        tree = await self.session.send("Page.getFrameTree")
        self.main_frame_id = tree["frameTree"]["frame"]["id"]
        self.frames[self.main_frame_id] = _FrameState(parent_id=None)

    def chain(self, frame_id: str | None) -> tuple[str, ...]:
        """The URLs from a frame up to the main frame, the frame's own first; empty for an unknown frame."""
        chain = []
        seen = set()
        while frame_id is not None and frame_id in self.frames and frame_id not in seen:
            seen.add(frame_id)
            state = self.frames[frame_id]
            chain.append(state.url)
            frame_id = state.parent_id
        return tuple(chain)

    def main_chain(self) -> tuple[str, ...]:
        """The frame chain of the main frame: its URL alone."""
        return self.chain(self.main_frame_id)

    @property
    def main_url(self) -> str:
        """The main frame's current URL, empty before it navigated."""
        main = self.frames.get(self.main_frame_id or "")
        return main.url if main else ""

    def take_navigation_reason(self, frame_id: str | None) -> str | None:
        """Why the frame's navigation that is starting now was requested (reported once)."""
        state = self.frames.get(frame_id) if frame_id else None
        if state is None:
            return None
        reason, state.pending_reason = state.pending_reason, None
        return reason

    # --- frame events -------------------------------------------------------------------------

    @property
    def full(self) -> bool:
        return 0 < self.max_frames <= len(self.frames)

    def _on_frame_attached(self, params: dict[str, Any]) -> None:
        if params["frameId"] not in self.frames and self.full:
            self.refused_ids.add(params["frameId"])
            return
        stack = params.get("stack")
        self.frames[params["frameId"]] = _FrameState(
            parent_id=params.get("parentFrameId"),
            created_by_script=bool(stack),
            creator_script_url=script_url({"stack": stack}) if stack else None,
        )

    def _on_frame_navigated(self, params: dict[str, Any]) -> None:
        frame = params["frame"]
        if frame["id"] not in self.frames and frame.get("parentId") and self.full:
            return
        state = self.frames.setdefault(frame["id"], _FrameState(parent_id=frame.get("parentId")))
        state.url = frame["url"] + frame.get("urlFragment", "")
        state.name = frame.get("name") or state.name

    def _on_frame_requested_navigation(self, params: dict[str, Any]) -> None:
        state = self.frames.get(params["frameId"])
        if state is not None:
            state.pending_reason = params.get("reason")

    def _on_frame_detached(self, params: dict[str, Any]) -> None:
        state = self.frames.get(params["frameId"])
        if state is not None and params.get("reason") != "swap":
            state.detached = True

    # --- the end of the visit -----------------------------------------------------------------

    def live_ids(self) -> list[str]:
        """The frames still attached whose requests the crawler let through."""
        return [frame_id for frame_id, state in self.frames.items()
                if not state.detached and frame_id not in self.refused_ids]

    async def observations(self, inspect_elements: bool, deadline: float | None = None) -> list[FrameObservation]:
        """One FrameObservation a frame; with `inspect_elements`, attached child frames are also
        checked for being hidden (the page must still answer), until `deadline` (monotonic)."""
        observations = []
        for frame_id, state in self.frames.items():
            hidden_reasons: tuple[str, ...] = ()
            if deadline is not None and time.monotonic() > deadline:
                inspect_elements = False
            inspected = inspect_elements and state.parent_id is not None and not state.detached
            if inspected:
                hidden_reasons = await self._hidden_reasons(frame_id)
            observations.append(
                FrameObservation(
                    frame_id=frame_id,
                    parent_frame_id=state.parent_id,
                    url=state.url,
                    name=state.name,
                    created_by_script=state.created_by_script,
                    creator_script_url=state.creator_script_url,
                    hidden=bool(hidden_reasons) if inspected else None,
                    hidden_reasons=hidden_reasons,
                    detached=state.detached,
                )
            )
        return observations

    async def _hidden_reasons(self, frame_id: str) -> tuple[str, ...]:
        try:
            owner = await asyncio.wait_for(self.session.send("DOM.getFrameOwner", {"frameId": frame_id}), STEP_TIMEOUT)
            node = await asyncio.wait_for(
                self.session.send("DOM.resolveNode", {"backendNodeId": owner["backendNodeId"]}), STEP_TIMEOUT
            )
            result = await asyncio.wait_for(
                self.session.send(
                    "Runtime.callFunctionOn",
                    {"objectId": node["object"]["objectId"], "functionDeclaration": HIDDEN_REASONS_JS,
                     "returnByValue": True},
                ),
                STEP_TIMEOUT,
            )
            return tuple(result.get("result", {}).get("value") or ())
        except Exception as exc:
            logger.debug("could not inspect frame %s: %s", frame_id, exc)
            return ()
