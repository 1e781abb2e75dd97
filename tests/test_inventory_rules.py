"""The inventory's rules on plain captures (no browser): who loaded a script, SRI, processors'
frames out of scope, authorisations, how a changed version is measured, security headers."""

from __future__ import annotations

import base64
import hashlib

from hostpairs.extractors.inventory import (
    Authorization,
    KnownVersion,
    bytes_changed,
    csp_weakening,
    header_changes,
    inventory_scripts,
    named_hosts,
    script_changes,
    script_inventory,
)
from hostpairs.extractors.observations import PageCapture, RequestObservation, ScriptElementObservation

PAGE = "https://shop.pay-rules.com/checkout"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def script(url: str, body: str, chain: tuple[str, ...] = (PAGE,), **fields: object) -> RequestObservation:
    return RequestObservation(url, "script", frame_id="f", frame_chain=chain, status=200, body_sha256=sha(body),
                              **fields)  # type: ignore[arg-type]


def capture(requests: list[RequestObservation], bodies: dict[str, str], elements=(), headers=None) -> PageCapture:  # noqa: ANN001
    return PageCapture(PAGE, PAGE, "browser", 0.0, 1.0, requests=requests, script_elements=list(elements),
                       script_bodies={sha(b): b for b in bodies.values()}, response_headers=headers or {})


LIB = "var lib = 1; // a library"
GOOD_SRI = "sha512-" + base64.b64encode(hashlib.sha512(LIB.encode()).digest()).decode()


def test_inventory_chain_party_integrity_and_processor_frames() -> None:
    c = capture(
        [script("https://cdn.lib-rules.net/lib.js", LIB, initiator_type="parser", initiator_url=PAGE),
         script("https://t.fourth-rules.org/t.js", "var t;", initiator_type="script",
                initiator_url="https://cdn.lib-rules.net/lib.js"),
         script("https://shop.pay-rules.com/app.js", "var app;", initiator_type="parser"),
         script("https://js.stripe.com/in.js", "var s;", chain=("https://js.stripe.com/frame", PAGE)),
         script("https://cdn.lib-rules.net/failed.js", "x", error="net::ERR_FAILED")],
        {"lib": LIB, "t": "var t;", "app": "var app;", "s": "var s;", "inline": "var inline = 1;"},
        [ScriptElementObservation((PAGE,), "https://cdn.lib-rules.net/lib.js", None, f"sha256-AAAA {GOOD_SRI}"),
         ScriptElementObservation((PAGE,), None, inline_sha256=sha("var inline = 1;"))])
    found = {s.key: s for s in inventory_scripts(c, ["stripe.com"])}
    assert list(found) == ["https://cdn.lib-rules.net/lib.js", "https://t.fourth-rules.org/t.js",
                           "https://shop.pay-rules.com/app.js", "https://js.stripe.com/in.js",
                           "inline:" + sha("var inline = 1;")]
    assert found["https://t.fourth-rules.org/t.js"].loaded_by == ("https://cdn.lib-rules.net/lib.js",)
    assert found["https://cdn.lib-rules.net/lib.js"].integrity_matched is True  # the strongest algorithm decides
    assert [s.first_party for s in found.values()] == [False, False, True, False, True]
    assert [s.in_scope for s in found.values()] == [True, True, True, False, True]


def test_authorisations_enforced_from_the_first_and_pinned_versions() -> None:
    c = capture([script("https://cdn.lib-rules.net/lib.js", LIB), script("https://shop.pay-rules.com/app.js", "var app2;")],
                {"lib": LIB, "app": "var app2;"})
    inventory = script_inventory(c, [])
    scripts = inventory.scripts
    assert script_changes(c, inventory, {}, [], payment=True) == []  # nobody reviewed the page yet
    host = Authorization(1, "lib-rules.net", "host", None, "the shop's library", "ana")
    [unauthorized] = script_changes(c, inventory, {}, [host], payment=True)
    assert (unauthorized.kind, unauthorized.child_url, unauthorized.severity) == (
        "unauthorized_script", "https://shop.pay-rules.com/app.js", "high")
    pinned = Authorization(2, "https://shop.pay-rules.com/app.js", "url", sha("var app1;"), "ours", "ana")
    assert not pinned.covers(scripts[1]) and pinned.names(scripts[1])
    [changed] = script_changes(c, inventory, {"https://shop.pay-rules.com/app.js": [KnownVersion(sha("var app1;"), None, "var app1;")]},
                               [host, pinned], payment=False)
    assert (changed.kind, changed.severity) == ("script_changed", "high")  # pinned
    assert changed.evidence["similarity_method"] == "difflib"  # too short for TLSH


def test_how_a_changed_body_is_measured() -> None:
    assert bytes_changed(b"a();\nb();\nc();\n", b"a();\nB();\nc();\nd();\n") == (9, 4)
    body = b"fetch('https://exfil.skim-rules.com/c'); var u = '//cdn2.skim-rules.net/x'; var h = 'beacon.skim-rules.io';" \
           b" var v = '1.2.3'; var n = 'not.a-host';"
    assert named_hosts(body) == {"exfil.skim-rules.com", "cdn2.skim-rules.net", "beacon.skim-rules.io"}


def test_csp_weakening_and_header_changes() -> None:
    base = "default-src 'self'; script-src 'self' https://js.pay-rules.com; connect-src 'self'"
    assert csp_weakening(base, base.replace("connect-src 'self'", "connect-src 'self' https://exfil-rules.com")) == [
        "connect-src allows https://exfil-rules.com"]
    assert csp_weakening(base, base.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'")) == [
        "'unsafe-inline' added to script-src"]
    assert csp_weakening(base, None) == ["Content-Security-Policy removed"]
    assert csp_weakening(base, "default-src 'self'") == []  # tightened
    assert csp_weakening(base, base.replace("; connect-src 'self'", "")) == []  # connect-src falls back to 'self'
    assert csp_weakening("script-src 'self'", "script-src *") == ["script-src allows any source", "script-src allows *"]
    c = capture([], {}, headers={"Content-Security-Policy": "default-src 'self'", "X-Frame-Options": "DENY"})
    changes = {ch.evidence["header"]: ch for ch in header_changes(c, {
        "content-security-policy": base, "strict-transport-security": "max-age=1"})}
    assert {name: ch.severity for name, ch in changes.items()} == {
        "strict-transport-security": "medium", "x-frame-options": "low", "content-security-policy": "low"}
    assert header_changes(c, None) == []  # the page's first visit
