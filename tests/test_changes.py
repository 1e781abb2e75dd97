"""Tamper detection rules on plain captures (no browser, no database)."""

from __future__ import annotations

from hostpairs.extractors.changes import Baseline, PageWatch, detect_changes, merge, observed_in
from hostpairs.extractors.host_pairs import extract_dependencies
from hostpairs.extractors.observations import FrameObservation, PageCapture, RequestObservation

PAGE = "https://www.bank-a.com/"
MAIN = "main"


def visit(*requests: RequestObservation, frames: tuple[FrameObservation, ...] = ()) -> PageCapture:
    top = RequestObservation(PAGE, "document", frame_id=MAIN, frame_chain=("",), is_main_frame=True, status=200)
    return PageCapture(PAGE, PAGE, "browser", 0, 1, requests=[top, *requests],
                       frames=[FrameObservation(MAIN, None, PAGE), *frames])


def script(url: str, sha: str = "a" * 64, by_script: str | None = None) -> RequestObservation:
    return RequestObservation(url, "script", frame_id=MAIN, frame_chain=(PAGE,), body_sha256=sha,
                              initiator_type="script" if by_script else "parser", initiator_url=by_script or PAGE)


def frame_load(url: str, frame_id: str = "f1", reason: str = "initialFrameNavigation",
               previous: str = "", redirected_from: str | None = None) -> RequestObservation:
    return RequestObservation(url, "document", frame_id=frame_id, frame_chain=(previous, PAGE),
                              navigation_reason=reason, redirected_from=redirected_from)


HIDDEN_SCRIPTED = FrameObservation("f1", MAIN, "https://sap.misapor.ch/", created_by_script=True,
                                   creator_script_url=f"{PAGE}js/view.js", hidden=True,
                                   hidden_reasons=("size 1x1", "visibility:hidden"))
BASELINE = merge([observed_in([(f"{PAGE}js/view.js", "script", "a" * 64, False),
                               ("https://cdn.bank-a.com/lib.js", "script", "b" * 64, False)])])


def test_first_visit_only_builds_the_baseline() -> None:
    capture = visit(frame_load("https://sap.misapor.ch/"), frames=(HIDDEN_SCRIPTED,))
    assert detect_changes(capture, extract_dependencies(capture), Baseline(), PageWatch(), frozenset()) == []


def test_hidden_script_created_cross_site_iframe_on_a_payment_page_is_critical_with_every_signal() -> None:
    capture = visit(
        script(f"{PAGE}js/view.js"),
        frame_load("https://sap.misapor.ch/"),
        frame_load("https://www.eye-watch.in/", reason="scriptInitiated", previous="https://sap.misapor.ch/"),
        frames=(HIDDEN_SCRIPTED,),
    )
    changes = detect_changes(capture, extract_dependencies(capture), BASELINE, PageWatch(frozenset({"payment"})), frozenset())
    assert len(changes) == 1
    change = changes[0]
    assert (change.kind, change.cause, change.child_host, change.severity) == (
        "new_iframe", "iframe.src", "sap.misapor.ch", "critical")
    assert change.signals == (
        "hidden frame: size 1x1, visibility:hidden",
        f"frame created by script {PAGE}js/view.js",
        "cross-site: misapor.ch is not bank-a.com",
        "never seen before: sap.misapor.ch",
        "page tagged payment",
    )
    assert [n["cause"] for n in change.evidence["frame_navigations"]] == ["iframe.src", "location.refresh"]
    assert change.evidence["frame"]["creator_script_url"] == f"{PAGE}js/view.js"


def test_known_hosts_stay_quiet_and_a_visible_same_site_frame_is_low() -> None:
    baseline = merge([BASELINE, observed_in([("https://ads.adnet.com/slot", "document", None, False)])])
    capture = visit(frame_load("https://ads.adnet.com/slot"), frame_load("https://help.bank-a.com/", frame_id="f2"),
                    frames=(FrameObservation("f2", MAIN, "https://help.bank-a.com/", hidden=False),))
    changes = detect_changes(capture, extract_dependencies(capture), baseline, PageWatch(), frozenset({"help.bank-a.com"}))
    assert [(c.kind, c.child_host, c.severity, c.signals) for c in changes] == [
        ("new_iframe", "help.bank-a.com", "low", ())]


def test_allowlist_silences_ordinary_changes_but_never_a_hidden_scripted_frame_on_login_pages() -> None:
    watch = PageWatch(frozenset({"login"}), lambda host: host.endswith("misapor.ch") or host == "cdn.partner.net")
    capture = visit(script("https://cdn.partner.net/widget.js"), frame_load("https://sap.misapor.ch/"),
                    frames=(HIDDEN_SCRIPTED,))
    assert [c.kind for c in detect_changes(capture, extract_dependencies(capture), BASELINE, watch, frozenset())] == ["new_iframe"]
    untagged = PageWatch(frozenset(), watch.is_allowlisted)
    assert detect_changes(capture, extract_dependencies(capture), BASELINE, untagged, frozenset()) == []


def test_new_script_host_and_changed_script_body() -> None:
    capture = visit(script(f"{PAGE}js/view.js", sha="c" * 64),
                    script("https://skimmer.example-cdn.com/s.js", by_script=f"{PAGE}js/view.js"))
    changes = {c.kind: c for c in detect_changes(capture, extract_dependencies(capture), BASELINE, PageWatch(), frozenset())}
    assert set(changes) == {"script_changed", "new_script_host"}
    assert changes["script_changed"].evidence["previous_sha256"] == ["a" * 64]
    assert changes["script_changed"].severity == "low"  # same origin, untagged page
    assert changes["new_script_host"].signals[0] == f"inserted by script {PAGE}js/view.js"
    assert changes["new_script_host"].severity == "critical"  # by script, cross-site, never seen


def test_a_script_that_rotates_among_known_bodies_is_not_changed() -> None:
    baseline = merge([BASELINE, observed_in([(f"{PAGE}js/view.js", "script", "d" * 64, False)])])
    capture = visit(script(f"{PAGE}js/view.js", sha="d" * 64))
    assert detect_changes(capture, extract_dependencies(capture), baseline, PageWatch(), frozenset()) == []


def test_a_login_form_posting_to_a_new_host_alerts_but_only_against_visits_that_read_forms() -> None:
    from hostpairs.extractors.observations import FormObservation

    capture = visit()
    capture.forms = [FormObservation("https://www.bank-a.com/session", "post", (PAGE,), ("password",)),
                     FormObservation("https://collect.phish-kit.net/p", "post", (PAGE,), ("password", "payment card"))]
    read_forms = merge([BASELINE, observed_in([], ["www.bank-a.com"])])
    [change] = detect_changes(capture, extract_dependencies(capture), read_forms, PageWatch(frozenset({"login"})), frozenset())
    assert (change.kind, change.child_host, change.severity) == ("new_form_action", "collect.phish-kit.net", "critical")
    assert change.signals[0] == "form asks for password and payment card"
    assert change.evidence["method"] == "post"
    assert detect_changes(capture, extract_dependencies(capture), BASELINE, PageWatch(), frozenset()) == []  # static baselines saw no forms
