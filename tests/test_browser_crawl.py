"""End to end: `hostpairs crawl` in real headless Chromium over the virtual web, into SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import http.server
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from hostpairs.crawler.capture import POPUP_NOT_LOADED
from hostpairs.demoweb.server import VirtualWeb
from hostpairs.storage.models import (
    Dependency,
    Frame,
    HostPair,
    PairEvidence,
    Resolution,
    Tracker,
    Visit,
)
from tests.conftest import engine_for, run_cli, sqlite_url
from tests.virtual_sites import HOSTILE_TARGETS, MAIN_TARGETS, NEWS_PAGE

DWELL = "3.5"  # long enough for the element injected 2 s after load

NEWS = "www.news-a.com"
EXPECTED_NEWS_PAIRS = {
    (NEWS, "style-u.com", "link.href"),
    (NEWS, "style-v.net", "css.import"),
    (NEWS, "bg-w.org", "css.import"),
    (NEWS, "icons-ab.com", "link.href"),
    (NEWS, "static.news-a.com", "script.src"),
    (NEWS, "frames-b.net", "iframe.src"),
    ("frames-b.net", "frames-c.org", "iframe.src"),
    ("frames-c.org", "frames-d.io", "iframe.src"),
    ("frames-d.io", "deep-img-e.com", "img.src"),
    (NEWS, "hop-o.com", "iframe.src"),
    ("hop-o.com", "hop-p.net", "location.refresh"),
    (NEWS, "meta-q.com", "iframe.src"),
    ("meta-q.com", "meta-r.org", "meta.refresh"),
    (NEWS, "srcdoc-s.com", "iframe.write"),
    (NEWS, "hidden-aa.com", "iframe.src"),
    (NEWS, "inject-f.com", "iframe.src"),
    (NEWS, "written-t.net", "iframe.write"),
    (NEWS, "api-j.io", "xmlhttprequest"),
    (NEWS, "xhr-k.com", "xmlhttprequest"),
    (NEWS, "worker-api-pp.net", "xmlhttprequest"),  # requests of a web worker
    (NEWS, "worker-lib-qq.org", "xmlhttprequest"),
    (NEWS, "late-g.net", "script.src"),
    (NEWS, "scroll-h.org", "img.src"),
    (NEWS, "mouse-i.com", "script.src"),
    (NEWS, "redir-l.com", "img.src"),
    ("redir-l.com", "redir-m.net", "redirect"),
    ("redir-m.net", "final-n.org", "redirect"),
    (NEWS, "a.cdn-z.net", "img.src"),
    (NEWS, "b.cdn-z.net", "img.src"),
    (NEWS, "link-y.com", "a.href"),
    (NEWS, "section-img-ac.com", "img.src"),  # from /section, one link deep
}


STYLES = "styles-xa.com"
EXPECTED_STYLES_PAIRS = {
    (STYLES, "imp-xb.net", "css.import"),  # inline <style>: @import
    (STYLES, "font-xc.org", "css.import"),  # ... its @font-face url()
    (STYLES, "bg-xd.com", "css.import"),  # ... its background url()
    (STYLES, "attr-xe.net", "css.import"),  # a style attribute
    (STYLES, "img-xh.com", "img.src"),
    (STYLES, "pre-xi.net", "link.href"),  # preload as=script
    (STYLES, "pref-xj.com", "link.href"),  # prefetch
    (STYLES, "conn-xk.net", "link.href"),  # preconnect: nothing fetched
    (STYLES, "dns-xl.org", "link.href"),  # dns-prefetch: nothing fetched
    (STYLES, "consent-xm.com", "script.src"),  # type=text/plain, parked until consent
    (STYLES, "rocket-xn.net", "script.src"),  # Rocket Loader's type
}
SCRIPT_CREATED_STYLES_PAIRS = {
    (STYLES, "dyn-xf.com", "css.import"),  # a script-created <style>: @import and url()
    (STYLES, "dynattr-xg.org", "css.import"),  # a style attribute set by script
}
STYLES_HINTS = {"pre-xi.net": "preload", "pref-xj.com": "prefetch", "conn-xk.net": "preconnect",
                "dns-xl.org": "dns-prefetch"}
PARKED_SCRIPTS = {"consent-xm.com": "text/plain", "rocket-xn.net": "0a1b2c3d4e5f60718293a4b5-text/javascript"}


def styles_evidence(engine: Engine) -> dict[str, tuple[str | None, str | None]]:
    """(hint, declared type) of the styles page's pair evidence, by child host."""
    with Session(engine) as session:
        return {child: (hint, declared) for child, hint, declared in session.execute(
            select(HostPair.child, PairEvidence.hint, PairEvidence.declared_type).join(HostPair)
            .where(HostPair.parent == STYLES))}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def crawled(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, host_rules: str,
            virtual_web: VirtualWeb) -> Iterator[tuple[str, Engine, str]]:
    """One crawl of all targets, one link deep, into a fresh database of each kind."""
    if request.param == "sqlite":
        url = sqlite_url(tmp_path_factory.mktemp("sqlite"))
    else:
        url = request.getfixturevalue("postgres_databases")()
    result = run_cli("crawl", *MAIN_TARGETS, "--db", url, "--depth", "1", "--dwell", DWELL, "--host-rules", host_rules)
    assert result.returncode == 0, result.stderr
    engine = engine_for(url)
    yield url, engine, result.stdout
    engine.dispose()


