"""Payment-page script inventory (PCI DSS 6.4.3) and what changed in it (11.6.1), from a capture.

Every script that ran on a page — external by URL, inline by the SHA-256 of its text — with who
loaded it (the page's parser, or the chain of scripts that inserted it, so a fourth party shows),
first or third party, its `integrity` attribute and whether the body matched it. Scripts inside a
payment processor's frame are listed but out of scope (PCI DSS v4.0.1).

Against what earlier visits kept (each version's SHA-256, fuzzy hash and body) and the operators'
authorisations, a visit raises `unauthorized_script` (covered by no authorisation) and
`script_changed` (a body never seen for that script: how much and how — TLSH similarity, bytes
added and removed, hosts named in the new body and not the old). `header_changed` compares the
page's security headers with its previous visit's, a weakened Content-Security-Policy being high.
"""

from __future__ import annotations

import base64
import difflib
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hostpairs.extractors.hosts import has_public_suffix, host_matches, host_of, normalize_host, registrable_domain
from hostpairs.extractors.observations import PageCapture, RequestObservation
from hostpairs.extractors.records import Change

INLINE_PREFIX = "inline:"
"""An inline script's key: the prefix and the SHA-256 of its text."""

SECURITY_HEADERS = ("content-security-policy", "content-security-policy-report-only", "strict-transport-security",
                    "x-frame-options", "permissions-policy", "referrer-policy", "x-content-type-options")
"""The response headers of a payment page whose changes PCI DSS 11.6.1 asks to be alerted to."""

SIMILAR = 70
"""Similarity (0-100) from which a changed version counts as a version bump of the same script."""

_SRI_ALGORITHMS = {"sha256": 1, "sha384": 2, "sha512": 3}
_URL_HOST = re.compile(r"(?:https?:|wss?:)?//([a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+)",
                       re.IGNORECASE)
_QUOTED_HOST = re.compile(r"""["'`]([a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+)["'`/:]""",
                          re.IGNORECASE)
_PIECES = re.compile(r"[^\n;{}]*[\n;{}]?")
_MAX_PIECES = 20_000


def body_bytes(text: str) -> bytes:
    """The bytes of a script body as the capture keeps it (see PageCapture.script_bodies)."""
    return text.encode("utf-8", "surrogateescape")


@dataclass(frozen=True)
class InventoryScript:
    """One script that ran on the page."""

    key: str
    """Its URL, or INLINE_PREFIX + the SHA-256 of an inline script's text."""
    url: str | None
    sha256: str | None
    host: str | None
    """The host serving it; an inline script's is its document's."""
    first_party: bool
    loaded_by: tuple[str, ...]
    """The scripts that inserted it, nearest first; empty when the page's parser loaded it."""
    integrity: str | None
    integrity_matched: bool | None
    """Whether the body matched `integrity` (None without either)."""
    frame_url: str | None
    in_scope: bool
    """False inside a payment processor's frame."""
    size: int | None


def _integrity_matches(integrity: str, body: bytes) -> bool | None:
    """SRI: the strongest algorithm given decides; any of its digests may match."""
    digests: dict[str, list[str]] = {}
    for token in integrity.split():
        algorithm, _, value = token.partition("-")
        if algorithm.lower() in _SRI_ALGORITHMS and value:
            digests.setdefault(algorithm.lower(), []).append(value.split("?", 1)[0])
    if not digests:
        return None
    strongest = max(digests, key=_SRI_ALGORITHMS.__getitem__)
    actual = base64.b64encode(hashlib.new(strongest, body).digest()).decode()
    return actual in digests[strongest]


def _chain(request: RequestObservation, scripts_by_url: Mapping[str, RequestObservation]) -> tuple[str, ...]:
    chain: list[str] = []
    current = request
    while current.initiator_type == "script" and current.initiator_url and current.initiator_url not in chain:
        chain.append(current.initiator_url)
        parent = scripts_by_url.get(current.initiator_url)
        if parent is None:
            break
        current = parent
    return tuple(chain)


def _in_processor_frame(frame_chain: Sequence[str], processors: Sequence[str]) -> bool:
    documents = frame_chain[:-1]  # the frames between the script and the top page
    return any((host := host_of(url)) and any(host_matches(host, p) for p in processors) for url in documents)


