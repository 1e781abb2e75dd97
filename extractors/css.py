"""References static CSS makes: ``@import`` and ``url()``, read without fetching anything."""

from __future__ import annotations

import re
from collections.abc import Iterator

from hostpairs.extractors.static_reference import StaticReference
from hostpairs.extractors.urls import C0_CONTROL_OR_SPACE, path_extension, resolve_url

_CSS_STRING = r""""((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'"""
_CSS_URL = rf"""(?<![\w-])url\(\s*(?:{_CSS_STRING}|((?:[^\s"'()\\]|\\[0-9A-Fa-f]{{1,6}}\s?|\\.)*))\s*\)"""
# Read left to right as the tokenizer does: a '/*' inside a string or url() starts no comment.
_CSS_COMMENT_OR_TOKEN = re.compile(rf"""(/\*.*?(?:\*/|\Z))|{_CSS_URL}|"(?:[^"\\\n]|\\.)*"?|'(?:[^'\\\n]|\\.)*'?""",
                                   re.S | re.I)
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


def _css_resource_type(url: str) -> str:
    extension = path_extension(url)
    if extension in _FONT_EXTENSIONS:
        return "font"
    if extension in IMAGE_EXTENSIONS:
        return "image"
    return "other"


def iter_css_references(css: str, base: str, tag: str | None) -> Iterator[StaticReference]:
    """Every ``css.import`` reference of ``css`` resolved against ``base``, in order and with
    repeats, attributed to ``tag`` (the element holding the CSS, None for a stylesheet)."""
    if "/*" in css:
        css = _CSS_COMMENT_OR_TOKEN.sub(lambda m: " " if m.group(1) else m.group(0), css)
    font_faces = [m.span() for m in _FONT_FACE.finditer(css)] if "@" in css else []
    for match in _CSS_REFERENCE.finditer(css):
        raw = next(group for group in match.groups() if group is not None)
        if "\\" in raw:
            raw = _CSS_ESCAPE.sub(_css_unescape_one, raw)
        if not raw.strip(C0_CONTROL_OR_SPACE):
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
    for reference in iter_css_references(css, stylesheet_url, None):
        seen.setdefault((reference.url, reference.cause), reference)
    return list(seen.values())
