"""The host-pair rules on plain captures (no browser): shared/host-pair-semantics.md, case by case."""

from __future__ import annotations

from hostpairs.extractors.host_pairs import extract_dependencies, extract_host_pairs
from hostpairs.extractors.observations import LinkObservation, PageCapture, RequestObservation

PAGE = "https://www.bank-a.com/"


def capture(*requests: RequestObservation, links: tuple[LinkObservation, ...] = ()) -> PageCapture:
    return PageCapture(PAGE, PAGE, "browser", 0.0, 1.0, requests=list(requests), links=list(links))


def pairs(c: PageCapture) -> set[tuple[str, str, str]]:
    return {(e.parent, e.child, e.cause) for e in extract_host_pairs(c, extract_dependencies(c))}


def request(url: str, resource_type: str, chain: tuple[str, ...] = (PAGE,), **fields: object) -> RequestObservation:
    return RequestObservation(url=url, resource_type=resource_type, frame_chain=chain, **fields)  # type: ignore[arg-type]


def test_parent_is_the_document_not_the_script_that_made_the_request() -> None:
    c = capture(request("https://api.other-b.com/x", "fetch", initiator_type="script",
                        initiator_url="https://cdn-c.net/lib.js"))
    assert pairs(c) == {("www.bank-a.com", "api.other-b.com", "xmlhttprequest")}


def test_requests_of_host_less_frames_go_to_the_nearest_ancestor_as_iframe_write() -> None:
    c = capture(
        request("https://img-d.com/p.gif", "image", ("about:srcdoc", PAGE)),
        request("https://js-e.com/w.js", "script", ("about:blank", "about:srcdoc", "https://frame-f.org/", PAGE)),
    )
    assert pairs(c) == {("www.bank-a.com", "img-d.com", "iframe.write"),
                        ("frame-f.org", "js-e.com", "iframe.write")}


def test_frame_navigations_by_cause() -> None:
    c = capture(
        # first load of a frame embedded in the page
        request("https://frame-f.org/", "document", ("", PAGE), navigation_reason="initialFrameNavigation"),
        # the frame sends itself elsewhere by script, then by meta refresh
        request("https://next-g.net/", "document", ("https://frame-f.org/", PAGE), navigation_reason="scriptInitiated"),
        request("https://last-h.io/", "document", ("https://next-g.net/", PAGE), navigation_reason="metaTagRefresh"),
        # a frame first filled by document.write (about:blank) then pointed at a URL by its parent
        request("https://late-i.com/", "document", ("about:blank", PAGE), navigation_reason="scriptInitiated"),
        # a frame nested inside a srcdoc frame
        request("https://deep-j.com/", "document", ("", "about:srcdoc", PAGE), navigation_reason="initialFrameNavigation"),
    )
    assert pairs(c) == {
        ("www.bank-a.com", "frame-f.org", "iframe.src"),
        ("frame-f.org", "next-g.net", "location.refresh"),
        ("next-g.net", "last-h.io", "meta.refresh"),
        ("www.bank-a.com", "late-i.com", "iframe.src"),
        ("www.bank-a.com", "deep-j.com", "iframe.write"),
    }


def test_top_level_redirects_and_later_top_level_navigations() -> None:
    c = capture(
        request("http://old-a.com/", "document", ("",), is_main_frame=True, status=301),
        request("https://mid-b.net/", "document", ("",), is_main_frame=True, redirected_from="http://old-a.com/", status=302),
        request(PAGE, "document", ("",), is_main_frame=True, redirected_from="https://mid-b.net/", status=200),
        request("https://elsewhere-c.com/", "document", (PAGE,), is_main_frame=True, navigation_reason="metaTagRefresh"),
        request("https://further-d.com/", "document", ("https://elsewhere-c.com/",), is_main_frame=True,
                navigation_reason="scriptInitiated"),
        request("https://further-e.com/", "document", ("https://elsewhere-c.com/",), is_main_frame=True,
                navigation_reason="scriptInitiated", redirected_from="https://further-d.com/"),
    )
    assert pairs(c) == {
        ("old-a.com", "mid-b.net", "topLevelRedirect"),
        ("mid-b.net", "www.bank-a.com", "topLevelRedirect"),
        ("www.bank-a.com", "elsewhere-c.com", "meta.refresh"),
        ("elsewhere-c.com", "further-d.com", "location.refresh"),
        ("further-d.com", "further-e.com", "redirect"),  # a later navigation's redirect is not top-level
    }


def test_subresource_redirect_chain_keeps_the_first_cause() -> None:
    c = capture(
        request("https://ads-a.com/p", "image", status=302),
        request("https://sync-b.net/q", "image", redirected_from="https://ads-a.com/p", status=200),
    )
    assert pairs(c) == {("www.bank-a.com", "ads-a.com", "img.src"), ("ads-a.com", "sync-b.net", "redirect")}


