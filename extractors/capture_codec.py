"""A visit's capture as stored bytes, so the extractors can re-derive its records later.

Lookyloo keeps each capture and rebuilds its tree from it; hostpairs keeps each visit's
`PageCapture` (its screenshot and script bodies aside, stored on their own) as zlib-compressed JSON, at most a
given size: past it the final markup is left out first, then the latest requests, and the
capture is marked incomplete (re-deriving from it would lose records, so nothing does).
"""

from __future__ import annotations

import dataclasses
import json
import zlib
from dataclasses import dataclass
from typing import Any

from hostpairs.extractors.observations import (
    CookieObservation,
    FormObservation,
    FrameObservation,
    LinkObservation,
    PageCapture,
    RequestObservation,
    ScriptElementObservation,
)

FORMAT = "hostpairs-capture/1"
"""What the stored bytes are; a later layout gets a new name and its own decoder."""

_KEPT_ELSEWHERE = ("screenshot", "script_bodies")
"""Stored on their own: the screenshot, and inventoried scripts' bodies (with their versions)."""
_LISTS = {"requests": RequestObservation, "frames": FrameObservation, "links": LinkObservation,
          "forms": FormObservation, "cookies": CookieObservation, "script_elements": ScriptElementObservation}


@dataclass(frozen=True)
class EncodedCapture:
    """A capture ready to store."""

    data: bytes
    complete: bool
    """False when the size cap left something out (see the module's docstring)."""


def _compressed(fields: dict[str, Any]) -> bytes:
    text = json.dumps(fields, separators=(",", ":"), ensure_ascii=False)
    return zlib.compress(text.encode("utf-8", "surrogatepass"), 6)  # a static page's text may hold lone surrogates


def encode_capture(capture: PageCapture, max_bytes: int) -> EncodedCapture:
    """`capture` (without what is stored on its own) as compressed JSON of at most `max_bytes` (0: no cap)."""
    fields = {field.name: getattr(capture, field.name) for field in dataclasses.fields(capture)
              if field.name not in _KEPT_ELSEWHERE}
    fields.update({name: [dataclasses.asdict(item) for item in fields[name]] for name in _LISTS})
    data = _compressed(fields)
    if not 0 < max_bytes < len(data):
        return EncodedCapture(data, True)
    fields["html"] = ""
    data = _compressed(fields)
    requests = fields["requests"]
    while len(data) > max_bytes and requests:
        requests = requests[:len(requests) // 2]
        fields["requests"] = requests
        data = _compressed(fields)
    return EncodedCapture(data, False)


def _tuples(item_type: type, values: dict[str, Any]) -> Any:
    names = {field.name: field for field in dataclasses.fields(item_type)}
    known = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items() if k in names}
    return item_type(**known)


def decode_capture(data: bytes) -> PageCapture:
    """The PageCapture `encode_capture` stored (without its screenshot and script bodies)."""
    fields = json.loads(zlib.decompress(data).decode("utf-8", "surrogatepass"))
    lists = {name: [_tuples(item_type, item) for item in fields.pop(name, [])] for name, item_type in _LISTS.items()}
    return dataclasses.replace(_tuples(PageCapture, fields), **lists)