def all_pairs(engine: Engine) -> set[tuple[str, str, str]]:
    with Session(engine) as session:
        return {tuple(row) for row in session.execute(select(HostPair.parent, HostPair.child, HostPair.cause))}


def test_news_page_pairs_are_exactly_the_expected_ones(crawled: tuple[str, Engine, str]) -> None:
    _, engine, _ = crawled
    news_pairs = {p for p in all_pairs(engine) if p[0] in {x[0] for x in EXPECTED_NEWS_PAIRS}}
    assert news_pairs == EXPECTED_NEWS_PAIRS


def test_what_a_stylesheet_requests_is_css_import_whoever_holds_it(crawled: tuple[str, Engine, str]) -> None:
    _, engine, _ = crawled
    assert {p for p in all_pairs(engine) if p[0] == STYLES} == EXPECTED_STYLES_PAIRS | SCRIPT_CREATED_STYLES_PAIRS
    with Session(engine) as session:
        visit_id = session.scalars(select(Visit.id).where(Visit.requested_url == f"https://{STYLES}/")).one()
        deps = {d.host: d for d in session.scalars(select(Dependency).where(Dependency.visit_id == visit_id))}
    # Chromium names the same initiator for an inline style's requests as for an <img>'s: the
    # parser of the page. Resource Timing tells them apart.
    for host in ("bg-xd.com", "attr-xe.net", "font-xc.org", "imp-xb.net", "dynattr-xg.org", "img-xh.com"):
        assert (deps[host].initiator_type, deps[host].initiator_url) == ("parser", f"https://{STYLES}/"), host
    assert {host: deps[host].cause for host in ("bg-xd.com", "attr-xe.net", "font-xc.org", "imp-xb.net",
                                                 "dyn-xf.com", "dynattr-xg.org", "img-xh.com")} == {
        "bg-xd.com": "css.import", "attr-xe.net": "css.import", "font-xc.org": "css.import",
        "imp-xb.net": "css.import", "dyn-xf.com": "css.import", "dynattr-xg.org": "css.import",
        "img-xh.com": "img.src"}
    assert (deps["pre-xi.net"].resource_type, deps["pre-xi.net"].cause) == ("script", "link.href")  # a <link>'s load
    # hints and parked scripts: in the pairs' evidence; the ones the browser never requested have no dependency
    evidence = styles_evidence(engine)
    assert {host: evidence[host][0] for host in STYLES_HINTS} == STYLES_HINTS
    assert {host: evidence[host][1] for host in PARKED_SCRIPTS} == PARKED_SCRIPTS
    assert not {"conn-xk.net", "dns-xl.org", "consent-xm.com", "rocket-xn.net", "ldjson-xo.com"} & set(deps)
    assert evidence["bg-xd.com"] == (None, None)