def inventory_scripts(capture: PageCapture, processors: Sequence[str]) -> list[InventoryScript]:
    """Every script that ran on the page, external ones in the order they loaded, then inline ones."""
    page_host = host_of(capture.final_url) or host_of(capture.requested_url) or ""
    page_site = registrable_domain(page_host) if page_host else ""
    elements = {(element.frame_chain[:1], element.src): element for element in capture.script_elements if element.src}
    loaded = [r for r in capture.requests
              if r.resource_type == "script" and r.error is None and r.body_sha256 and (r.status or 200) < 400]
    scripts_by_url = {r.url: r for r in loaded}
    found: dict[str, InventoryScript] = {}
    for request in loaded:
        host = host_of(request.url)
        element = elements.get((request.frame_chain[:1], request.url))
        integrity = element.integrity if element is not None else None
        body = capture.script_bodies.get(request.body_sha256 or "")
        found.setdefault(request.url, InventoryScript(
            key=request.url, url=request.url, sha256=request.body_sha256, host=host,
            first_party=bool(host) and registrable_domain(host) == page_site,
            loaded_by=_chain(request, scripts_by_url), integrity=integrity,
            integrity_matched=_integrity_matches(integrity, body_bytes(body)) if integrity and body is not None else None,
            frame_url=request.frame_chain[0] if request.frame_chain else None,
            in_scope=not _in_processor_frame(request.frame_chain, processors),
            size=len(body_bytes(body)) if body is not None else None))
    for element in capture.script_elements:
        if element.src or not element.inline_sha256:
            continue
        key = INLINE_PREFIX + element.inline_sha256
        document = element.frame_chain[0] if element.frame_chain else capture.final_url
        host = host_of(document) or page_host
        body = capture.script_bodies.get(element.inline_sha256)
        found.setdefault(key, InventoryScript(
            key=key, url=None, sha256=element.inline_sha256, host=host,
            first_party=registrable_domain(host) == page_site if host else False, loaded_by=(), integrity=None,
            integrity_matched=None, frame_url=document, in_scope=not _in_processor_frame(element.frame_chain, processors),
            size=len(body_bytes(body)) if body is not None else None))
    return list(found.values())


# --- what changed ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Authorization:
    """An operator's authorisation of scripts (`hostpairs scripts authorize`)."""

    id: int
    pattern: str
    kind: str
    """url (any version of that URL, or one when pinned), host (a host suffix) or hash (one body)."""
    pinned_sha256: str | None
    justification: str
    authorized_by: str

    def names(self, script: InventoryScript) -> bool:
        """Whether this authorisation is about the script (any version of it)."""
        if self.kind == "hash":
            return script.sha256 == self.pattern
        if self.kind == "url":
            return script.url == self.pattern
        return script.url is not None and script.host is not None and host_matches(script.host, self.pattern)

    def covers(self, script: InventoryScript) -> bool:
        """Whether this authorisation covers the script as it is now (a pinned one, one version)."""
        return self.names(script) and (self.pinned_sha256 is None or script.sha256 == self.pinned_sha256)


@dataclass(frozen=True)
class KnownVersion:
    """A version of a script that earlier visits of the page saw."""

    sha256: str
    fuzzy_hash: str | None
    body: str | None


def fuzzy_hash(body: bytes) -> str | None:
    """The TLSH digest of a body; None when it is too short or too uniform for TLSH (< 50 bytes)."""
    import tlsh

    digest = tlsh.hash(body)
    return digest if digest and digest != "TNULL" else None


def similarity(old: KnownVersion, new_body: bytes, new_fuzzy: str | None) -> tuple[int | None, str]:
    """0 (unrelated) to 100 (the same) and how it was measured: TLSH distance (100 - distance),
    or, for bodies too short for TLSH, difflib's ratio."""
    if old.fuzzy_hash and new_fuzzy:
        import tlsh

        return max(0, 100 - tlsh.diff(old.fuzzy_hash, new_fuzzy)), "tlsh"
    if old.body is not None:
        return round(100 * difflib.SequenceMatcher(None, body_bytes(old.body), new_body, autojunk=False).ratio()), "difflib"
    return None, "unknown"


