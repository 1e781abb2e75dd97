"""Tamper detection: compare a visit of a page with what earlier visits of the same page saw.

Alerts (the 2017 KNF case, Magecart skimmers, PCI DSS 11.6.1):
- `new_iframe`: a frame loads a document from a host never seen in a frame of this page;
- `new_script_host`: a script comes from a host never seen serving scripts to this page;
- `script_changed`: a script at a known URL has a body never seen at that URL;
- `new_form_action`: a form submits to a host no form of this page submitted to before.
Each alert carries its evidence and the signals that raise its severity; see `detect_changes`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from hostpairs.extractors.hosts import host_of, registrable_domain
from hostpairs.extractors.observations import (
    FrameObservation,
    PageCapture,
    RequestObservation,
    document_url,
)
from hostpairs.extractors.records import SEVERITIES, Change, Dependency

SENSITIVE_TAGS = frozenset({"payment", "login"})


@dataclass(frozen=True)
class Baseline:
    """What the last N visits of a page saw."""

    visits: int = 0
    frame_hosts: frozenset[str] = frozenset()
    script_hosts: frozenset[str] = frozenset()
    script_hashes: dict[str, frozenset[str]] = field(default_factory=dict)
    form_visits: int = 0
    """How many of the visits read the page's forms (browser mode does, static mode does not)."""
    form_action_hosts: frozenset[str] = frozenset()


@dataclass(frozen=True)
class PageWatch:
    """How a page is watched: its seed group's tags and allowlist."""

    tags: frozenset[str] = frozenset()
    is_allowlisted: Callable[[str], bool] = lambda host: False
    inventory: bool = False
    """Whether the page's scripts are inventoried and authorised (extractors/inventory.py)."""


def observed_in(capture_requests: Iterable[tuple[str, str, str | None, bool]],
                form_action_hosts: Iterable[str] | None = None) -> Baseline:
    """A one-visit baseline from (url, resource_type, body_sha256, is_main_frame) tuples and, when
    the visit read the page's forms, the hosts they submit to."""
    frame_hosts, script_hosts, hashes = set(), set(), {}
    for url, resource_type, body_sha256, is_main_frame in capture_requests:
        host = host_of(url)
        if not host:
            continue
        if resource_type == "document" and not is_main_frame:
            frame_hosts.add(host)
        elif resource_type == "script":
            script_hosts.add(host)
            if body_sha256:
                hashes.setdefault(url, set()).add(body_sha256)
    return Baseline(1, frozenset(frame_hosts), frozenset(script_hosts),
                    {url: frozenset(h) for url, h in hashes.items()},
                    int(form_action_hosts is not None), frozenset(form_action_hosts or ()))


def merge(baselines: Iterable[Baseline]) -> Baseline:
    """The union of several visits' baselines."""
    visits, form_visits, frames, scripts, forms, hashes = 0, 0, set(), set(), set(), {}
    for baseline in baselines:
        visits += baseline.visits
        form_visits += baseline.form_visits
        frames |= baseline.frame_hosts
        scripts |= baseline.script_hosts
        forms |= baseline.form_action_hosts
        for url, seen in baseline.script_hashes.items():
            hashes.setdefault(url, set()).update(seen)
    return Baseline(visits, frozenset(frames), frozenset(scripts), {u: frozenset(h) for u, h in hashes.items()},
                    form_visits, frozenset(forms))


def _severity(signals: list[str]) -> str:
    return SEVERITIES[min(len(signals), len(SEVERITIES) - 1)]


