"""References made by static HTML and the CSS inside it: the browserless ("static mode") extractor.

Static mode reads the markup as a browser's HTML parser would with scripting disabled, and
reports what the markup declares for loading (plus ``<a href>`` links), without fetching
anything. Decisions, following shared/host-pair-semantics.md:

* ``<link>`` counts only when its rel makes the browser fetch the URL: stylesheet (unless
  ``disabled``), icons (icon, apple-touch-icon[-precomposed], apple-touch-startup-image,
  mask-icon), manifest, preload (with a valid ``as``), modulepreload, prefetch, prerender.
  canonical, alternate (without stylesheet), author, next, prev, search, amphtml, ... request
  no URL and are not reported. Resource hints (preconnect, dns-prefetch, prefetch, preload,
  modulepreload) are reported with their ``hint``; preconnect and dns-prefetch fetch nothing.
* ``<script src>`` counts whatever its type: loaders park scripts under other types and load
  them later (Cloudflare Rocket Loader's ``<hash>-text/javascript``, consent managers'
  ``text/plain``, ``application/deferred``), the non-JavaScript type kept as ``declared_type``.
  Only types whose ``src`` nothing ever loads are skipped: JSON data blocks
  (``application/json``, ``application/ld+json``, any ``+json``), ``importmap`` and
  ``speculationrules`` (their content is inline; a ``src`` on them is ignored by browsers).
* Every ``srcset`` candidate is reported: which one loads depends on the viewport.
* Media (``<video src>``, ``<audio src>``, ``<source src>``, ``<track src>``, ``<embed src>``,
  non-image ``<object data>``) is ``unknown``, as the semantics file says.
* ``<iframe srcdoc>`` wins over ``src``; the srcdoc document has no host of its own, so its
  requests are ``iframe.write`` (its ``<a href>`` stay ``a.href``); nested up to 3 levels.
* Only the first ``<meta http-equiv=refresh>`` whose content parses is honoured, as browsers
  do; a refresh without a URL reloads the page itself and reports nothing.
* ``<template>`` content is inert and ignored; ``<noscript>`` content counts (scripting off).
* The first ``<base href>`` is the base of every relative URL in the document.
* URLs are resolved as hostpairs.extractors.urls describes; CSS (``<style>``, ``style``
  attributes) is read by hostpairs.extractors.css.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Protocol

from lxml import etree

from hostpairs.extractors.css import IMAGE_EXTENSIONS, iter_css_references
from hostpairs.extractors.static_reference import StaticReference
from hostpairs.extractors.urls import path_extension, resolve_url


class Attributes(Protocol):
    """An element's attributes (lxml's attrib, a BeautifulSoup tag, a dict)."""

    def get(self, key: str, default: None = None) -> str | None: ...


_ASCII_WHITESPACE = " \t\n\f\r"
# A URL ending with commas has no descriptors; otherwise descriptors run to a comma outside ().
_SRCSET_CANDIDATE = re.compile(
    r"[ \t\n\f\r,]*(?:([^ \t\n\f\r]*,)(?![^ \t\n\f\r])|([^ \t\n\f\r]+)(?:[^,(]|\([^)]*\)?)*)"
)
_REFRESH = re.compile(
    r"[ \t\n\f\r]*(?:[0-9]+|\.)[0-9.]*(?:\Z|(?=[;, \t\n\f\r])[ \t\n\f\r]*[;,]?[ \t\n\f\r]*(.*))", re.S
)
_REFRESH_URL_PREFIX = re.compile(r"[Uu][Rr][Ll][ \t\n\f\r]*=[ \t\n\f\r]*")
JAVASCRIPT_TYPES = frozenset((
    "", "module", "application/ecmascript", "application/javascript", "application/x-ecmascript",
    "application/x-javascript", "text/ecmascript", "text/javascript", "text/javascript1.0",
    "text/javascript1.1", "text/javascript1.2", "text/javascript1.3", "text/javascript1.4",
    "text/javascript1.5", "text/jscript", "text/livescript", "text/x-ecmascript", "text/x-javascript",
))  # fmt: skip
_NEVER_LOADED_SCRIPT_TYPES = frozenset(("application/json", "text/json", "importmap", "speculationrules"))
HINT_RELS = ("preconnect", "dns-prefetch", "prefetch", "preload", "modulepreload")
CONNECTION_HINTS = frozenset(("preconnect", "dns-prefetch"))
"""Resource hints that fetch no URL: the browser only opens a connection or resolves the name."""
ICON_RELS = frozenset(
    ("icon", "apple-touch-icon", "apple-touch-icon-precomposed", "apple-touch-startup-image", "mask-icon")
)
PRELOAD_TYPES = {
    "fetch": "fetch", "font": "font", "image": "image", "script": "script", "style": "stylesheet",
    "track": "texttrack", "audio": "media", "video": "media", "document": "document",
    "manifest": "manifest", "worker": "other", "sharedworker": "other", "serviceworker": "other",
    "embed": "other", "object": "other", "xslt": "other",
}  # fmt: skip
_MAX_SRCDOC_DEPTH = 3
_SURROGATE = re.compile("[\ud800-\udfff]")


def srcset_urls(srcset: str) -> list[str]:
    """The candidate URLs of a ``srcset`` attribute (HTML's srcset parsing, descriptors skipped)."""
    return [url for match in _SRCSET_CANDIDATE.finditer(srcset) if (url := (match[1] or match[2]).rstrip(","))]


def refresh_url(content: str) -> tuple[bool, str | None]:
    """Parse a meta refresh ``content`` as HTML does: (valid, URL string or None for a reload)."""
    match = _REFRESH.match(content)
    if match is None:
        return False, None
    rest = match.group(1)
    if not rest:
        return True, None
    prefix = _REFRESH_URL_PREFIX.match(rest)
    if prefix is None and rest[0] in "Uu":
        return True, rest
    if prefix is not None:
        rest = rest[prefix.end() :]
    if rest[:1] in ("'", '"'):
        quote_char, rest = rest[0], rest[1:]
        rest = rest.split(quote_char, 1)[0]
    return True, rest


def script_type(attrs: Attributes) -> str | None:
    """A <script>'s declared type, lower case without parameters, when it is not JavaScript
    (None for JavaScript and modules), as HTML decides from ``type`` and ``language``."""
    declared = attrs.get("type")
    if declared is None:
        language = attrs.get("language")
        return None if not language or f"text/{language}".lower() in JAVASCRIPT_TYPES else f"text/{language}".lower()
    essence = declared.split(";", 1)[0].strip(_ASCII_WHITESPACE).lower()
    return None if essence in JAVASCRIPT_TYPES else essence


def is_never_loaded(declared_type: str) -> bool:
    """Whether a <script> of this (non-JavaScript) type is a data block no loader ever runs."""
    return declared_type in _NEVER_LOADED_SCRIPT_TYPES or declared_type.endswith("+json")


def resource_hint(rel: str | None) -> str | None:
    """The resource hint a <link>'s rel gives, if any."""
    tokens = (rel or "").lower().split()
    return next((hint for hint in HINT_RELS if hint in tokens), None)


def link_resource_type(attrs: Attributes) -> str | None:
    """Resource type a ``<link>`` fetches, or None when its rel fetches nothing."""
    rels = set((attrs.get("rel") or "").lower().split())
    if "stylesheet" in rels:
        return None if attrs.get("disabled") is not None else "stylesheet"
    if "preload" in rels:
        return PRELOAD_TYPES.get((attrs.get("as") or "").lower())
    if "modulepreload" in rels:
        return "script"
    if "manifest" in rels:
        return "manifest"
    if rels & ICON_RELS:
        return "image"
    if "prefetch" in rels:
        return "prefetch"
    if "prerender" in rels:
        return "document"
    return None


class _Document:
    """Raw references of one document in document order, resolved once its base is known."""

    __slots__ = ("items", "base", "refreshed", "depth")

    def __init__(self, depth: int) -> None:
        self.items: list[tuple[str, str, str, str, str | None, str | None] | tuple[str, str] | _Document] = []
        self.base: str | None = None
        self.refreshed = False
        self.depth = depth

    def add(self, raw: str | None, cause: str, resource_type: str, tag: str, declared_type: str | None = None,
            hint: str | None = None) -> None:
        if raw:
            self.items.append((raw, cause, resource_type, tag, declared_type, hint))

    def add_srcset(self, srcset: str | None, cause: str, resource_type: str, tag: str, hint: str | None = None) -> None:
        if srcset:
            for raw in srcset_urls(srcset):
                self.items.append((raw, cause, resource_type, tag, None, hint))

    def add_css(self, css: str | None, tag: str) -> None:
        if css and ("(" in css or "@" in css):  # url(...) or @import
            self.items.append((css, tag))

    def element(self, tag: str, attrs: Attributes) -> None:
        handler = _HANDLERS.get(tag)
        if handler is not None:
            handler(self, attrs, tag)
        style = attrs.get("style")
        if style:
            self.add_css(style, tag)

    def references(self, fallback_base: str, write: bool) -> Iterator[StaticReference]:
        """Resolve against the document's base; ``write`` maps requests to iframe.write (a
        hostless document's hints name no host of its own and are left out)."""
        base = fallback_base
        if self.base is not None:
            base = resolve_url(self.base, fallback_base) or fallback_base
        resolved: dict[str, str | None] = {}
        for item in self.items:
            if isinstance(item, _Document):
                yield from item.references(base, True)
            elif len(item) == 2:
                for reference in iter_css_references(item[0], base, item[1]):
                    yield _as_write(reference) if write else reference
            else:
                raw, cause, resource_type, tag, declared_type, hint = item
                if write and hint in CONNECTION_HINTS:
                    continue
                if raw not in resolved:
                    resolved[raw] = resolve_url(raw, base)
                url = resolved[raw]
                if url is not None:
                    written = write and cause != "a.href"
                    yield StaticReference(url, "iframe.write" if written else cause, resource_type, tag,
                                          declared_type, None if written else hint)


def _as_write(reference: StaticReference) -> StaticReference:
    return StaticReference(reference.url, "iframe.write", reference.resource_type, reference.tag)


def _frame(doc: _Document, attrs: Attributes, tag: str) -> None:
    srcdoc = attrs.get("srcdoc") if tag == "iframe" else None
    if srcdoc is None:
        doc.add(attrs.get("src"), "iframe.src", "document", tag)
    elif doc.depth < _MAX_SRCDOC_DEPTH:
        doc.items.append(_parse(srcdoc, doc.depth + 1))


def _script(doc: _Document, attrs: Attributes, tag: str) -> None:
    declared_type = script_type(attrs)
    if declared_type is None or not is_never_loaded(declared_type):
        doc.add(attrs.get("src"), "script.src", "script", tag, declared_type)


def _img(doc: _Document, attrs: Attributes, tag: str) -> None:
    doc.add(attrs.get("src"), "img.src", "image", tag)
    doc.add_srcset(attrs.get("srcset"), "img.src", "image", tag)


def _source(doc: _Document, attrs: Attributes, tag: str) -> None:
    doc.add_srcset(attrs.get("srcset"), "img.src", "image", tag)  # in <picture>
    doc.add(attrs.get("src"), "unknown", "media", tag)  # in <video>/<audio>


def _input(doc: _Document, attrs: Attributes, tag: str) -> None:
    if (attrs.get("type") or "").lower() == "image":
        doc.add(attrs.get("src"), "img.src", "image", tag)


def _object(doc: _Document, attrs: Attributes, tag: str) -> None:
    data = attrs.get("data")
    if data:
        declared = (attrs.get("type") or "").strip(_ASCII_WHITESPACE).lower()
        if declared.startswith("image/") or (not declared and path_extension(data) in IMAGE_EXTENSIONS):
            doc.add(data, "img.src", "image", tag)
        else:
            doc.add(data, "unknown", "other", tag)


def _video(doc: _Document, attrs: Attributes, tag: str) -> None:
    doc.add(attrs.get("poster"), "img.src", "image", tag)
    doc.add(attrs.get("src"), "unknown", "media", tag)


def _media(doc: _Document, attrs: Attributes, tag: str) -> None:
    doc.add(attrs.get("src"), "unknown", _MEDIA_TYPES[tag], tag)


def _link(doc: _Document, attrs: Attributes, tag: str) -> None:
    resource_type = link_resource_type(attrs)
    hint = resource_hint(attrs.get("rel"))
    if resource_type is not None:
        doc.add(attrs.get("href"), "link.href", resource_type, tag, hint=hint)
        if resource_type == "image":
            doc.add_srcset(attrs.get("imagesrcset"), "link.href", "image", tag, hint)
    elif hint in CONNECTION_HINTS:
        doc.add(attrs.get("href"), "link.href", "other", tag, hint=hint)


def _anchor(doc: _Document, attrs: Attributes, tag: str) -> None:
    doc.add(attrs.get("href"), "a.href", "document", tag)


def _meta(doc: _Document, attrs: Attributes, tag: str) -> None:
    if doc.refreshed or (attrs.get("http-equiv") or "").lower() != "refresh":
        return
    content = attrs.get("content")
    if content is None:
        return
    valid, url = refresh_url(content)
    if valid:
        doc.refreshed = True
        doc.add(url, "meta.refresh", "document", tag)


def _base(doc: _Document, attrs: Attributes, tag: str) -> None:
    if doc.base is None:
        doc.base = attrs.get("href")


def _background(doc: _Document, attrs: Attributes, tag: str) -> None:
    doc.add(attrs.get("background"), "img.src", "image", tag)


_MEDIA_TYPES = {"audio": "media", "track": "texttrack", "embed": "other"}
_HANDLERS = {
    "iframe": _frame, "frame": _frame, "script": _script, "img": _img, "source": _source,
    "input": _input, "object": _object, "video": _video, "audio": _media, "track": _media,
    "embed": _media, "link": _link, "a": _anchor, "area": _anchor, "meta": _meta, "base": _base,
    **dict.fromkeys(("body", "table", "thead", "tbody", "tfoot", "tr", "td", "th"), _background),
}  # fmt: skip


class _StreamTarget:
    """lxml parser target used when a document is too deep for libxml2's tree (depth 2048)."""

    def __init__(self, doc: _Document) -> None:
        self._doc = doc
        self._template_depth = 0
        self._style: list[str] | None = None

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        if tag == "template":
            self._template_depth += 1
        if self._template_depth:
            return
        if tag == "style":
            self._style = []
        self._doc.element(tag, attrib)

    def end(self, tag: str) -> None:
        if self._template_depth:
            if tag == "template":
                self._template_depth -= 1
        elif tag == "style" and self._style is not None:
            self._doc.add_css("".join(self._style), "style")
            self._style = None

    def data(self, data: str) -> None:
        if self._style is not None:
            self._style.append(data)

    def close(self) -> None:
        return None


def _encode(html: str) -> bytes:
    try:
        return html.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: read them as U+FFFD like a decoder would
        return _SURROGATE.sub("\ufffd", html).encode("utf-8")


def _parse(html: str, depth: int) -> _Document:
    """Collect the raw references of one HTML document (tree pass, streaming if too deep)."""
    doc = _Document(depth)
    data = _encode(html)
    parser = etree.HTMLParser(encoding="utf-8", huge_tree=True, collect_ids=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.LxmlError:  # empty document
        return doc
    if root is None:
        return doc
    if parser.error_log.filter_from_fatals():
        stream = _Document(depth)
        try:
            etree.fromstring(data, etree.HTMLParser(encoding="utf-8", huge_tree=True, target=_StreamTarget(stream)))
        except etree.LxmlError:
            pass
        return stream
    for template in list(root.iter("template")):
        parent = template.getparent()
        if parent is not None:
            parent.remove(template)
    element = doc.element
    for node in root.iter(etree.Element):
        tag = node.tag
        if tag == "style":
            doc.add_css(node.text, "style")
        element(tag, node)
    return doc


def extract_html_references(html: str, page_url: str) -> list[StaticReference]:
    """References the static HTML of ``page_url`` makes, deduplicated by (url, cause) in
    document order. Never raises on malformed markup or URLs."""
    seen: dict[tuple[str, str], StaticReference] = {}
    for reference in _parse(html, 0).references(page_url, False):
        seen.setdefault((reference.url, reference.cause), reference)
    return list(seen.values())
