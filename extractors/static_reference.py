"""What static mode reports: one referenced URL with its cause, from HTML or from CSS."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StaticReference:
    """One URL that static markup or CSS references."""

    url: str
    """Absolute http(s) URL, normalised as hostpairs.extractors.urls describes."""
    cause: str
    """iframe.src, iframe.write, script.src, img.src, link.href, css.import, a.href,
    meta.refresh or unknown (media), as in shared/host-pair-semantics.md."""
    resource_type: str
    """Chrome DevTools resource type, lower case: document, script, image, stylesheet, font,
    manifest, fetch, prefetch, media, texttrack or other."""
    tag: str | None
    """The element that made the reference; None for references found in a stylesheet."""
    declared_type: str | None = None
    """A <script>'s type when it is not JavaScript (the browser loads it only once a loader or
    consent manager changes it back)."""
    hint: str | None = None
    """The resource hint a <link> gives (preconnect, dns-prefetch, prefetch, preload,
    modulepreload)."""