def test_stylesheet_requests_fonts_icons_and_the_rest() -> None:
    css_url = "https://css-a.com/s.css"
    c = capture(
        request(css_url, "stylesheet", initiator_type="parser", initiator_url=PAGE),
        request("https://css-b.com/i.css", "stylesheet", initiator_type="parser", initiator_url=css_url),
        request("https://fonts-c.com/f.woff2", "font", initiator_type="parser", initiator_url=css_url),
        request("https://fonts-d.com/p.woff2", "font", initiator_type="preload", initiator_url=PAGE),
        request("https://icons-e.com/i.ico", "other"),
        request("https://media-f.com/v.mp4", "media"),
        request("https://ws-g.com/socket", "websocket"),
        request("https://cors-h.com/x", "preflight"),
        links=(LinkObservation("https://icons-e.com/i.ico", (PAGE,), "link", "icon"),),
    )
    assert pairs(c) == {
        ("www.bank-a.com", "css-a.com", "link.href"),
        ("www.bank-a.com", "css-b.com", "css.import"),
        ("www.bank-a.com", "fonts-c.com", "css.import"),
        ("www.bank-a.com", "fonts-d.com", "link.href"),
        ("www.bank-a.com", "icons-e.com", "link.href"),
        ("www.bank-a.com", "media-f.com", "unknown"),
        ("www.bank-a.com", "ws-g.com", "unknown"),
    }
    assert "preflight" not in {d.request.resource_type for d in extract_dependencies(c)}


def test_what_resource_timing_names_css_or_link_decides_over_devtools() -> None:
    # DevTools names the page's parser for an inline style's requests exactly as for an <img>'s
    parser = {"initiator_type": "parser", "initiator_url": PAGE}
    c = capture(
        request("https://bg-a.com/b.png", "image", fetch_initiator="css", **parser),
        request("https://font-b.com/f.woff2", "font", fetch_initiator="css", **parser),
        request("https://imp-c.com/i.css", "stylesheet", fetch_initiator="css", **parser),
        request("https://img-d.com/i.png", "image", fetch_initiator="img", **parser),
        request("https://pre-e.com/p.js", "script", fetch_initiator="link", **parser),
        request("https://plain-f.com/s.js", "script", fetch_initiator="script", **parser),
        request("https://bg-g.com/b.png", "image", redirected_from="https://bg-a.com/b.png", fetch_initiator="css"),
    )
    assert {d.request.url: d.cause for d in extract_dependencies(c)} == {
        "https://bg-a.com/b.png": "css.import", "https://font-b.com/f.woff2": "css.import",
        "https://imp-c.com/i.css": "css.import", "https://img-d.com/i.png": "img.src",
        "https://pre-e.com/p.js": "link.href", "https://plain-f.com/s.js": "script.src",
        "https://bg-g.com/b.png": "redirect"}


def test_resource_hints_and_parked_scripts_from_the_final_dom() -> None:
    c = capture(
        request("https://pre-a.com/p.js", "script", fetch_initiator="link"),
        links=(
            LinkObservation("https://pre-a.com/p.js", (PAGE,), "link", "preload"),
            LinkObservation("https://conn-b.com/", (PAGE,), "link", "preconnect"),
            LinkObservation("https://dns-c.com/", (PAGE,), "link", "DNS-Prefetch"),
            LinkObservation("https://css-d.com/s.css", (PAGE,), "link", "stylesheet"),  # its request is the evidence
            LinkObservation("https://consent-e.com/t.js", (PAGE,), "script", script_type="text/plain"),
            LinkObservation("https://data-f.com/d.json", (PAGE,), "script", script_type="application/ld+json"),
        ),
    )
    evidence = {e.child: (e.cause, e.hint, e.declared_type) for e in extract_host_pairs(c, extract_dependencies(c))}
    assert evidence == {
        "pre-a.com": ("link.href", "preload", None),
        "conn-b.com": ("link.href", "preconnect", None),
        "dns-c.com": ("link.href", "dns-prefetch", None),
        "consent-e.com": ("script.src", None, "text/plain"),
    }


def test_links_same_host_pairs_and_host_normalisation() -> None:
    c = capture(
        request("https://WWW.Bank-A.com./logo.png", "image"),  # same host after normalisation: no pair
        links=(
            LinkObservation("https://Partner-B.COM./about", (PAGE,)),
            LinkObservation("https://bücher-c.de/", ("about:blank", PAGE)),
            LinkObservation("mailto:x@y.z", (PAGE,)),
        ),
    )
    assert pairs(c) == {("www.bank-a.com", "partner-b.com", "a.href"),
                        ("www.bank-a.com", "xn--bcher-c-n2a.de", "a.href")}
