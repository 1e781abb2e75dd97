"""Record what a browser page does through the Chrome DevTools Protocol.

One `BrowserCapture` is attached to a fresh page before it navigates. It follows the frame tree
(frames created by the parser or by script, their later navigations and why they happened) and
every network request (redirect hops, initiator, frame, status, the address connected to), then
turns them into a plain `PageCapture` for the extractors.

Site isolation is switched off in the browser (see settings), so every frame, cross-site ones
included, lives in the page's renderer and one DevTools session sees all of their events.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import time
from dataclasses import dataclass, replace
from collections.abc import Callable
from typing import Any

from playwright.async_api import CDPSession, Frame, Page, Request

from hostpairs.crawler.browsing import STEP_TIMEOUT
from hostpairs.extractors.observations import (
    CookieObservation,
    FormObservation,
    FrameObservation,
    LinkObservation,
    PageCapture,
    RequestObservation,
)

logger = logging.getLogger(__name__)

# Bodies hashed for change detection; larger ones are skipped.
ConnectionCheck = Callable[[str, str], str | None]  # (url, ip the browser connected to) -> refusal
POPUP_NOT_LOADED = "popup not loaded: the crawler records popups but does not visit them"
_HASHED_RESOURCE_TYPES = {"script", "document"}
_MAX_HASHED_BODY = 10 * 1024 * 1024

_HIDDEN_REASONS_JS = """function () {
  const reasons = [];
  const rect = this.getBoundingClientRect();
  const width = Math.min(rect.width, this.clientWidth), height = Math.min(rect.height, this.clientHeight);
  if (width <= 1 || height <= 1) reasons.push(`size ${Math.round(width)}x${Math.round(height)}`);
  for (let el = this; el && el.nodeType === 1; el = el.parentElement) {
    const style = getComputedStyle(el);
    const where = el === this ? '' : ' (ancestor)';
    if (style.display === 'none') { reasons.push('display:none' + where); break; }
    if (style.visibility === 'hidden' || style.visibility === 'collapse') { reasons.push('visibility:hidden' + where); break; }
    if (parseFloat(style.opacity) === 0) { reasons.push('opacity:0' + where); break; }
  }
  const root = this.ownerDocument.documentElement;
  const pageWidth = Math.max(root.scrollWidth, innerWidth), pageHeight = Math.max(root.scrollHeight, innerHeight);
  const left = rect.left + scrollX, top = rect.top + scrollY;
  if (rect.width > 0 && rect.height > 0 &&
      (left + rect.width <= 0 || top + rect.height <= 0 || left >= pageWidth || top >= pageHeight)) reasons.push('off-screen');
  return reasons;
}"""

# The final DOM without its prose: a tracking ID quoted in a page's text (documentation, a code
# sample) is not the page's own; scripts, noscript, attributes and comments are kept. The copy is
# parsed into an inert document: a clone inside the page would load its images again.
_MARKUP_JS = """() => {
  const root = new DOMParser().parseFromString(document.documentElement.outerHTML, 'text/html').documentElement;
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  const prose = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement && node.parentElement.localName;
    if (!['script', 'noscript', 'style', 'template'].includes(parent)) prose.push(node);
  }
  prose.forEach(node => node.remove());
  return '<!doctype html>' + root.outerHTML;
}"""

# Why Chromium refuses a third-party cookie in an off-the-record context.
_THIRD_PARTY_BLOCKS = {"UserPreferences", "ThirdPartyPhaseout", "ThirdPartyBlockedInFirstPartySet"}

_DOM_REFERENCES_JS = """() => ({
  links: Array.from(document.querySelectorAll('a[href], area[href], link[href]'),
    el => [el.localName === 'link' ? 'link' : 'a', el.href, el.getAttribute('rel')]),
  forms: Array.from(document.forms, form => {
    const sensitive = [];
    if (form.querySelector('input[type=password]')) sensitive.push('password');
    const card = /cc-?(number|csc|exp)|card.?(num|no)|cvc|cvv|security.?code/i;
    if (Array.from(form.elements).some(el => card.test([el.name, el.id, el.autocomplete].join(' '))))
      sensitive.push('payment card');
    return [form.action, (form.method || 'get').toLowerCase(), sensitive];
  }),
})"""


@dataclass
class _FrameState:
    parent_id: str | None
    url: str = ""
    name: str | None = None
    created_by_script: bool = False
    creator_script_url: str | None = None
    detached: bool = False
    pending_reason: str | None = None


@dataclass
class _RequestState:
    observation: RequestObservation
    hash_task: asyncio.Task[str | None] | None = None


def _script_url(initiator: dict[str, Any]) -> str | None:
    """The innermost script URL on an initiator's stack (following async parents)."""
    stack = initiator.get("stack")
    while stack:
        for call_frame in stack.get("callFrames", []):
            if call_frame.get("url"):
                return call_frame["url"]
        stack = stack.get("parent")
    return initiator.get("url")


