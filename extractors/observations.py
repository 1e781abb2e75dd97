"""Plain data describing what one visit observed, independent of the browser or HTTP stack.

A capture is produced by the crawler (browser or static mode) and consumed by the pure
extractors; nothing here knows about Playwright, Scrapy or the database.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field


def document_url(frame_chain: tuple[str, ...]) -> str | None:
    """The document a frame chain starts from (the requesting or containing document)."""
    return frame_chain[0] if frame_chain else None


@dataclass(frozen=True)
class RequestObservation:
    """One HTTP request (one hop of a redirect chain) made while the page was visited."""

    url: str
    resource_type: str
    """Chrome DevTools resource type, lower case: document, script, image, stylesheet, font,
    xhr, fetch, ping, eventsource, media, websocket, manifest, other, ..."""
    frame_id: str | None = None
    frame_chain: tuple[str, ...] = ()
    """URLs of the documents from the requesting frame up to the top page, at request time.
    For a frame's own navigation, the first entry is the document it replaces ('' if none)."""
    initiator_type: str = "other"
    """parser, script, preload, redirect or other."""
    initiator_url: str | None = None
    """The script (for script-initiated requests) or stylesheet/document being parsed."""
    navigation_reason: str | None = None
    """For a frame's navigation: scriptInitiated, metaTagRefresh, httpHeaderRefresh, ..."""
    is_main_frame: bool = False
    started_at: float | None = None
    """When the request started (POSIX time), if known."""
    redirected_from: str | None = None
    """URL of the previous hop when this request follows an HTTP redirect."""
    status: int | None = None
    remote_ip: str | None = None
    remote_port: int | None = None
    mime_type: str | None = None
    error: str | None = None
    certificate_error: str | None = None
    body_sha256: str | None = None
    declared_cause: str | None = None
    """Set when the capture itself knows the cause (static mode reads it from the markup)."""
    declared_type: str | None = None
    """The `type` attribute of the <script> that references the URL, when static mode read one
    that is not JavaScript (a loader or consent manager parks scripts under other types)."""
    fetch_initiator: str | None = None
    """What the requesting document's Resource Timing names as the request's initiator (css,
    link, img, script, iframe, xmlhttprequest, fetch, other, ...); None when it was not read."""
    method: str = "GET"


@dataclass(frozen=True)
class FrameObservation:
    """A frame of the page (the top page has parent_frame_id None)."""

    frame_id: str
    parent_frame_id: str | None
    url: str
    name: str | None = None
    created_by_script: bool = False
    creator_script_url: str | None = None
    hidden: bool | None = None
    hidden_reasons: tuple[str, ...] = ()
    detached: bool = False


@dataclass(frozen=True)
class LinkObservation:
    """A URL an element of a frame's final DOM names: an <a>/<area> href (tag "a"), a <link>
    href (tag "link", with its rel) or a <script src> whose type is not JavaScript (tag "script",
    with that type), which the browser does not load."""

    href: str
    frame_chain: tuple[str, ...]
    tag: str = "a"
    rel: str | None = None
    script_type: str | None = None


@dataclass(frozen=True)
class FormObservation:
    """A <form> in the final DOM of a frame: where it submits and what it asks for."""

    action: str
    method: str
    frame_chain: tuple[str, ...]
    sensitive_fields: tuple[str, ...] = ()
    """"password" and/or "payment card" when the form has such inputs."""


@dataclass(frozen=True)
class ScriptElementObservation:
    """A <script> element of a frame's final DOM (read on pages whose scripts are inventoried)."""

    frame_chain: tuple[str, ...]
    src: str | None
    """The absolute source URL; None for an inline script."""
    script_type: str | None = None
    integrity: str | None = None
    inline_sha256: str | None = None
    """SHA-256 (hex) of an inline script's UTF-8 text."""


@dataclass(frozen=True)
class CookieObservation:
    name: str
    domain: str
    path: str = "/"
    secure: bool = False
    http_only: bool = False
    same_site: str | None = None


@dataclass
class PageCapture:
    """Everything one visit of one URL observed."""

    requested_url: str
    final_url: str
    mode: str  # "browser" or "static"
    started_at: float
    finished_at: float
    depth: int = 0
    status: int | None = None
    error: str | None = None
    requests: list[RequestObservation] = field(default_factory=list)
    frames: list[FrameObservation] = field(default_factory=list)
    links: list[LinkObservation] = field(default_factory=list)
    forms: list[FormObservation] = field(default_factory=list)
    cookies: list[CookieObservation] = field(default_factory=list)
    html: str = ""
    """Top document: its final DOM without prose text (browser mode) or the response body (static)."""
    response_headers: dict[str, str] = field(default_factory=dict)
    seed_group: str | None = None
    """The seed group whose crawl made this visit, if any."""
    job: str | None = None
    """The id of the crawl job (`--job DIR`) that made this visit, if any."""
    load_finished: bool | None = None
    """Browser mode: whether the load event came within HOSTPAIRS_LOAD_WAIT of DOMContentLoaded
    (a page whose load never comes is browsed anyway)."""
    limits_hit: tuple[str, ...] = ()
    """The per-visit limits this visit ran into, e.g. "load wait 10 s"."""
    screenshot: bytes | None = None
    """Browser mode: the viewport after the user simulation, as JPEG (HOSTPAIRS_SCREENSHOTS)."""
    script_elements: list[ScriptElementObservation] = field(default_factory=list)
    """Browser mode, on pages whose scripts are inventoried: every <script> of every frame."""
    script_bodies: dict[str, str] = field(default_factory=dict)
    """Browser mode, on pages whose scripts are inventoried: each script body by its SHA-256 (hex),
    external and inline, decoded as UTF-8 with undecodable bytes kept (surrogateescape)."""

    @property
    def failed(self) -> bool:
        return self.error is not None

    @classmethod
    def failure(cls, url: str, mode: str, depth: int, error: str) -> PageCapture:
        """A visit that observed nothing but its error (the page never loaded)."""
        now = time.time()
        return cls(url, url, mode, now, now, depth=depth, error=error)