def bytes_changed(old: bytes, new: bytes) -> tuple[int, int]:
    """(bytes added, bytes removed) from `old` to `new`, diffed by statement and line."""
    old_pieces = [p for p in _PIECES.findall(old.decode("latin-1")) if p]
    new_pieces = [p for p in _PIECES.findall(new.decode("latin-1")) if p]
    if len(old_pieces) + len(new_pieces) > _MAX_PIECES:
        return max(0, len(new) - len(old)), max(0, len(old) - len(new))
    added = removed = 0
    matcher = difflib.SequenceMatcher(None, old_pieces, new_pieces, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag in ("replace", "delete"):
            removed += sum(len(p) for p in old_pieces[i1:i2])
        if tag in ("replace", "insert"):
            added += sum(len(p) for p in new_pieces[j1:j2])
    return added, removed


def named_hosts(body: bytes) -> set[str]:
    """The hosts a script body names: in URLs (`https://h`, `//h`) and as quoted host names."""
    text = body.decode("latin-1")
    hosts = {h for m in _URL_HOST.finditer(text) if (h := normalize_host(m.group(1)))}
    hosts.update(h for m in _QUOTED_HOST.finditer(text)
                 if (h := normalize_host(m.group(1))) and not h.replace(".", "").isdigit() and has_public_suffix(h))
    return hosts


def script_changes(capture: PageCapture, inventory: ScriptInventory, known: Mapping[str, Sequence[KnownVersion]],
                   authorizations: Sequence[Authorization], payment: bool) -> list[Change]:
    """`unauthorized_script` and `script_changed` alerts of a visit's `script_inventory` (scripts
    out of scope raise none).

    Authorisation is enforced on a page from the first authorisation naming one of its scripts:
    until an operator has reviewed the page, its scripts are listed as unauthorised (inventory,
    report) but do not each raise an alert on every visit. A changed version is compared with the
    latest one before it. Severity of a change: high when an authorisation pinned the script to
    another version or the new body names hosts the old one did not; low for a version bump
    (similarity SIMILAR or more); medium otherwise."""
    changes = []
    scripts = inventory.scripts
    enforced = any(a.names(script) for script in scripts if script.in_scope for a in authorizations)
    for script in scripts:
        if not script.in_scope or script.sha256 is None:
            continue
        covering = [a for a in authorizations if a.covers(script)]
        versions = known.get(script.key, ())
        child_url = script.url or f"{capture.final_url}#{script.key}"
        evidence: dict[str, Any] = {
            "page_url": capture.requested_url, "final_url": capture.final_url, "script": script.key,
            "sha256": script.sha256, "loaded_by": list(script.loaded_by) or ["parser"],
            "first_party": script.first_party, "frame_url": script.frame_url, "integrity": script.integrity,
            "integrity_matched": script.integrity_matched}
        if versions and script.sha256 not in {v.sha256 for v in versions}:
            changes.append(_changed(script, inventory.bodies.get(script.sha256), versions[-1], authorizations,
                                    evidence, child_url))
        elif enforced and not covering:
            signals = ["covered by no authorisation", "first party" if script.first_party else "third party"]
            if script.loaded_by:
                signals.append(f"inserted by script {script.loaded_by[0]}")
            if payment:
                signals.append("payment page")
            changes.append(Change("unauthorized_script", "script.src" if script.url else None, script.host or "",
                                  child_url, "high" if payment else "medium", tuple(signals), evidence))
    return changes


def _changed(script: InventoryScript, new: tuple[bytes, str | None] | None, previous: KnownVersion,
             authorizations: Sequence[Authorization], evidence: dict[str, Any], child_url: str) -> Change:
    new_body, new_fuzzy = new if new is not None else (None, None)
    pinned = [a for a in authorizations if a.kind == "url" and a.pattern == script.url and a.pinned_sha256]
    signals = []
    score, method = (None, "unknown")
    if new_body is not None:
        score, method = similarity(previous, new_body, new_fuzzy)
        if previous.body is not None:
            old_body = body_bytes(previous.body)
            added, removed = bytes_changed(old_body, new_body)
            new_hosts = sorted(named_hosts(new_body) - named_hosts(old_body))
            evidence.update(bytes_added=added, bytes_removed=removed, new_hosts=new_hosts)
            if new_hosts:
                signals.append(f"names hosts the previous version did not: {', '.join(new_hosts)}")
    evidence.update(previous_sha256=[previous.sha256], similarity=score, similarity_method=method)
    if pinned:
        signals.insert(0, f"authorisation #{pinned[0].id} pinned it to version {pinned[0].pinned_sha256}")
        evidence["authorization"] = {"id": pinned[0].id, "pinned_sha256": pinned[0].pinned_sha256,
                                     "justification": pinned[0].justification, "by": pinned[0].authorized_by}
    if score is not None:
        signals.append(f"similarity {score} ({method})")
    if pinned or evidence.get("new_hosts"):
        severity = "high"
    elif score is not None and score >= SIMILAR:
        severity = "low"
    else:
        severity = "medium"
    return Change("script_changed", "script.src" if script.url else None, script.host or "", child_url, severity,
                  tuple(signals), evidence)


# --- security headers ---------------------------------------------------------------------------


def security_headers(response_headers: Mapping[str, str]) -> dict[str, str]:
    """The page's security-impacting response headers (names lower case)."""
    lowered = {name.lower(): value for name, value in response_headers.items()}
    return {name: lowered[name] for name in SECURITY_HEADERS if name in lowered}


def _csp_sources(policy: str) -> dict[str, set[str]]:
    directives: dict[str, set[str]] = {}
    for directive in policy.split(";"):
        tokens = directive.split()
        if tokens:
            directives.setdefault(tokens[0].lower(), {t.lower() if t.startswith("'") else t for t in tokens[1:]})
    return directives


def csp_weakening(old: str | None, new: str | None) -> list[str]:
    """How an enforced Content-Security-Policy got weaker: removed, a source newly allowed to run
    scripts or be connected to, 'unsafe-inline' or 'unsafe-eval' added."""
    if old is None:
        return []
    if new is None:
        return ["Content-Security-Policy removed"]
    before, after = _csp_sources(old), _csp_sources(new)
    found = []
    for directive in ("script-src", "connect-src"):
        was = before.get(directive, before.get("default-src"))
        now = after.get(directive, after.get("default-src"))
        if now is None and was is not None:
            found.append(f"{directive} no longer restricted")
            continue
        if was is None or now is None:
            continue
        if "*" in now and "*" not in was:
            found.append(f"{directive} allows any source")
        for source in sorted(now - was):
            if source in ("'unsafe-inline'", "'unsafe-eval'"):
                found.append(f"{source} added to {directive}")
            elif not source.startswith("'") or source == "'strict-dynamic'":
                found.append(f"{directive} allows {source}")
    return found


def header_changes(capture: PageCapture, before: Mapping[str, str] | None) -> list[Change]:
    """One `header_changed` alert per security header whose value differs from the page's previous
    visit (nothing on a first visit): high when the CSP got weaker (`csp_weakening`), medium
    when another header was removed, low otherwise."""
    if before is None or capture.failed:
        return []
    after = security_headers(capture.response_headers)
    page_host = host_of(capture.final_url) or ""
    changes = []
    for name in SECURITY_HEADERS:
        old, new = before.get(name), after.get(name)
        if old == new:
            continue
        weakened = csp_weakening(old, new) if name == "content-security-policy" else []
        severity = "high" if weakened else "medium" if new is None else "low"
        signals = weakened or [f"{name} {'removed' if new is None else 'added' if old is None else 'changed'}"]
        changes.append(Change("header_changed", None, page_host, capture.final_url, severity, tuple(signals), {
            "page_url": capture.requested_url, "final_url": capture.final_url, "header": name,
            "old": old, "new": new}))
    return changes


@dataclass(frozen=True)
class ScriptInventory:
    """What storing an inventoried visit needs: its scripts, and each body's size and fuzzy hash."""

    scripts: list[InventoryScript]
    bodies: dict[str, tuple[bytes, str | None]]
    """(body, TLSH digest) by SHA-256, for the scripts whose body the capture kept."""


def script_inventory(capture: PageCapture, processors: Sequence[str]) -> ScriptInventory:
    """The page's scripts with the bodies their versions keep."""
    scripts = inventory_scripts(capture, processors)
    bodies = {}
    for script in scripts:
        text = capture.script_bodies.get(script.sha256 or "")
        if text is not None and script.sha256 not in bodies:
            data = body_bytes(text)
            bodies[script.sha256] = (data, fuzzy_hash(data))
    return ScriptInventory(scripts, bodies)