def test_top_level_redirects_refreshes_and_script_navigation(crawled: tuple[str, Engine, str]) -> None:
    _, engine, _ = crawled
    pairs = all_pairs(engine)
    assert ("old-bb.com", "www.mid-bb.net", "topLevelRedirect") in pairs
    assert ("www.mid-bb.net", "www.new-bb.com", "topLevelRedirect") in pairs
    assert ("refresh-cc.com", "landing-dd.com", "meta.refresh") in pairs
    assert ("jsnav-ee.com", "jsdest-ff.com", "location.refresh") in pairs
    with Session(engine) as session:
        visit = session.scalars(select(Visit).where(Visit.requested_url == "http://old-bb.com/")).one()
        assert visit.final_url == "https://www.new-bb.com/"
        hops = session.execute(
            select(Dependency.url, Dependency.status, Dependency.cause)
            .where(Dependency.visit_id == visit.id, Dependency.resource_type == "document")
            .order_by(Dependency.id)
        ).all()
    assert [tuple(h) for h in hops] == [
        ("http://old-bb.com/", 301, None),
        ("https://www.mid-bb.net/go", 302, "topLevelRedirect"),
        ("https://www.new-bb.com/", 200, "topLevelRedirect"),
    ]


def test_frame_tree_records_depth_creator_and_hidden_frames(crawled: tuple[str, Engine, str]) -> None:
    _, engine, _ = crawled
    with Session(engine) as session:
        visit = session.scalars(select(Visit).where(Visit.requested_url == f"https://{NEWS}/")).one()
        frames = {f.frame_id: f for f in visit.frames}
    by_host = {f.host: f for f in frames.values() if f.host}

    def depth(frame: Frame) -> int:
        return 0 if frame.parent_frame_id is None else 1 + depth(frames[frame.parent_frame_id])

    assert depth(by_host["frames-d.io"]) == 3
    injected = by_host["inject-f.com"]
    assert injected.created_by_script and injected.creator_script_url == f"https://{NEWS}/"
    assert not by_host["frames-b.net"].created_by_script
    assert by_host["hidden-aa.com"].hidden and "display:none" in by_host["hidden-aa.com"].hidden_reasons
    assert by_host["frames-b.net"].hidden is False
    assert by_host["hop-p.net"].url == "https://hop-p.net/"  # the frame that navigated itself


def test_dependencies_keep_initiators_addresses_and_certificate_errors(crawled: tuple[str, Engine, str],
                                                                       virtual_web: VirtualWeb) -> None:
    _, engine, _ = crawled
    with Session(engine) as session:
        deps = {d.url: d for d in session.scalars(select(Dependency))}
        evidence = session.execute(
            select(PairEvidence.child_url, PairEvidence.page_url, PairEvidence.initiator_url)
            .join(HostPair).where(HostPair.child == "late-g.net")
        ).first()
        resolution = session.scalars(select(Resolution).where(Resolution.hostname == "final-n.org")).one()
    late = deps["https://late-g.net/late.js"]
    assert late.initiator_type == "script" and late.initiator_url == f"https://{NEWS}/"
    assert late.remote_ip == "127.0.0.1" and late.remote_port == virtual_web.port
    assert late.certificate_error and "untrusted certificate" in late.certificate_error
    assert late.body_sha256 == hashlib.sha256(b"var late = 1;").hexdigest()  # the bytes served
    assert deps[f"https://{NEWS}/"].body_sha256 == hashlib.sha256(NEWS_PAGE.encode()).hexdigest()
    assert deps["https://style-v.net/i.css"].initiator_url == "https://style-u.com/s.css"
    assert deps["https://written-t.net/w.js"].frame_url == "about:blank"
    assert tuple(evidence) == ("https://late-g.net/late.js", f"https://{NEWS}/", f"https://{NEWS}/")
    assert resolution.ip == "127.0.0.1"


PRIVATE_HOSTS = ("127.0.0.1", "169.254.169.254", "probe.localhost")


