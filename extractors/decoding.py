"""Fetched HTML bodies decoded to text as browsers pick the encoding."""

from __future__ import annotations

import charset_normalizer
from w3lib.encoding import html_to_unicode


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
