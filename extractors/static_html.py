"""References made by static HTML and CSS: the browserless ("static mode") extractor.

Static mode reads the markup as a browser's HTML parser would with scripting disabled, and
reports what the markup declares for loading (plus ``<a href>`` links), without fetching
anything. Decisions, following shared/host-pair-semantics.md:

* ``<link>`` counts only when its rel makes the browser fetch the URL: stylesheet (unless
  ``disabled``), icons (icon, apple-touch-icon[-precomposed], apple-touch-startup-image,
  mask-icon), manifest, preload (with a valid ``as``), modulepreload, prefetch, prerender.
  canonical, alternate (without stylesheet), author, next, prev, search, amphtml, preconnect,
  dns-prefetch, ... request no URL and are not reported.
* ``<script src>`` counts when its type is JavaScript or ``module``: data blocks such as
  ``type="text/plain"`` (consent-gated tags) are never fetched.
* Every ``srcset`` candidate is reported: which one loads depends on the viewport.
* Media (``<video src>``, ``<audio src>``, ``<source src>``, ``<track src>``, ``<embed src>``,
  non-image ``<object data>``) is ``unknown``, as the semantics file says.
* ``<iframe srcdoc>`` wins over ``src``; the srcdoc document has no host of its own, so its
  requests are ``iframe.write`` (its ``<a href>`` stay ``a.href``); nested up to 3 levels.
* Only the first ``<meta http-equiv=refresh>`` whose content parses is honoured, as browsers
  do; a refresh without a URL reloads the page itself and reports nothing.
* ``<template>`` content is inert and ignored; ``<noscript>`` content counts (scripting off).
* The first ``<base href>`` is the base of every relative URL in the document.
* URLs are parsed the WHATWG way for http(s): ASCII tab/newline removed, C0/space trimmed,
  backslashes read as slashes, extra slashes before the host ignored. Output URLs have a
  lower-case punycode host without trailing dot or user info, no default port, no fragment,
  and non-ASCII/space path and query characters percent-encoded (UTF-8).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from ipaddress import ip_address
from typing import Protocol
from urllib.parse import quote, unquote

import charset_normalizer
from lxml import etree
from w3lib.encoding import html_to_unicode

from hostpairs.extractors.hosts import normalize_host


@dataclass(frozen=True)
class StaticReference:
    """One URL that static markup or CSS references."""

    url: str
    """Absolute http(s) URL, normalised (see the module docstring)."""
    cause: str
    """iframe.src, iframe.write, script.src, img.src, link.href, css.import, a.href,
    meta.refresh or unknown (media), as in shared/host-pair-semantics.md."""
    resource_type: str
    """Chrome DevTools resource type, lower case: document, script, image, stylesheet, font,
    manifest, fetch, prefetch, media, texttrack or other."""
    tag: str | None
    """The element that made the reference; None for references found in a stylesheet."""


# --- URLs -------------------------------------------------------------------------------

_C0_AND_SPACE = "".join(map(chr, range(0x21)))
_TAB_NEWLINE = str.maketrans("", "", "\t\n\r")
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
_AUTHORITY_END = re.compile(r"[/?#]")
_DEFAULT_PORTS = {"http": 80, "https": 443}
# Anything but printable ASCII, and the WHATWG forbidden host code points.
_BAD_HOST = re.compile(r"[^\x21-\x7e]|[#%/:<>?@\[\\\]^|]")
_PATH_ESCAPE = re.compile(r"[^\x21-\x7e]|[\"<>`{}]")
_QUERY_ESCAPE = re.compile(r"[^\x21-\x7e]|[\"<>']")


def _percent_encode(match: re.Match[str]) -> str:
    return quote(match.group(), safe="", errors="replace")


def _slashes(url: str) -> str:
    """Read backslashes before the query as slashes, as browsers do for http(s)."""
    if "\\" not in url:
        return url
    end = len(url)
    for delimiter in "?#":
        index = url.find(delimiter, 0, end)
        if index >= 0:
            end = index
    return url[:end].replace("\\", "/") + url[end:]


@lru_cache(maxsize=16384)
def _host(raw: str) -> str | None:
    """The normalised host of a URL's host part ([...] for IPv6), or None if invalid."""
    if raw[:1] == "[":
        try:
            return f"[{ip_address(raw[1:-1]).compressed}]" if raw[-1:] == "]" and ":" in raw else None
        except ValueError:
            return None
    if "%" in raw:
        raw = unquote(raw)
    host = normalize_host(raw)
    return None if host is None or _BAD_HOST.search(host) else host