def test_private_addresses_are_refused_and_unreachable_targets_recorded(crawled: tuple[str, Engine, str],
                                                                        virtual_web: VirtualWeb) -> None:
    _, engine, stdout = crawled
    with Session(engine) as session:
        refused = {
            d.host: d.error for d in session.scalars(
                select(Dependency).where(Dependency.host.in_(PRIVATE_HOSTS), Dependency.resource_type != "popup")
            )
        }
        popups = {d.url: (d.cause, d.parent_host, d.error) for d in session.scalars(
            select(Dependency).where(Dependency.resource_type == "popup"))}
        popup_pair = session.scalars(select(HostPair).where(HostPair.child == "popup-ads-uu.com")).one()
        failed = session.scalars(select(Visit).where(Visit.error.is_not(None))).all()
        visits = session.scalars(select(Visit)).all()
    assert set(refused) == set(PRIVATE_HOSTS)
    assert all(error.startswith("refused:") for error in refused.values())
    private_requests = [request for request in virtual_web.requests if request[1] in PRIVATE_HOSTS]
    assert not private_requests  # neither the images nor the popup
    # popups are recorded from the page that opened them, and never loaded
    assert popups == {url: ("unknown", "guard-hh.com", POPUP_NOT_LOADED) for url in
                      (f"http://127.0.0.1:{virtual_web.port}/popup.html", "https://popup-ads-uu.com/landing")}
    assert (popup_pair.parent, popup_pair.cause) == ("guard-hh.com", "unknown")
    assert "popup-ads-uu.com" not in {host for _, host, _, _ in virtual_web.requests}
    assert [v.requested_url for v in failed] == ["https://unreachable-gg.com/"]
    assert "ERR_NAME_NOT_RESOLVED" in failed[0].error
    assert len(visits) == len(MAIN_TARGETS) + 1  # + /section, one link deep
    assert "errors: 1" in stdout


def test_lookup_matches_subdomains_in_passivetotal_shape(crawled: tuple[str, Engine, str]) -> None:
    url, _, _ = crawled
    result = run_cli("lookup", "cdn-z.net", "--direction", "parents", "--json", "--db", url)
    assert result.returncode == 0, result.stderr
    response = json.loads(result.stdout)
    assert response["success"] is True and response["totalRecords"] == 2
    assert sorted((r["parent"], r["child"], r["cause"]) for r in response["results"]) == [
        (NEWS, "a.cdn-z.net", "img.src"), (NEWS, "b.cdn-z.net", "img.src")]
    assert set(response["results"][0]) == {"parent", "child", "cause", "firstSeen", "lastSeen"}
    time.strptime(response["results"][0]["firstSeen"], "%Y-%m-%d %H:%M:%S")


def test_second_crawl_moves_last_seen_and_keeps_first_seen(crawled: tuple[str, Engine, str], host_rules: str) -> None:
    url, engine, _ = crawled
    key = (HostPair.parent == NEWS, HostPair.child == "frames-b.net", HostPair.cause == "iframe.src")
    with Session(engine) as session:
        before = session.scalars(select(HostPair).where(*key)).one()
    time.sleep(1.1)
    # (the same dwell as the first crawl: this visit becomes the page's latest, which
    # test_visit_command_shows_the_evidence_in_order reads, late script included)
    result = run_cli("crawl", f"https://{NEWS}/", "--db", url, "--dwell", DWELL, "--host-rules", host_rules)
    assert result.returncode == 0, result.stderr
    with Session(engine) as session:
        after = session.scalars(select(HostPair).where(*key)).one()
    assert after.first_seen == before.first_seen
    assert after.last_seen > before.last_seen
    assert after.visit_count == before.visit_count + 1
    assert "pairs new: 0" in result.stdout


class SlowAttachment(http.server.BaseHTTPRequestHandler):
    """A 10 MB download sent in 256 KB chunks 50 ms apart; records how many chunks the client took
    (a browser that refuses the download breaks the connection off)."""

    CHUNKS, CHUNK = 40, b"MZ" + bytes(256 * 1024 - 2)
    delivered: list[int] = []

    def do_GET(self) -> None:  # noqa: N802
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Disposition", "attachment; filename=big.exe")
        self.send_header("Content-Length", str(self.CHUNKS * len(self.CHUNK)))
        self.end_headers()
        sent = 0
        try:
            for _ in range(self.CHUNKS):
                self.wfile.write(self.CHUNK)
                self.wfile.flush()
                sent += 1
                time.sleep(0.05)
        except OSError:
            pass
        SlowAttachment.delivered.append(sent)

    def log_message(self, *args: object) -> None:
        pass