def _certificate_error(response: dict[str, Any]) -> str | None:
    if not response.get("url", "").startswith("https:") or response.get("securityState") != "insecure":
        return None
    details = response.get("securityDetails") or {}
    issuer = details.get("issuer")
    return f"untrusted certificate (issuer: {issuer})" if issuer else "untrusted certificate"


class BrowserCapture:
    """Collects DevTools events of one page; `finish()` returns the PageCapture."""

    def __init__(self, page: Page, session: CDPSession, requested_url: str, depth: int,
                 check_connection: ConnectionCheck):
        self.page = page
        self.session = session
        self.requested_url = requested_url
        self.depth = depth
        self.check_connection = check_connection
        self.started_at = time.time()
        self.main_frame_id: str | None = None
        self.frames: dict[str, _FrameState] = {}
        self.requests: dict[str, _RequestState] = {}
        self.finished: list[RequestObservation] = []
        self.blocked: dict[str, str] = {}
        self.document_headers: dict[str, str] = {}
        self.refused_cookies: list[CookieObservation] = []
        self.browser_requests: list[Request] = []

    @classmethod
    async def attach(cls, page: Page, requested_url: str, depth: int,
                     check_connection: ConnectionCheck) -> BrowserCapture:
        """Open a DevTools session on `page` and start recording (call before navigating).

        `check_connection(url, ip)` judges each address the browser connected to; a reason it
        returns is recorded as the request's error."""
        session = await page.context.new_cdp_session(page)
        capture = cls(page, session, requested_url, depth, check_connection)
        handlers = {
            "Page.frameAttached": capture._on_frame_attached,
            "Page.frameNavigated": capture._on_frame_navigated,
            "Page.frameRequestedNavigation": capture._on_frame_requested_navigation,
            "Page.frameDetached": capture._on_frame_detached,
            "Page.windowOpen": capture._on_window_open,
            "Network.requestWillBeSent": capture._on_request,
            "Network.responseReceived": capture._on_response,
            "Network.loadingFinished": capture._on_loading_finished,
            "Network.loadingFailed": capture._on_loading_failed,
            "Network.webSocketCreated": capture._on_websocket,
            "Network.responseReceivedExtraInfo": capture._on_response_extra_info,
        }
        for event, handler in handlers.items():
            session.on(event, handler)
        page.on("request", capture._on_browser_request)
        await session.send("Page.enable")
        await session.send("Network.enable")
        tree = await session.send("Page.getFrameTree")
        capture.main_frame_id = tree["frameTree"]["frame"]["id"]
        capture.frames[capture.main_frame_id] = _FrameState(parent_id=None)
        return capture

    def _on_browser_request(self, request: Request) -> None:
        self.browser_requests.append(request)

    def note_blocked(self, url: str, reason: str) -> None:
        """Remember why the crawler refused a request, to report it instead of a bare network error."""
        self.blocked[url] = reason

    # --- frame events -------------------------------------------------------------------------

    def _on_frame_attached(self, params: dict[str, Any]) -> None:
        stack = params.get("stack")
        self.frames[params["frameId"]] = _FrameState(
            parent_id=params.get("parentFrameId"),
            created_by_script=bool(stack),
            creator_script_url=_script_url({"stack": stack}) if stack else None,
        )

    def _on_frame_navigated(self, params: dict[str, Any]) -> None:
        frame = params["frame"]
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

    def _on_window_open(self, params: dict[str, Any]) -> None:
        """A popup (window.open, a link or form targeting a new window): recorded from the page that
        opened it, never loaded — the crawler closes popups and refuses their requests."""
        self.finished.append(RequestObservation(
            url=params["url"],
            resource_type="popup",
            frame_chain=self._frame_chain(self.main_frame_id),
            initiator_type="script" if not params.get("userGesture") else "other",
            started_at=time.time(),
            error=POPUP_NOT_LOADED,
        ))

    def _frame_chain(self, frame_id: str | None) -> tuple[str, ...]:
        chain = []
        seen = set()
        while frame_id is not None and frame_id in self.frames and frame_id not in seen:
            seen.add(frame_id)
            state = self.frames[frame_id]
            chain.append(state.url)
            frame_id = state.parent_id
        return tuple(chain)

    # --- network events -----------------------------------------------------------------------

    def _on_request(self, params: dict[str, Any]) -> None:
        request_id = params["requestId"]
        previous = self.requests.pop(request_id, None)
        redirected_from = None
        if previous is not None and "redirectResponse" in params:
            hop = self._with_response(previous.observation, params["redirectResponse"])
            self.finished.append(hop)
            redirected_from = hop.url
        frame_id = params.get("frameId")
        resource_type = params.get("type", "Other").lower()
        frame = self.frames.get(frame_id) if frame_id else None
        initiator = params.get("initiator", {})
        if previous is not None and redirected_from is not None:
            # A redirect hop keeps the context of the request it continues.
            observation = replace(previous.observation, url=params["request"]["url"], redirected_from=redirected_from,
                                  status=None, remote_ip=None, remote_port=None, mime_type=None,
                                  certificate_error=None, started_at=params.get("wallTime"))
        else:
            is_navigation = resource_type == "document" and params.get("loaderId") == request_id
            navigation_reason = None
            if is_navigation and frame is not None:
                navigation_reason, frame.pending_reason = frame.pending_reason, None
            observation = RequestObservation(
                url=params["request"]["url"],
                resource_type=resource_type,
                frame_id=frame_id,
                frame_chain=self._frame_chain(frame_id),
                initiator_type=initiator.get("type", "other"),
                initiator_url=_script_url(initiator) if initiator.get("type") == "script" else initiator.get("url"),
                navigation_reason=navigation_reason,
                is_main_frame=frame_id is not None and frame_id == self.main_frame_id,
                started_at=params.get("wallTime"),
            )
        self.requests[request_id] = _RequestState(observation)

    def _on_websocket(self, params: dict[str, Any]) -> None:
        initiator = params.get("initiator") or {}
        self.finished.append(
            RequestObservation(
                url=params["url"],
                resource_type="websocket",
                frame_id=self.main_frame_id,
                frame_chain=self._frame_chain(self.main_frame_id),
                initiator_type=initiator.get("type", "other"),
                initiator_url=_script_url(initiator),
                started_at=time.time(),
            )
        )

    @staticmethod
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

    def _on_response(self, params: dict[str, Any]) -> None:
        state = self.requests.get(params["requestId"])
        if state is not None:
            state.observation = observation = self._with_response(state.observation, params["response"])
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

    def _on_loading_finished(self, params: dict[str, Any]) -> None:
        state = self.requests.get(params["requestId"])
        if state is None:
            return
        if state.observation.resource_type in _HASHED_RESOURCE_TYPES and params.get("encodedDataLength", 0) <= _MAX_HASHED_BODY:
            state.hash_task = asyncio.ensure_future(self._body_sha256(params["requestId"]))
        else:
            self._finish(params["requestId"])

    def _on_loading_failed(self, params: dict[str, Any]) -> None:
        state = self.requests.get(params["requestId"])
        if state is None:
            return
        error = params.get("errorText") or "failed"
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

    async def _body_sha256(self, request_id: str) -> str | None:
        try:
            reply = await self.session.send("Network.getResponseBody", {"requestId": request_id})
        except Exception:  # the body may be gone (navigated away, evicted): not an error of the visit
            return None
        body = reply.get("body", "")
        data = base64.b64decode(body) if reply.get("base64Encoded") else body.encode("utf-8", "surrogatepass")
        return hashlib.sha256(data).hexdigest()

    # --- the end of the visit -----------------------------------------------------------------

    async def finish(self, error: str | None = None) -> PageCapture:
        """Take the page offline, gather frames, links and cookies, then return everything observed.

        Nothing the page starts from now on leaves the browser (the visit is over and about to be
        torn down). After an error the page may not answer, so only what the browser itself knows
        is read."""
        try:
            await asyncio.wait_for(self.session.send("Network.emulateNetworkConditions", {
                "offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}), STEP_TIMEOUT)
        except Exception as exc:
            logger.debug("could not take %s offline: %s", self.requested_url, exc)
        frames = await self._frame_observations(inspect_elements=error is None)
        links, forms = await self._dom_references() if error is None else ([], [])
        cookies = await self._cookies()
        html = ""
        if error is None:
            try:
                html = await asyncio.wait_for(self.page.evaluate(_MARKUP_JS), STEP_TIMEOUT)
            except Exception as exc:
                logger.debug("could not read the DOM of %s: %s", self.requested_url, exc)
        requests = list(self.finished)
        for state in list(self.requests.values()):
            body_sha256 = None
            if state.hash_task is not None:
                try:
                    body_sha256 = await asyncio.wait_for(state.hash_task, STEP_TIMEOUT)
                except Exception:
                    body_sha256 = None
            requests.append(replace(state.observation, body_sha256=body_sha256))
        requests += await self._worker_requests({r.url for r in requests})
        requests.sort(key=lambda r: r.started_at or 0.0)
        main = self.frames.get(self.main_frame_id or "")
        final_url = main.url if main and main.url else self.requested_url
        top_status = next(
            (r.status for r in requests if r.is_main_frame and r.resource_type == "document" and r.url == final_url),
            None,
        )
        return PageCapture(
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
            response_headers=self.document_headers,
        )

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
                chain = _playwright_frame_chain(request.frame)
            except Exception:
                chain = self._frame_chain(self.main_frame_id)
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
                error=request.failure,
                started_at=timing.get("startTime", 0) / 1000 or None,
            ))
        return observations

    async def _frame_observations(self, inspect_elements: bool) -> list[FrameObservation]:
        observations = []
        for frame_id, state in self.frames.items():
            hidden_reasons: tuple[str, ...] = ()
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
                    {"objectId": node["object"]["objectId"], "functionDeclaration": _HIDDEN_REASONS_JS,
                     "returnByValue": True},
                ),
                STEP_TIMEOUT,
            )
            return tuple(result.get("result", {}).get("value") or ())
        except Exception as exc:
            logger.debug("could not inspect frame %s: %s", frame_id, exc)
            return ()

    async def _dom_references(self) -> tuple[list[LinkObservation], list[FormObservation]]:
        """Links and forms of every frame's final DOM."""
        links, forms = [], []
        for frame in self.page.frames:
            chain = _playwright_frame_chain(frame)
            try:
                found = await asyncio.wait_for(frame.evaluate(_DOM_REFERENCES_JS), STEP_TIMEOUT)
            except Exception as exc:
                logger.debug("could not read links of %s: %s", frame.url, exc)
                continue
            links.extend(
                LinkObservation(href, chain, tag, rel)
                for tag, href, rel in dict.fromkeys(tuple(entry) for entry in found.get("links") or ())
                if isinstance(href, str)
            )
            forms.extend(
                FormObservation(action, method, chain, tuple(sensitive))
                for action, method, sensitive in found.get("forms") or ()
                if isinstance(action, str)
            )
        return links, forms

    async def _cookies(self) -> list[CookieObservation]:
        try:
            cookies = await asyncio.wait_for(self.page.context.cookies(), STEP_TIMEOUT)
        except Exception:
            cookies = []
        return self.refused_cookies + [
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


def _playwright_frame_chain(frame: Frame) -> tuple[str, ...]:
    chain = []
    current: Frame | None = frame
    while current is not None:
        chain.append(current.url)
        current = current.parent_frame
    return tuple(chain)