def _remove_dot_segments(path: str) -> str:
    segments = path.split("/")[1:]
    output: list[str] = []
    for segment in segments:
        if segment == "..":
            if output:
                output.pop()
        elif segment != ".":
            output.append(segment)
    if segments[-1] in (".", ".."):
        output.append("")
    return "/" + "/".join(output)


def _normalise(scheme: str, rest: str) -> str | None:
    """Canonical ``scheme://rest``, or None if its host or port is invalid."""
    match = _AUTHORITY_END.search(rest)
    authority, tail = (rest[: match.start()], rest[match.start() :]) if match else (rest, "")
    hostport = authority[authority.rfind("@") + 1 :]
    port = None
    colon = hostport.rfind(":")
    if colon > hostport.rfind("]"):
        digits, hostport = hostport[colon + 1 :], hostport[:colon]
        if digits:
            if not (digits.isascii() and digits.isdigit()) or int(digits) > 65535:
                return None
            port = int(digits)
    host = _host(hostport) if hostport else None
    if host is None:
        return None
    netloc = host if port is None or port == _DEFAULT_PORTS[scheme] else f"{host}:{port}"
    path, _, query = tail.partition("#")[0].partition("?")
    if not path:
        path = "/"
    elif "/." in path:
        path = _remove_dot_segments(path)
    if _PATH_ESCAPE.search(path):
        path = _PATH_ESCAPE.sub(_percent_encode, path)
    if not query:
        return f"{scheme}://{netloc}{path}"
    if _QUERY_ESCAPE.search(query):
        query = _QUERY_ESCAPE.sub(_percent_encode, query)
    return f"{scheme}://{netloc}{path}?{query}"


@lru_cache(maxsize=1024)
def _split_base(base: str) -> tuple[str, str, str, str] | None:
    """(scheme, authority, path, query) of an http(s) base URL, else None."""
    match = _SCHEME.match(base)
    if match is None or match.group(1).lower() not in _DEFAULT_PORTS or base[match.end() : match.end() + 2] != "//":
        return None
    rest = base[match.end() + 2 :]
    end = _AUTHORITY_END.search(rest)
    authority, tail = (rest[: end.start()], rest[end.start() :]) if end else (rest, "")
    path, _, query = tail.partition("#")[0].partition("?")
    return match.group(1).lower(), authority, path or "/", query


def resolve_url(raw: str, base: str) -> str | None:
    """Resolve an attribute or CSS URL against ``base`` like a browser; None unless http(s).

    Empty values and fragment-only references (``#top``) give None, like every other scheme
    (javascript:, data:, mailto:, about:, blob:, tel:, ...) and malformed hosts or ports.
    """
    url = raw.strip(_C0_AND_SPACE)
    if "\t" in url or "\n" in url or "\r" in url:
        url = url.translate(_TAB_NEWLINE)
    if not url or url[0] == "#":
        return None
    match = _SCHEME.match(url)
    if match:
        scheme = match.group(1).lower()
        if scheme not in _DEFAULT_PORTS:
            return None
        url = _slashes(url[match.end() :])
        if url[:2] == "//" or base[: len(scheme) + 1].lower() != scheme + ":":
            return _normalise(scheme, url.lstrip("/"))
    else:
        url = _slashes(url)
    parts = _split_base(base)
    if parts is None:
        return None
    scheme, authority, path, query = parts
    if url[:2] == "//":
        return _normalise(scheme, url.lstrip("/"))
    if not url or url[0] == "#":  # "http:" or "http:#x" relative to an http base
        return _normalise(scheme, f"{authority}{path}?{query}" if query else authority + path)
    if url[0] == "/":
        return _normalise(scheme, authority + url)
    if url[0] == "?":
        return _normalise(scheme, authority + path + url)
    return _normalise(scheme, authority + path[: path.rfind("/") + 1] + url)