def detect_changes(capture: PageCapture, dependencies: list[Dependency], baseline: Baseline, watch: PageWatch,
                   known_hosts: frozenset[str]) -> list[Change]:
    """Alerts for `capture` (and its `extract_dependencies`) against `baseline`; nothing on a
    page's first visit or a failed visit.

    Severity starts at low and rises one level per signal: hidden frame, frame or script
    created by script, child on another registrable domain, child host never seen anywhere
    before, page tagged payment or login. Allowlisted hosts are silenced, except a hidden or
    script-created frame on a payment or login page."""
    if baseline.visits == 0 or capture.failed:
        return []
    page_host = host_of(capture.final_url) or host_of(capture.requested_url) or ""
    sensitive = sorted(watch.tags & SENSITIVE_TAGS)
    frames = {f.frame_id: f for f in capture.frames}
    changes: dict[tuple[str, str], Change] = {}

    def common_signals(child_host: str) -> list[str]:
        signals = []
        if registrable_domain(child_host) != registrable_domain(page_host):
            signals.append(f"cross-site: {registrable_domain(child_host)} is not {registrable_domain(page_host)}")
        if child_host not in known_hosts:
            signals.append(f"never seen before: {child_host}")
        if sensitive:
            signals.append(f"page tagged {' and '.join(sensitive)}")
        return signals

    frame_documents: dict[str, list[Dependency]] = {}
    for dependency in dependencies:
        request, host = dependency.request, dependency.host
        if not host:
            continue
        if request.resource_type == "document" and not request.is_main_frame:
            frame_documents.setdefault(request.frame_id or "", []).append(dependency)
        elif request.resource_type == "script":
            if host not in baseline.script_hosts:
                if watch.is_allowlisted(host):
                    continue
                signals = common_signals(host)
                if request.initiator_type == "script":
                    signals.insert(0, f"inserted by script {request.initiator_url}")
                changes.setdefault(("new_script_host", host), Change(
                    "new_script_host", dependency.cause, host, request.url, _severity(signals), tuple(signals),
                    _evidence(capture, request, dependency.parent, None)))
            elif _script_changed(request, baseline) and not watch.is_allowlisted(host):
                signals = [s for s in common_signals(host) if not s.startswith("never seen")]
                evidence = _evidence(capture, request, dependency.parent, None)
                evidence["previous_sha256"] = sorted(baseline.script_hashes[request.url])
                evidence["sha256"] = request.body_sha256
                changes.setdefault(("script_changed", request.url), Change(
                    "script_changed", dependency.cause, host, request.url, _severity(signals), tuple(signals), evidence))

    if baseline.form_visits:
        for form in capture.forms:
            host = host_of(form.action)
            if not host or host in baseline.form_action_hosts or watch.is_allowlisted(host):
                continue
            signals = [f"form asks for {' and '.join(form.sensitive_fields)}"] if form.sensitive_fields else []
            signals += common_signals(host)
            evidence = {"page_url": capture.requested_url, "final_url": capture.final_url,
                        "form_action": form.action, "method": form.method,
                        "document_url": document_url(form.frame_chain),
                        "sensitive_fields": list(form.sensitive_fields)}
            changes.setdefault(("new_form_action", host), Change(
                "new_form_action", None, host, form.action, _severity(signals), tuple(signals), evidence))

    # One alert per frame, for the first new host it loaded; its later navigations are evidence.
    for frame_id, documents in frame_documents.items():
        frame = frames.get(frame_id)
        frame_signals = _frame_signals(frame)
        protected = bool(frame_signals) and bool(sensitive)
        new = [d for d in documents if d.host not in baseline.frame_hosts
               and (protected or not watch.is_allowlisted(d.host))]
        if not new:
            continue
        first = new[0]
        signals = frame_signals + common_signals(first.host)
        evidence = _evidence(capture, first.request, first.parent, frame)
        evidence["frame_navigations"] = [{"url": d.request.url, "cause": d.cause} for d in documents]
        changes.setdefault(("new_iframe", first.host), Change(
            "new_iframe", first.cause, first.host, first.request.url, _severity(signals), tuple(signals), evidence))
    return list(changes.values())


def _script_changed(request: RequestObservation, baseline: Baseline) -> bool:
    seen = baseline.script_hashes.get(request.url)
    return bool(seen) and request.body_sha256 is not None and request.body_sha256 not in seen


def _frame_signals(frame: FrameObservation | None) -> list[str]:
    if frame is None:
        return []
    signals = []
    if frame.hidden:
        signals.append(f"hidden frame: {', '.join(frame.hidden_reasons)}")
    if frame.created_by_script:
        signals.append(f"frame created by script {frame.creator_script_url or '(inline)'}")
    return signals


def _evidence(capture: PageCapture, request: RequestObservation, parent: str | None,
              frame: FrameObservation | None) -> dict[str, Any]:
    evidence: dict[str, Any] = {
        "page_url": capture.requested_url,
        "final_url": capture.final_url,
        "parent_host": parent,
        "child_url": request.url,
        "document_url": document_url(request.frame_chain),
        "frame_chain": list(request.frame_chain),
        "initiator_type": request.initiator_type,
        "initiator_url": request.initiator_url,
        "remote_ip": request.remote_ip,
    }
    if frame is not None:
        evidence["frame"] = {
            "url": frame.url,
            "hidden": frame.hidden,
            "hidden_reasons": list(frame.hidden_reasons),
            "created_by_script": frame.created_by_script,
            "creator_script_url": frame.creator_script_url,
        }
    return evidence