def test_hostile_pages_do_not_stall_the_crawl_or_download(tmp_path: Path, host_rules: str) -> None:
    url = sqlite_url(tmp_path)
    SlowAttachment.delivered = []
    attachments = http.server.ThreadingHTTPServer(("127.0.0.1", 0), SlowAttachment)
    threading.Thread(target=attachments.serve_forever, daemon=True).start()
    big = "http://big-download-jj.com/big.exe"
    started = time.monotonic()
    result = run_cli("crawl", *HOSTILE_TARGETS, big, "--db", url, "--dwell", "1", "--page-timeout", "5",
                     "--host-rules", f"MAP big-download-jj.com 127.0.0.1:{attachments.server_address[1]}, {host_rules}")
    assert result.returncode == 0, result.stderr
    deadline = time.monotonic() + 10
    while not SlowAttachment.delivered and time.monotonic() < deadline:
        time.sleep(0.1)
    attachments.shutdown()
    engine = engine_for(url)
    with Session(engine) as session:
        visits = {v.requested_url: v for v in session.scalars(select(Visit))}
    pairs = all_pairs(engine)
    engine.dispose()
    assert set(visits) == {*HOSTILE_TARGETS, big}
    assert "unresponsive" in visits["https://busy-ii.com/"].error
    assert "unresponsive" in visits["https://busy-at-load-rr.com/"].error  # stuck before it was handed over
    assert ("busy-ii.com", "busy-img-ll.com", "img.src") in pairs  # what was seen before it hung is kept
    assert "download" in visits["https://download-jj.com/file.exe"].error.lower()
    assert "download" in visits[big].error.lower()
    assert len(SlowAttachment.delivered) == 1 and SlowAttachment.delivered[0] < SlowAttachment.CHUNKS  # broken off
    assert visits["https://alert-kk.com/"].error is None
    assert ("alert-kk.com", "after-alert-mm.com", "img.src") in pairs
    assert time.monotonic() - started < 120


def test_trackers_cookies_and_components_of_a_visited_host(crawled: tuple[str, Engine, str]) -> None:
    url, _, _ = crawled
    trackers = json.loads(run_cli("trackers", "tracked-nn.com", "--json", "--db", url).stdout)
    assert trackers["success"] is True and trackers["facets"] == []
    assert {(r["attributeType"], r["attributeValue"]) for r in trackers["results"]} >= {
        ("GoogleAnalyticsTrackingId", "UA-7654321-2"),
        ("GoogleTagManagerId", "GTM-TRK4EX"),
        ("FacebookId", "1234567890123456"),
    }
    values = {r["attributeValue"] for r in trackers["results"]}
    assert "G-TRK4EXAMPLE" in values and "G-1234ABCD" not in values and "UA-123" not in values
    pivot = json.loads(run_cli("trackers", "--search", "UA-7654321-2", "--json", "--db", url).stdout)
    assert pivot == {"totalRecords": 1, "success": True, "results": [
        {"entity": "tracked-nn.com", "firstSeen": pivot["results"][0]["firstSeen"],
         "lastSeen": pivot["results"][0]["lastSeen"]}]}

    cookies = json.loads(run_cli("cookies", "tracked-nn.com", "--json", "--db", url).stdout)
    by_name = {r["cookieName"]: r for r in cookies["results"]}
    assert {"session_id", "visited", "uid"} <= set(by_name)
    assert by_name["uid"]["cookieDomain"] == "cookie-tp.net"
    assert set(by_name["uid"]) == {"hostname", "cookieName", "cookieDomain", "firstSeen", "lastSeen"}
    reverse = json.loads(run_cli("cookies", "--name", "uid", "--json", "--db", url).stdout)
    assert [r["hostname"] for r in reverse["results"]] == ["tracked-nn.com"]
    table = run_cli("cookies", "--domain", "cookie-tp.net", "--db", url).stdout
    assert "uid" in table and "True" in table  # third party

    components = json.loads(run_cli("components", "tracked-nn.com", "--json", "--db", url).stdout)
    found = {(r["category"], r["label"], r["version"]) for r in components["results"]}
    assert {("Server", "nginx", "1.24.0"), ("CMS", "WordPress", "6.4.2"),
            ("JavaScript Library", "jQuery", "3.6.0")} <= found