# --- CSS --------------------------------------------------------------------------------

_CSS_COMMENT = re.compile(r"/\*.*?(?:\*/|\Z)", re.S)
_CSS_STRING = r""""((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'"""
_CSS_URL = rf"""(?<![\w-])url\(\s*(?:{_CSS_STRING}|((?:[^\s"'()\\]|\\[0-9A-Fa-f]{{1,6}}\s?|\\.)*))\s*\)"""
_CSS_REFERENCE = re.compile(rf"@import\s*(?:{_CSS_URL}|{_CSS_STRING})|{_CSS_URL}", re.I | re.S)
_CSS_ESCAPE = re.compile(r"\\(?:([0-9A-Fa-f]{1,6})[ \t\n\f]?|(\r\n|[\n\r\f])|(.))", re.S)
_FONT_FACE = re.compile(r"@font-face\s*\{[^}]*\}?", re.I)
_FONT_EXTENSIONS = frozenset(("woff", "woff2", "ttf", "otf", "eot"))
IMAGE_EXTENSIONS = frozenset(
    ("png", "jpg", "jpeg", "jfif", "pjpeg", "gif", "svg", "webp", "avif", "apng", "ico", "cur", "bmp", "tif", "tiff")
)


def _css_unescape_one(match: re.Match[str]) -> str:
    hex_digits, newline, char = match.groups()
    if newline is not None:
        return ""
    if char is not None:
        return char
    code = int(hex_digits, 16)
    return chr(code) if 0 < code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF else "\ufffd"


def _extension(url: str) -> str:
    """Lower-case file extension of a URL's path ('' if none)."""
    path = url.split("#", 1)[0].split("?", 1)[0]
    name = path[path.rfind("/") + 1 :]
    return name[name.rfind(".") + 1 :].lower() if "." in name else ""


def _css_resource_type(url: str) -> str:
    extension = _extension(url)
    if extension in _FONT_EXTENSIONS:
        return "font"
    if extension in IMAGE_EXTENSIONS:
        return "image"
    return "other"


def _iter_css(css: str, base: str, tag: str | None) -> Iterator[StaticReference]:
    if "/*" in css:
        css = _CSS_COMMENT.sub(" ", css)
    font_faces = [m.span() for m in _FONT_FACE.finditer(css)] if "@" in css else []
    for match in _CSS_REFERENCE.finditer(css):
        raw = next(group for group in match.groups() if group is not None)
        if "\\" in raw:
            raw = _CSS_ESCAPE.sub(_css_unescape_one, raw)
        if not raw.strip(_C0_AND_SPACE):
            continue  # url() and url("") request nothing
        url = resolve_url(raw, base)
        if url is None:
            continue
        if match.group(0)[0] == "@":
            resource_type = "stylesheet"
        elif any(start <= match.start() < end for start, end in font_faces):
            resource_type = "font"
        else:
            resource_type = _css_resource_type(url)
        yield StaticReference(url, "css.import", resource_type, tag)


def extract_css_references(css: str, stylesheet_url: str) -> list[StaticReference]:
    """References a stylesheet makes: ``@import`` (stylesheet) and ``url()`` (font in
    ``@font-face`` or by extension, image by extension, else other), all ``css.import``,
    resolved against ``stylesheet_url``, deduplicated by (url, cause) in order."""
    seen: dict[tuple[str, str], StaticReference] = {}
    for reference in _iter_css(css, stylesheet_url, None):
        seen.setdefault((reference.url, reference.cause), reference)
    return list(seen.values())


