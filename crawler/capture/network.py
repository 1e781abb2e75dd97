"""Every request of one page, followed through its DevTools network events.

Redirect hops, initiator, frame, status, the address connected to, the SHA-256 of script and
document bodies; websockets and popups; cookies refused only for being third-party; and the
requests of web workers, which only Playwright sees.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from playwright.async_api import CDPSession, Page, Request

from hostpairs.crawler.browsing import STEP_TIMEOUT
from hostpairs.crawler.capture.frames import FrameTree, playwright_frame_chain, script_url
from hostpairs.extractors.observations import CookieObservation, RequestObservation

logger = logging.getLogger(__name__)

ConnectionCheck = Callable[[str, str], str | None]  # (url, ip the browser connected to) -> refusal
POPUP_NOT_LOADED = "popup not loaded: the crawler records popups but does not visit them"

# Redirect hops Chromium follows for one request before it fails it (net::ERR_TOO_MANY_REDIRECTS):
# a redirect loop or a longer chain is recorded hop by hop up to there ("redirects 20").
CHROMIUM_MAX_REDIRECTS = 20

# Bodies hashed for change detection; larger ones are skipped.
_HASHED_RESOURCE_TYPES = {"script", "document"}
_MAX_HASHED_BODY = 10 * 1024 * 1024
_MAX_KEPT_BODY = 2 * 1024 * 1024
"""The largest script body an inventoried page keeps (for the next version's diff)."""

# Why Chromium refuses a third-party cookie in an off-the-record context.
_THIRD_PARTY_BLOCKS = {"UserPreferences", "ThirdPartyPhaseout", "ThirdPartyBlockedInFirstPartySet"}


@dataclass
class _RequestState:
    observation: RequestObservation
    hash_task: asyncio.Task[str | None] | None = None


def _certificate_error(response: dict[str, Any]) -> str | None:
    if not response.get("url", "").startswith("https:") or response.get("securityState") != "insecure":
        return None
    details = response.get("securityDetails") or {}
    issuer = details.get("issuer")
    return f"untrusted certificate (issuer: {issuer})" if issuer else "untrusted certificate"


def _with_response(observation: RequestObservation, response: dict[str, Any]) -> RequestObservation:
    port = response.get("remotePort")
    return replace(
        observation,
        status=response.get("status"),
        remote_ip=response.get("remoteIPAddress") or None,
        remote_port=int(port) if port else None,
        mime_type=response.get("mimeType"),
        certificate_error=_certificate_error(response),
    )


class NetworkLog:
    """The requests of one page, each placed in the page's `FrameTree`; a refusal
    `check_connection` returns for the address connected to is recorded as the request's error."""

    def __init__(self, session: CDPSession, frames: FrameTree, check_connection: ConnectionCheck,
                 max_requests: int = 0, max_response_bytes: int = 0, max_visit_bytes: int = 0,
                 on_limit: Callable[[str], None] | None = None, max_messages: int = 0,
                 keep_script_bodies: bool = False):
        self.session = session
        self.frames = frames
        self.check_connection = check_connection
        self.max_requests = max_requests
        """Requests recorded at most (redirect hops, popups and websockets included; 0: no limit);
        the crawler refuses those past it."""
        self.max_response_bytes = max_response_bytes
        self.max_visit_bytes = max_visit_bytes
        self.on_limit = on_limit
        self.max_messages = max_messages
        """WebSocket frames and EventSource messages at most (a flood: every one is a DevTools
        event the crawler must read)."""
        self.messages = 0
        """Called once with each limit reached ("requests 5000", "response bytes N", "visit bytes N")."""
        self.limits_reached: dict[str, None] = {}
        self.recorded = 0
        self.popups = 0
        self.body_bytes: dict[str, int] = {}
        self.visit_bytes = 0
        self.requests: dict[str, _RequestState] = {}
        self.finished: list[RequestObservation] = []
        self.blocked: dict[str, str] = {}
        self.document_headers: dict[str, str] = {}
        self.refused_cookies: list[CookieObservation] = []
        self.browser_requests: list[Request] = []
        self.keep_script_bodies = keep_script_bodies
        self.script_bodies: dict[str, str] = {}
        """With `keep_script_bodies`: each script body read, by its SHA-256 (see PageCapture.script_bodies)."""

    def listen(self, page: Page) -> None:
        """Follow the session's network events and popups, and Playwright's requests of `page`
        (before `Network.enable`)."""
        self.session.on("Page.windowOpen", self._on_window_open)
        self.session.on("Network.requestWillBeSent", self._on_request)
        self.session.on("Network.responseReceived", self._on_response)
        self.session.on("Network.loadingFinished", self._on_loading_finished)
        self.session.on("Network.loadingFailed", self._on_loading_failed)
        self.session.on("Network.webSocketCreated", self._on_websocket)
        self.session.on("Network.responseReceivedExtraInfo", self._on_response_extra_info)
        self.session.on("Network.dataReceived", self._on_data_received)
        for event in ("Network.webSocketFrameReceived", "Network.webSocketFrameSent",
                      "Network.eventSourceMessageReceived"):
            self.session.on(event, self._on_message)
        page.on("request", self._on_browser_request)

    @property
    def full(self) -> bool:
        """Whether the visit has recorded as many requests as it may."""
        return 0 < self.max_requests <= self.recorded

    def _reached(self, limit: str) -> None:
        if limit not in self.limits_reached:
            self.limits_reached[limit] = None
            if self.on_limit is not None:
                self.on_limit(limit)

    def _count_new(self) -> bool:
        """Count a request about to be recorded; False past the request limit (not recorded)."""
        if self.full:
            self._reached(f"requests {self.max_requests}")
            return False
        self.recorded += 1
        return True

    def main_refusal(self) -> str | None:
        """The crawler's reason for refusing the main frame's latest document request, if it did."""
        for observation in reversed([*self.finished, *(state.observation for state in self.requests.values())]):
            if observation.is_main_frame and observation.resource_type == "document":
                return self.blocked.get(observation.url)
        return None

    def note_blocked(self, url: str, reason: str) -> None:
        """Remember why the crawler refused a request, to report it instead of a bare network error."""
        self.blocked[url] = reason

    # --- network events -----------------------------------------------------------------------

    def _on_browser_request(self, request: Request) -> None:
        self.browser_requests.append(request)

    def _on_window_open(self, params: dict[str, Any]) -> None:
        """A popup (window.open, a link or form targeting a new window): recorded from the page that
        opened it, never loaded — Chromium's popup blocker keeps it from opening."""
        self.popups += 1
        if not self._count_new():
            return
        self.finished.append(RequestObservation(
            url=params["url"],
            resource_type="popup",
            frame_chain=self.frames.main_chain(),
            initiator_type="script" if not params.get("userGesture") else "other",
            started_at=time.time(),
            error=POPUP_NOT_LOADED,
        ))

    def _on_request(self, params: dict[str, Any]) -> None:
        request_id = params["requestId"]
        if not self._count_new():
            self._finish(request_id)
            return
        previous = self.requests.pop(request_id, None)
        redirected_from = None
        if previous is not None and "redirectResponse" in params:
            hop = _with_response(previous.observation, params["redirectResponse"])
            self.finished.append(hop)
            redirected_from = hop.url
        frame_id = params.get("frameId")
        resource_type = params.get("type", "Other").lower()
        initiator = params.get("initiator", {})
        if previous is not None and redirected_from is not None:
            # A redirect hop keeps the context of the request it continues.
            observation = replace(previous.observation, url=params["request"]["url"], redirected_from=redirected_from,
                                  status=None, remote_ip=None, remote_port=None, mime_type=None,
                                  certificate_error=None, started_at=params.get("wallTime"))
        else:
            is_navigation = resource_type == "document" and params.get("loaderId") == request_id
            observation = RequestObservation(
                url=params["request"]["url"],
                method=params["request"].get("method", "GET"),
                resource_type=resource_type,
                frame_id=frame_id,
                frame_chain=self.frames.chain(frame_id),
                initiator_type=initiator.get("type", "other"),
                initiator_url=script_url(initiator) if initiator.get("type") == "script" else initiator.get("url"),
                navigation_reason=self.frames.take_navigation_reason(frame_id) if is_navigation else None,
                is_main_frame=frame_id is not None and frame_id == self.frames.main_frame_id,
                started_at=params.get("wallTime"),
            )
        self.requests[request_id] = _RequestState(observation)

    def _on_websocket(self, params: dict[str, Any]) -> None:
        if not self._count_new():
            return
        initiator = params.get("initiator") or {}
        self.finished.append(
            RequestObservation(
                url=params["url"],
                resource_type="websocket",
                frame_id=self.frames.main_frame_id,
                frame_chain=self.frames.main_chain(),
                initiator_type=initiator.get("type", "other"),
                initiator_url=script_url(initiator),
                started_at=time.time(),
            )
        )

    def _on_response(self, params: dict[str, Any]) -> None:
        state = self.requests.get(params["requestId"])
        if state is not None:
            state.observation = observation = _with_response(state.observation, params["response"])
            if observation.remote_ip and (reason := self.check_connection(observation.url, observation.remote_ip)):
                state.observation = replace(observation, error=reason)
            if state.observation.is_main_frame and state.observation.resource_type == "document":
                self.document_headers = {k.lower(): v for k, v in params["response"].get("headers", {}).items()}

    def _on_response_extra_info(self, params: dict[str, Any]) -> None:
        """Cookies a response set that the browser refused only because they are third-party:
        browser contexts are off-the-record, where Chromium blocks those, unlike a user's profile."""
        for blocked in params.get("blockedCookies") or []:
            cookie = blocked.get("cookie")
            if cookie and set(blocked.get("blockedReasons", ())) <= _THIRD_PARTY_BLOCKS:
                self.refused_cookies.append(CookieObservation(
                    name=cookie["name"], domain=cookie["domain"], path=cookie.get("path", "/"),
                    secure=cookie.get("secure", False), http_only=cookie.get("httpOnly", False),
                    same_site=cookie.get("sameSite"),
                ))

    def _on_message(self, params: dict[str, Any]) -> None:
        self.messages += 1
        if 0 < self.max_messages < self.messages:
            self._reached(f"messages {self.max_messages}")

    def _on_data_received(self, params: dict[str, Any]) -> None:
        """Count body bytes (as decoded: a compressed bomb counts at its real size)."""
        length = params.get("dataLength") or 0
        request_id = params["requestId"]
        body = self.body_bytes[request_id] = self.body_bytes.get(request_id, 0) + length
        self.visit_bytes += length
        if 0 < self.max_response_bytes < body:
            self._reached(f"response bytes {self.max_response_bytes}")
        if 0 < self.max_visit_bytes < self.visit_bytes:
            if f"visit bytes {self.max_visit_bytes}" not in self.limits_reached:
                state = self.requests.get(request_id)
                logger.info("visit bytes past %d with %s (%d bytes, %d requests with bodies): %s",
                            self.max_visit_bytes, request_id, body, len(self.body_bytes),
                            state.observation.url if state else "?")
            self._reached(f"visit bytes {self.max_visit_bytes}")

    def _on_loading_finished(self, params: dict[str, Any]) -> None:
        state = self.requests.get(params["requestId"])
        if state is None:
            return
        if state.observation.resource_type in _HASHED_RESOURCE_TYPES and params.get("encodedDataLength", 0) <= _MAX_HASHED_BODY:
            state.hash_task = asyncio.ensure_future(self._body_sha256(
                params["requestId"], keep=self.keep_script_bodies and state.observation.resource_type == "script"))
        else:
            self._finish(params["requestId"])

    def _on_loading_failed(self, params: dict[str, Any]) -> None:
        state = self.requests.get(params["requestId"])
        if state is None:
            return
        error = params.get("errorText") or "failed"
        if error == "net::ERR_TOO_MANY_REDIRECTS":
            self._reached(f"redirects {CHROMIUM_MAX_REDIRECTS}")
        if params.get("blockedReason"):
            error = f"{error} (blocked: {params['blockedReason']})"
        if state.observation.url in self.blocked:
            error = self.blocked[state.observation.url]
        state.observation = replace(state.observation, error=error)
        self._finish(params["requestId"])

    def _finish(self, request_id: str) -> None:
        state = self.requests.pop(request_id, None)
        if state is not None:
            self.finished.append(state.observation)

    async def _body_sha256(self, request_id: str, keep: bool = False) -> str | None:
        try:
            reply = await self.session.send("Network.getResponseBody", {"requestId": request_id})
        except Exception:  # the body may be gone (navigated away, evicted): not an error of the visit
            return None
        body = reply.get("body", "")
        data = base64.b64decode(body) if reply.get("base64Encoded") else body.encode("utf-8", "surrogatepass")
        digest = hashlib.sha256(data).hexdigest()
        if keep and len(data) <= _MAX_KEPT_BODY:
            self.script_bodies[digest] = data.decode("utf-8", "surrogateescape")
        return digest

    # --- the end of the visit -----------------------------------------------------------------

    async def observations(self) -> list[RequestObservation]:
        """Every request seen, in the order they started: finished ones, those still open (with
        their body's hash once it is known) and the web workers'."""
        requests = list(self.finished)
        for state in list(self.requests.values()):
            body_sha256 = None
            if state.hash_task is not None:
                try:
                    body_sha256 = await asyncio.wait_for(state.hash_task, STEP_TIMEOUT)
                except Exception:
                    body_sha256 = None
            observation = state.observation
            if observation.error is None and observation.url in self.blocked:  # aborted with no event
                observation = replace(observation, error=self.blocked[observation.url])
            requests.append(replace(observation, body_sha256=body_sha256))
        requests += await self._worker_requests({r.url for r in requests})
        requests.sort(key=lambda r: r.started_at or 0.0)
        return requests

    async def _worker_requests(self, seen_urls: set[str]) -> list[RequestObservation]:
        """Requests the page's DevTools session did not see: those of web workers, which Playwright
        reports on the frame that started the worker. Cause: xmlhttprequest, per the semantics."""
        observations = []
        for request in self.browser_requests:
            if request.url in seen_urls or not request.url.startswith(("http:", "https:")):
                continue
            seen_urls.add(request.url)
            status = remote_ip = remote_port = None
            try:
                response = await asyncio.wait_for(request.response(), STEP_TIMEOUT)
                if response is not None:
                    status = response.status
                    address = await asyncio.wait_for(response.server_addr(), STEP_TIMEOUT) or {}
                    remote_ip, remote_port = address.get("ipAddress"), address.get("port")
            except Exception as exc:
                logger.debug("no response for worker request %s: %s", request.url, exc)
            try:
                chain = playwright_frame_chain(request.frame)
            except Exception:
                chain = self.frames.main_chain()
            timing = request.timing or {}
            observations.append(RequestObservation(
                url=request.url,
                resource_type=request.resource_type,
                frame_chain=chain,
                initiator_type="worker",
                declared_cause="xmlhttprequest",
                status=status,
                remote_ip=remote_ip,
                remote_port=remote_port,
                error=self.blocked.get(request.url) or request.failure,
                started_at=timing.get("startTime", 0) / 1000 or None,
            ))
        return observations