STATIC_NEWS_PAIRS = {
    (NEWS, "style-u.com", "link.href"),
    (NEWS, "style-v.net", "css.import"),  # @import of the linked stylesheet, fetched
    (NEWS, "bg-w.org", "css.import"),  # url() of the linked stylesheet
    (NEWS, "icons-ab.com", "link.href"),
    (NEWS, "static.news-a.com", "script.src"),
    (NEWS, "frames-b.net", "iframe.src"),
    (NEWS, "hop-o.com", "iframe.src"),
    (NEWS, "meta-q.com", "iframe.src"),
    (NEWS, "srcdoc-s.com", "iframe.write"),
    (NEWS, "hidden-aa.com", "iframe.src"),
    (NEWS, "redir-l.com", "img.src"),
    (NEWS, "a.cdn-z.net", "img.src"),
    (NEWS, "b.cdn-z.net", "img.src"),
    (NEWS, "link-y.com", "a.href"),
    (NEWS, "section-img-ac.com", "img.src"),
}


def test_static_mode_sees_what_the_markup_declares(tmp_path: Path, host_rules: str,
                                                   crawled: tuple[str, Engine, str]) -> None:
    url = sqlite_url(tmp_path)
    result = run_cli("crawl", "--mode", "static", *MAIN_TARGETS, "--db", url, "--depth", "1",
                     "--host-rules", host_rules)
    assert result.returncode == 0, result.stderr
    engine = engine_for(url)
    pairs = all_pairs(engine)
    with Session(engine) as session:
        modes = set(session.scalars(select(Visit.mode)))
        trackers = set(session.scalars(select(Tracker.attribute_value).where(Tracker.hostname == "tracked-nn.com")))
        certificates = dict(session.execute(select(Dependency.url, Dependency.certificate_error).where(
            Dependency.resource_type.in_(["document", "stylesheet"]), Dependency.status.is_not(None))).all())
        declared_types = dict(session.execute(select(Dependency.host, Dependency.declared_type).where(
            Dependency.parent_host == STYLES, Dependency.cause == "script.src")).all())
    evidence = styles_evidence(engine)
    engine.dispose()
    assert {p for p in pairs if p[0] == NEWS} == STATIC_NEWS_PAIRS
    # what the styles page's markup declares (its script-created styles are for the browser to see)
    assert {p for p in pairs if p[0] == STYLES} == EXPECTED_STYLES_PAIRS
    assert {host: evidence[host][0] for host in STYLES_HINTS} == STYLES_HINTS
    assert declared_types == PARKED_SCRIPTS  # parked scripts keep their declared type; ld+json is not a reference
    assert STATIC_NEWS_PAIRS <= all_pairs(crawled[1])  # the browser saw all of it, and more
    assert {("old-bb.com", "www.mid-bb.net", "topLevelRedirect"), ("www.mid-bb.net", "www.new-bb.com", "topLevelRedirect"),
            ("refresh-cc.com", "landing-dd.com", "meta.refresh")} <= pairs
    assert modes == {"static"}
    assert {"UA-7654321-2", "GTM-TRK4EX", "1234567890123456"} <= trackers
    # the virtual web's certificate is self-signed: recorded on pages and stylesheets, not on plain http
    assert certificates[f"https://{NEWS}/"].startswith("untrusted certificate (")
    assert certificates["https://style-u.com/s.css"].startswith("untrusted certificate (")
    assert certificates["http://old-bb.com/"] is None