# --- HTML -------------------------------------------------------------------------------


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


def _is_javascript(attrs: Attributes) -> bool:
    script_type = attrs.get("type")
    if script_type is None:
        language = attrs.get("language")
        return not language or f"text/{language}".lower() in JAVASCRIPT_TYPES
    return script_type.split(";", 1)[0].strip(_ASCII_WHITESPACE).lower() in JAVASCRIPT_TYPES


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
        self.items: list[tuple[str, str, str, str] | tuple[str, str] | _Document] = []
        self.base: str | None = None
        self.refreshed = False
        self.depth = depth

    def add(self, raw: str | None, cause: str, resource_type: str, tag: str) -> None:
        if raw:
            self.items.append((raw, cause, resource_type, tag))

    def add_srcset(self, srcset: str | None, cause: str, resource_type: str, tag: str) -> None:
        if srcset:
            for raw in srcset_urls(srcset):
                self.items.append((raw, cause, resource_type, tag))

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
        """Resolve against the document's base; ``write`` maps requests to iframe.write."""
        base = fallback_base
        if self.base is not None:
            base = resolve_url(self.base, fallback_base) or fallback_base
        resolved: dict[str, str | None] = {}
        for item in self.items:
            if isinstance(item, _Document):
                yield from item.references(base, True)
            elif len(item) == 2:
                for reference in _iter_css(item[0], base, item[1]):
                    yield _as_write(reference) if write else reference
            else:
                raw, cause, resource_type, tag = item
                if raw not in resolved:
                    resolved[raw] = resolve_url(raw, base)
                url = resolved[raw]
                if url is not None:
                    yield StaticReference(
                        url, "iframe.write" if write and cause != "a.href" else cause, resource_type, tag
                    )


def _as_write(reference: StaticReference) -> StaticReference:
    return StaticReference(reference.url, "iframe.write", reference.resource_type, reference.tag)


def _frame(doc: _Document, attrs: Attributes, tag: str) -> None:
    srcdoc = attrs.get("srcdoc") if tag == "iframe" else None
    if srcdoc is None:
        doc.add(attrs.get("src"), "iframe.src", "document", tag)
    elif doc.depth < _MAX_SRCDOC_DEPTH:
        doc.items.append(_parse(srcdoc, doc.depth + 1))


def _script(doc: _Document, attrs: Attributes, tag: str) -> None:
    if _is_javascript(attrs):
        doc.add(attrs.get("src"), "script.src", "script", tag)


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
        if declared.startswith("image/") or (not declared and _extension(data) in IMAGE_EXTENSIONS):
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
    if resource_type is not None:
        doc.add(attrs.get("href"), "link.href", resource_type, tag)
        if resource_type == "image":
            doc.add_srcset(attrs.get("imagesrcset"), "link.href", "image", tag)


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


# --- Bytes ------------------------------------------------------------------------------


def _detect_encoding(body: bytes) -> str:
    """Encoding of a body that declares none: UTF-8 if it decodes, else a statistical guess."""
    try:
        body.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    best = charset_normalizer.from_bytes(body[:65536]).best()
    return best.encoding if best is not None else "cp1252"


def decode_html(body: bytes, content_type_header: str | None) -> str:
    """Decode a fetched HTML body: BOM, then the header's charset, then ``<meta charset>``,
    then detection (w3lib.encoding.html_to_unicode). Never raises; undecodable bytes become
    U+FFFD and labels naming non-text codecs (zlib, idna, ...) are ignored."""
    for header in (content_type_header, None):
        try:
            return html_to_unicode(header, body, auto_detect_fun=_detect_encoding)[1]
        except (LookupError, UnicodeError, ValueError, TypeError):
            continue
    return body.decode(_detect_encoding(body), "replace")
