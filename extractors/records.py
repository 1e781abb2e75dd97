"""What the extractors make of a visit: plain records, ready to be stored.

The storage writer takes a `VisitRecords` (and the `Change`s that change detection found) and
writes it in one transaction; it runs no extraction itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hostpairs.extractors.observations import FormObservation, FrameObservation, PageCapture, RequestObservation


@dataclass(frozen=True)
class Dependency:
    """One request of the page with its attribution."""

    request: RequestObservation
    host: str | None
    parent: str | None
    cause: str | None
    frame_url: str | None
    """The document that made the request (of its frame chain's first entry)."""


@dataclass(frozen=True)
class PairEvidence:
    """One observation of a host pair in one visit."""

    parent: str
    child: str
    cause: str
    child_url: str
    frame_id: str | None
    frame_url: str | None
    initiator_url: str | None
    hint: str | None = None
    """The resource hint the reference is (preconnect, dns-prefetch, prefetch, preload, modulepreload)."""
    declared_type: str | None = None
    """The non-JavaScript type of the <script> that references child_url."""


@dataclass(frozen=True, order=True)
class TrackerRecord:
    """One tracker ID, as PassiveTotal's trackers records carry it."""

    attribute_type: str
    """PassiveTotal attributeType name (see extractors/trackers.py)."""
    attribute_value: str


@dataclass(frozen=True, order=True)
class ComponentRecord:
    """One web technology seen on a page, as PassiveTotal's components records carry it."""

    category: str
    label: str
    version: str | None


@dataclass(frozen=True, order=True)
class CookieRecord:
    """A cookie the visited host's page left in the browser, by name and normalised domain."""

    name: str
    domain: str
    third_party: bool


@dataclass(frozen=True)
class FrameRecord:
    """A frame of the visit with the host of its document."""

    frame: FrameObservation
    host: str | None


@dataclass(frozen=True)
class FormRecord:
    """A form of the visit with the host it submits to."""

    form: FormObservation
    action_host: str | None
    frame_url: str | None
    """The document the form is in."""


SEVERITIES = ("low", "medium", "high", "critical")
"""Alert severities, least severe first."""


@dataclass(frozen=True)
class Change:
    """One alert-worthy difference, before it is stored."""

    kind: str
    cause: str | None
    child_host: str
    child_url: str
    severity: str
    """One of SEVERITIES."""
    signals: tuple[str, ...]
    evidence: dict[str, Any]


@dataclass(frozen=True)
class VisitRecords:
    """Everything one visit yields: the capture itself and the records derived from it."""

    capture: PageCapture
    host: str | None
    """The visited host: of the final URL, else of the requested one."""
    frames: list[FrameRecord] = field(default_factory=list)
    forms: list[FormRecord] = field(default_factory=list)
    dependencies: list[Dependency] = field(default_factory=list)
    pairs: list[PairEvidence] = field(default_factory=list)
    resolutions: list[tuple[str, str]] = field(default_factory=list)
    """(hostname, IP) the browser connected to, sorted."""
    trackers: list[TrackerRecord] = field(default_factory=list)
    cookies: list[CookieRecord] = field(default_factory=list)
    components: list[ComponentRecord] = field(default_factory=list)