def test_visit_command_shows_the_evidence_in_order(crawled: tuple[str, Engine, str]) -> None:
    url, engine, _ = crawled
    report = json.loads(run_cli("visit", f"https://{NEWS}/", "--json", "--db", url).stdout)
    assert report["visit"]["requestedUrl"] == f"https://{NEWS}/" and report["visit"]["mode"] == "browser"
    assert len(report["frames"]) == 1 + 9  # the page and every frame it built, nested ones included
    with Session(engine) as session:
        started = dict(session.execute(
            select(Dependency.url, Dependency.started_at).where(Dependency.visit_id == report["visit"]["id"])).all())
    page, late = started[f"https://{NEWS}/"], started["https://late-g.net/late.js"]
    assert (late - page).total_seconds() >= 2  # injected on a 2 s timer, seen because the visit dwelt
    assert [d["url"] for d in report["dependencies"]][0] == f"https://{NEWS}/"
    output = run_cli("visit", f"https://{NEWS}/", "--db", url).stdout.splitlines()
    tree = output[:next(i for i, line in enumerate(output) if line.strip().endswith(" dependencies"))]
    lines = {host: [line for line in tree if f"https://{host}/" in line]
             for host in ("hidden-aa.com", "frames-b.net", "frames-d.io", "inject-f.com")}
    [hidden_line] = lines["hidden-aa.com"]
    note = hidden_line.split("https://hidden-aa.com/", 1)[1]  # the note after the URL, not the host name
    assert note.strip().startswith("(hidden: ") and "display:none" in note
    assert all("hidden:" not in line for host in ("frames-b.net", "frames-d.io") for line in lines[host])
    [injected_line] = lines["inject-f.com"]
    assert f"(created by https://{NEWS}/)" in injected_line and lines["frames-d.io"]
    assert run_cli("visit", "https://never-visited.example/", "--db", url).returncode == 2


def stored_records(engine: Engine) -> dict[str, set[tuple]]:
    """Everything a reprocess may rewrite, without row ids."""
    with Session(engine) as session:
        return {
            "pairs": {tuple(r) for r in session.execute(select(
                HostPair.parent, HostPair.child, HostPair.cause, HostPair.first_seen, HostPair.last_seen,
                HostPair.visit_count))},
            "dependencies": {tuple(r) for r in session.execute(select(
                Dependency.visit_id, Dependency.url, Dependency.cause, Dependency.parent_host, Dependency.declared_type))},
            "evidence": {tuple(r) for r in session.execute(select(
                PairEvidence.visit_id, HostPair.parent, HostPair.child, HostPair.cause, PairEvidence.child_url,
                PairEvidence.hint, PairEvidence.declared_type).join(HostPair))},
            "trackers": {tuple(r) for r in session.execute(select(
                Tracker.hostname, Tracker.attribute_value, Tracker.first_seen, Tracker.visit_count))},
        }


def test_reprocess_of_a_crawl_changes_nothing_and_a_visit_exports_as_har(crawled: tuple[str, Engine, str],
                                                                         tmp_path: Path) -> None:
    from haralyzer import HarParser

    url, engine, _ = crawled
    before = stored_records(engine)
    with Session(engine) as session:
        visits = session.scalar(select(func.count()).select_from(Visit))
    result = run_cli("reprocess", "--db", url)
    assert result.returncode == 0, result.stderr
    assert f"reprocessed {visits} visits: 0 with different records" in result.stdout
    assert stored_records(engine) == before

    har = tmp_path / "styles.har"
    result = run_cli("visit", f"https://{STYLES}/", "--har", str(har), "--db", url)
    assert result.returncode == 0, result.stderr
    parsed = HarParser(json.loads(har.read_text()))
    [page] = parsed.pages
    entries = {entry.url: entry for entry in page.entries}
    page_entry = entries[f"https://{STYLES}/"]
    assert page_entry.status == 200 and page_entry.serverAddress == "127.0.0.1"
    assert page_entry.response.mimeType == "text/html"
    background = entries["https://bg-xd.com/bg.gif"].raw_entry
    assert background["_initiator"]["type"] == "parser" and background["_initiator"]["fetchInitiator"] == "css"
    assert (background["_cause"], background["_parentHost"]) == ("css.import", STYLES)
    assert background["_frame"]["url"] == f"https://{STYLES}/" and background["_frame"]["id"]
    with Session(engine) as session:
        visit_id = session.scalars(select(Visit.id).where(Visit.requested_url == f"https://{STYLES}/")).one()
    assert set(entries) == {d[1] for d in before["dependencies"] if d[0] == visit_id}  # every request, nothing else
