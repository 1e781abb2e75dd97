"""Hostile pages on the virtual web, in real Chromium: each ends in a stored visit with what it
observed, and the crawl goes on."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from hostpairs.demoweb.server import PIXEL, Resource, VirtualWeb, html, js, large, redirect, trickle
from hostpairs.storage.models import Dependency, Frame, Tracker, Visit
from tests.conftest import ROOT, engine_for, run_cli, sqlite_url

BANK = "https://www.knf-bank.com/"
# The bank's own inline scripts name three trackers; one ad frame never finishes loading, so the
# load event never fires; scrolling injects an image, and the page links to its login.
BANK_PAGE = """<!doctype html><html><head><title>Bank</title>
<script>
  window.dataLayer = window.dataLayer || [];
  function gtag(){dataLayer.push(arguments);}
  gtag('js', new Date());
  gtag('config', 'UA-48291734-1');
</script>
<script>(function(w,d,s,l,i){w[l]=w[l]||[];w[l].push({'gtm.start':new Date().getTime(),event:'gtm.js'});
})(window,document,'script','dataLayer','GTM-K7QX2P9');</script>
<script>!function(f,b,e,v,n,t,s){n=f.fbq=function(){};}(window,document,'script');
fbq('init', '1234567890123456'); fbq('track', 'PageView');</script>
</head><body style="height:4000px"><h1>Bank</h1><a href="/login">Log in</a>
<iframe src="https://ads.trickle-ad.net/slot" width="300" height="250"></iframe>
<script>addEventListener('scroll', function () {
  if (!window.seen) { window.seen = 1; new Image().src = 'https://scroll.knf-bank-cdn.net/seen.gif'; }
});</script>
</body></html>"""
NEXT = "https://www.after-hostile.com/"


@pytest.fixture
def web() -> Iterator[VirtualWeb]:
    sites = {
        "www.knf-bank.com": {"/": html(BANK_PAGE), "/login": html("<h1>Log in</h1>")},
        "ads.trickle-ad.net": {"/slot": Resource(body="<p>ad</p>", delay=120)},  # answers after the visit is over
        "scroll.knf-bank-cdn.net": {"/seen.gif": PIXEL},
        "www.after-hostile.com": {"/": html("<script src='https://cdn.after-cdn.net/a.js'></script>")},
        "cdn.after-cdn.net": {"/a.js": js("var a = 1;")},
    }
    with VirtualWeb(sites) as server:
        yield server


def test_a_page_whose_load_never_fires_is_browsed_from_dom_content_loaded(web: VirtualWeb, tmp_path: Path) -> None:
    db = sqlite_url(tmp_path)
    result = run_cli("crawl", BANK, NEXT, "--db", db, "--host-rules", web.host_rules, "--dwell", "1",
                     "--load-wait", "2", "--page-timeout", "20")
    assert result.returncode == 0, result.stderr
    engine = engine_for(db)
    with Session(engine) as session:
        visits = {v.requested_url: v for v in session.scalars(select(Visit))}
        bank = visits[BANK]
        urls = set(session.scalars(select(Dependency.url).where(Dependency.visit_id == bank.id)))
        trackers = set(session.execute(select(Tracker.attribute_type, Tracker.attribute_value)
                                       .where(Tracker.hostname == "www.knf-bank.com")).all())
        after = visits[NEXT]
    engine.dispose()
    assert bank.error is None and bank.load_finished is False and bank.limits_hit == "load wait 2 s"
    assert (bank.finished_at - bank.started_at).total_seconds() < 20  # not the 20 s navigation timeout
    assert "https://scroll.knf-bank-cdn.net/seen.gif" in urls  # the user simulation ran
    assert "https://ads.trickle-ad.net/slot" in urls  # the hanging frame is recorded
    assert {("GoogleAnalyticsTrackingId", "UA-48291734-1"), ("GoogleTagManagerId", "GTM-K7QX2P9"),
            ("FacebookId", "1234567890123456")} <= trackers  # read from the final DOM's inline scripts
    assert after.error is None and after.load_finished is True and after.limits_hit is None
    report = run_cli("visit", BANK, "--db", db)
    assert "the load event never came" in report.stdout and "limits hit: load wait 2 s" in report.stdout


# --- the browser's processes --------------------------------------------------------------------

def _processes() -> dict[int, tuple[int, str, int]]:
    """pid -> (parent pid, command line, resident bytes) of every process (Linux /proc)."""
    found = {}
    page_size = os.sysconf("SC_PAGE_SIZE")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                command = cmdline.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        found[int(entry)] = (int(fields[1]), command, int(fields[21]) * page_size)
    return found


def browser_processes(port: int) -> dict[int, tuple[str, int]]:
    """The Chromium processes of crawls sent to the virtual web on `port` (its host rules name the
    port), and all their descendants: pid -> (command line, resident bytes)."""
    processes = _processes()
    roots = {pid for pid, (_, command, _) in processes.items()
             if "chromium" in command and f"127.0.0.1:{port}" in command}
    tree = set(roots)
    grew = True
    while grew:
        children = {pid for pid, (parent, _, _) in processes.items() if parent in tree} - tree
        tree |= children
        grew = bool(children)
    return {pid: (processes[pid][1], processes[pid][2]) for pid in tree}


@dataclass
class Probe:
    """A page that, when the browser fetches it, notes the browser's processes then: the last
    target of a serial crawl sees what the hostile pages before it left behind."""

    web_port: list[int]
    seen: list[dict[int, tuple[str, int]]] = field(default_factory=list)
    also: list[Callable[[], None]] = field(default_factory=list)
    """More to note when the probe is fetched."""

    def __call__(self, path: str) -> Resource:
        time.sleep(0.5)  # the processes of the visit before (its context just closed) exit
        self.seen.append(browser_processes(self.web_port[0]))
        for note in self.also:
            note()
        return html("<h1>probe</h1>")

    def renderers(self) -> list[int]:
        """Resident bytes of each renderer process when the probe was fetched."""
        processes = self.seen[-1]
        return [rss for command, rss in processes.values() if "--type=renderer" in command]

    def assert_back_to_normal(self) -> None:
        """When the probe was fetched, the browser had no more processes than a fresh one that has
        made a few visits (renderers exit a little after their context closes), none of them
        holding what a hostile page had grown."""
        processes = self.seen[-1]
        assert 0 < len(processes) <= 16, processes
        assert max(self.renderers()) < 500 * 2**20, self.renderers()


AFTER_SITES = {  # an ordinary page (NEXT) crawled after the hostile ones
    "www.after-hostile.com": {"/": html("<script src='https://cdn.after-cdn.net/a.js'></script>")},
    "cdn.after-cdn.net": {"/a.js": js("var a = 1;")},
}


def start_web(sites: dict[str, dict]) -> tuple[VirtualWeb, Probe]:
    """The virtual web of `sites`, the ordinary page NEXT and the probe."""
    port: list[int] = []
    probe = Probe(port)
    web = VirtualWeb({**sites, **AFTER_SITES, "probe-hostile.com": {"/": probe}})
    web.start()
    port.append(web.port)
    return web, probe


PROBE = "https://probe-hostile.com/"


def scrapy_crawl(web: VirtualWeb, db: str, *targets: str, timeout: float = 240, env: dict[str, str] | None = None,
                 **settings: object) -> subprocess.CompletedProcess[str]:
    """`scrapy crawl hostpairs` of `targets` on the virtual web, one visit at a time (the probe,
    last, sees what the others left), with short visits and HOSTPAIRS_* `settings`. One download
    at a time is not enough: the next page would load while the spider browses the last one; a
    scraper with room for one response makes the engine wait for the visit to end."""
    options = {"HOSTPAIRS_DB": db, "HOSTPAIRS_HOST_RULES": web.host_rules, "HOSTPAIRS_DWELL": 1,
               "HOSTPAIRS_LOAD_WAIT": 3, "HOSTPAIRS_PAGE_TIMEOUT": 20, "CONCURRENT_REQUESTS": 1,
               "SCRAPER_SLOT_MAX_ACTIVE_SIZE": 1, "SCHEDULER_PRIORITY_QUEUE": "scrapy.pqueues.ScrapyPriorityQueue",
               "LOG_LEVEL": "INFO", **settings}
    args = ["-a", "targets=" + " ".join(targets)]
    for name, value in options.items():
        args += ["-s", f"{name}={value}"]
    environment = {**os.environ, **(env or {}),
                   "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    environment.pop("HOSTPAIRS_DB", None)
    return subprocess.run([sys.executable, "-m", "scrapy", "crawl", "hostpairs", *args], cwd=ROOT, env=environment,
                          capture_output=True, text=True, timeout=timeout)


def stored_visits(db: str) -> tuple[dict[str, Visit], dict[str, list[Dependency]]]:
    """The visits by requested URL, and each one's dependencies."""
    engine = engine_for(db)
    with Session(engine) as session:
        stored = list(session.scalars(select(Visit)))
        visits = {v.requested_url: v for v in stored}
        assert len(visits) == len(stored), "a URL stored twice"
        dependencies: dict[str, list[Dependency]] = {url: [] for url in visits}
        by_id = {v.id: url for url, v in visits.items()}
        for dependency in session.scalars(select(Dependency).order_by(Dependency.id)):
            dependencies[by_id[dependency.visit_id]].append(dependency)
    engine.dispose()
    return visits, dependencies


def stored_frames(db: str) -> dict[str, list[Frame]]:
    """Each visit's frames, by requested URL."""
    engine = engine_for(db)
    with Session(engine) as session:
        urls = dict(session.execute(select(Visit.id, Visit.requested_url)).all())
        frames: dict[str, list[Frame]] = {url: [] for url in urls.values()}
        for frame in session.scalars(select(Frame)):
            frames[urls[frame.visit_id]].append(frame)
    engine.dispose()
    return frames


def assert_crawl_went_on(result: subprocess.CompletedProcess[str], visits: dict[str, Visit], web: VirtualWeb,
                         probe: Probe) -> None:
    """The crawl ended by itself, stored the probe's visit, and left no browser process behind;
    when the probe was fetched the browser had one renderer of ordinary size."""
    assert result.returncode == 0, result.stderr[-3000:]
    assert visits[PROBE].error is None, {url: visit.error for url, visit in visits.items()}
    assert max(visits.values(), key=lambda visit: visit.started_at) is visits[PROBE]  # the last visit
    probe.assert_back_to_normal()
    assert browser_processes(web.port) == {}


# --- a renderer that crashes ----------------------------------------------------------------------

# Grows its heap until V8 gives up and the renderer dies ("Aw, Snap!", out of memory): while the
# page loads (the main thread never yields), and once the visit has it (in bursts from
# DOMContentLoaded, the page answering until it dies, while the visit waits for a load event a
# hanging image holds back).
BOMB_WHILE_LOADING = "<h1>bomb</h1><script>var a = []; for (;;) { a.push(new Array(1e6).fill(1.5)); }</script>"
BOMB_WHILE_BROWSED = """<h1>bomb</h1><img src="https://bomb-cdn-hostile.net/p.gif">
<img src="https://bomb-cdn-hostile.net/hanging.gif"><script>
addEventListener('DOMContentLoaded', function () {
  var a = [];
  (function grow() { for (var i = 0; i < 40; i++) { a.push(new Array(1e6).fill(1.5)); } setTimeout(grow, 0); })();
});</script>"""


def test_a_renderer_crash_ends_its_visit_and_the_crawl_goes_on(tmp_path: Path) -> None:
    web, probe = start_web({
        "bomb-load-hostile.com": {"/": html(BOMB_WHILE_LOADING)},
        "bomb-late-hostile.com": {"/": html(BOMB_WHILE_BROWSED)},
        "bomb-cdn-hostile.net": {"/p.gif": PIXEL, "/hanging.gif": Resource(body=PIXEL.body, delay=120)},
    })
    db = sqlite_url(tmp_path)
    loading, late = "https://bomb-load-hostile.com/", "https://bomb-late-hostile.com/"
    try:
        result = scrapy_crawl(web, db, loading, late, NEXT, PROBE, timeout=150, HOSTPAIRS_LOAD_WAIT=40)
        visits, dependencies = stored_visits(db)
        assert_crawl_went_on(result, visits, web, probe)
    finally:
        web.stop()
    assert visits[loading].error == "renderer crashed"
    assert visits[late].error == "renderer crashed"
    assert visits[late].status == 200
    assert "https://bomb-cdn-hostile.net/p.gif" in {d.url for d in dependencies[late]}  # what it saw is kept
    assert (visits[late].finished_at - visits[late].started_at).total_seconds() < 35  # cut by the crash
    assert visits[NEXT].error is None


# --- Chromium killed from outside ------------------------------------------------------------------

@dataclass
class BrowserKiller:
    """A page whose first fetch has the browser killed (SIGKILL to every Chromium process of the
    crawl) `after` seconds later: the out-of-memory killer, an operator, a crash of Chromium itself."""

    web_port: list[int]
    after: float
    killed: list[int] = field(default_factory=list)

    def __call__(self, path: str) -> Resource:
        if not self.killed:
            self.killed.append(0)
            threading.Thread(target=self._kill, daemon=True).start()
        return html("<h1>the browser dies here</h1><img src='/p.gif'>")

    def _kill(self) -> None:
        time.sleep(self.after)
        self.killed[:] = sorted(browser_processes(self.web_port[0]))
        for pid in self.killed:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


def pid_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_a_browser_killed_mid_crawl_is_restarted_and_the_next_visits_succeed(tmp_path: Path) -> None:
    """Killed twice: while a page loads (an image of it hangs), and while one is browsed."""
    port: list[int] = []
    while_loading, while_browsing = BrowserKiller(port, after=0.0), BrowserKiller(port, after=1.0)
    hanging = Resource(body=PIXEL.body, content_type="image/gif", delay=5)
    web, probe = start_web({
        "before-kill-hostile.com": {"/": html("<h1>before</h1>")},
        "kill-loading-hostile.com": {"/": while_loading, "/p.gif": hanging},
        "kill-browsing-hostile.com": {"/": while_browsing, "/p.gif": PIXEL},
        "second-after-hostile.com": {"/": html("<h1>second</h1>")},
    })
    port.append(web.port)
    before, second = "https://before-kill-hostile.com/", "https://second-after-hostile.com/"
    loading, browsing = "https://kill-loading-hostile.com/", "https://kill-browsing-hostile.com/"
    db = sqlite_url(tmp_path)
    try:
        result = scrapy_crawl(web, db, before, loading, NEXT, browsing, second, PROBE, timeout=150, HOSTPAIRS_DWELL=2)
        visits, dependencies = stored_visits(db)
        assert_crawl_went_on(result, visits, web, probe)
    finally:
        web.stop()
    for killer in (while_loading, while_browsing):
        assert killer.killed and not any(pid_alive(pid) for pid in killer.killed)
    assert set(while_loading.killed).isdisjoint(while_browsing.killed)  # the browser was a new one
    # killed while its page loaded, the visit is tried again in the new browser; killed while
    # browsing, it ends there with what it saw
    assert {url: visit.error for url, visit in visits.items()} == {
        before: None, loading: None, NEXT: None, browsing: "browser closed during the visit", second: None,
        PROBE: None}
    for url in (loading, browsing):
        assert f"{url}p.gif" in {d.url for d in dependencies[url]}
    assert "https://cdn.after-cdn.net/a.js" in {d.url for d in dependencies[NEXT]}


# --- busy loops, dialog and popup storms, downloads ----------------------------------------------

ANOTHER_IMAGE = "<img src='https://storm-cdn-hostile.net/after.gif'>"
STORMS = {
    # the main thread never yields before DOMContentLoaded: the page timeout ends the visit
    "loop-head-hostile.com": {"/": html("<html><head><script>for (;;) {}</script></head><body>never</body></html>")},
    # a busy loop in a cross-site frame after load (one renderer: the page stops answering)
    "loop-frame-hostile.com": {"/": html("<h1>frame</h1><iframe src='https://loop-child-hostile.net/'></iframe>")},
    "loop-child-hostile.net": {"/": html("<script>addEventListener('load', function () {"
                                         " setTimeout(function () { for (;;) {} }, 100); });</script>")},
    # dialogs without end before DOMContentLoaded; 1,500 of them at load, then an image
    "alert-loop-hostile.com": {"/": html("<h1>alerts</h1><script>for (var i = 0; ; i++) { alert(i); }</script>")},
    "dialog-storm-hostile.com": {"/": html("<h1>dialogs</h1><script>addEventListener('load', function () {"
                                           " for (var i = 0; i < 500; i++) { alert(i); confirm(i); prompt(i); }"
                                           f" document.body.insertAdjacentHTML('beforeend', \"{ANOTHER_IMAGE}\"); }});"
                                           "</script>")},
    # asks to stay on every unload while it navigates itself every 250 ms from load on
    "beforeunload-hostile.com": {
        "/": html("<h1>stay</h1><script>onbeforeunload = function (e) { e.preventDefault(); e.returnValue = 'stay';"
                  " return 'stay'; }; addEventListener('load', function () { setInterval(function () {"
                  " location.href = '/again?' + Math.random(); }, 250); });</script>"),
        "/again": html("<h1>stay</h1><script>onbeforeunload = function () { return 'stay'; };</script>")},
    # 2,000 windows in a loop before DOMContentLoaded; 50 every 10 ms for the whole visit
    "popup-loop-hostile.com": {"/": html("<h1>popups</h1><script>for (var i = 0; i < 2000; i++) {"
                                         " window.open('https://popup-land-hostile.com/' + i); }</script>" + ANOTHER_IMAGE)},
    "popup-timer-hostile.com": {"/": html("<h1>popups</h1><script>setInterval(function () {"
                                          " for (var i = 0; i < 50; i++) { window.open('https://popup-land-hostile.com/t'); }"
                                          " }, 10);</script>" + ANOTHER_IMAGE)},
    "popup-land-hostile.com": {"/t": html("<h1>landing</h1>")},
    # a scripted <a download> click of an attachment, of a blob and of a data: URL
    "download-click-hostile.com": {
        "/": html("<h1>downloads</h1><a id='d' download href='/file.bin'>file</a><script>"
                  "document.getElementById('d').click();"
                  "function save(href, name) { var a = document.createElement('a'); a.href = href; a.download = name;"
                  " document.body.appendChild(a); a.click(); }"
                  "save(URL.createObjectURL(new Blob(['MARKER-BLOB-PAYLOAD'])), 'blob.bin');"
                  "save('data:application/octet-stream;base64,TUFSS0VSLURBVEEtUEFZTE9BRA==', 'data.bin');"
                  f"</script>{ANOTHER_IMAGE}"),
        "/file.bin": Resource(body=b"MARKER-FILE-PAYLOAD" * 1000, content_type="application/octet-stream",
                              headers={"Content-Disposition": "attachment; filename=file.bin"})},
    "storm-cdn-hostile.net": {"/after.gif": PIXEL},
}


def files_holding(directory: Path, marker: bytes) -> list[Path]:
    found = []
    for path in directory.rglob("*"):
        try:
            if path.is_file() and marker in path.read_bytes():
                found.append(path)
        except OSError:
            pass
    return found


def test_busy_loops_dialog_and_popup_storms_and_downloads_end_in_visits(tmp_path: Path) -> None:
    web, probe = start_web(STORMS)
    db = sqlite_url(tmp_path)
    # The crawl's own home and temporary directory, where a saved download would land (short:
    # Chromium's sockets live in the temporary directory).
    scratch = Path(tempfile.mkdtemp(prefix="hp-"))
    home, temp = scratch / "home", scratch / "tmp"
    home.mkdir()
    temp.mkdir()
    payloads = (b"MARKER-FILE-PAYLOAD", b"MARKER-BLOB-PAYLOAD", b"MARKER-DATA-PAYLOAD")
    saved: list[Path] = []
    probe.also.append(lambda: saved.extend(f for marker in payloads for f in files_holding(scratch, marker)))
    targets = [f"https://{host}/" for host in STORMS if "-child-" not in host and "-land-" not in host
               and "-cdn-" not in host]
    try:
        result = scrapy_crawl(web, db, *targets, NEXT, PROBE, HOSTPAIRS_PAGE_TIMEOUT=4,
                              env={"HOME": str(home), "TMPDIR": str(temp)})
        visits, dependencies = stored_visits(db)
        assert_crawl_went_on(result, visits, web, probe)
        left_behind = [f for marker in payloads for f in files_holding(scratch, marker)]
    finally:
        web.stop()
        shutil.rmtree(scratch, ignore_errors=True)
    outcome = {url.split("/")[2]: (visit.error, visit.limits_hit) for url, visit in visits.items()}
    assert outcome == {
        "loop-head-hostile.com": ("page unresponsive while loading", "page timeout 4 s"),
        "loop-frame-hostile.com": (outcome["loop-frame-hostile.com"][0], None),
        "alert-loop-hostile.com": ("page unresponsive while loading", "page timeout 4 s, dialogs 20"),
        "dialog-storm-hostile.com": (None, "dialogs 20"),
        "beforeunload-hostile.com": (None, None),
        "popup-loop-hostile.com": (None, "popups 20"),
        "popup-timer-hostile.com": (None, "popups 20"),
        "download-click-hostile.com": (None, None),
        "www.after-hostile.com": (None, None),
        "probe-hostile.com": (None, None),
    }
    assert outcome["loop-frame-hostile.com"][0].startswith("page unresponsive during")
    after = "https://storm-cdn-hostile.net/after.gif"
    for host in ("dialog-storm-hostile.com", "popup-loop-hostile.com", "popup-timer-hostile.com",
                 "download-click-hostile.com"):  # the page went on after its storm
        assert after in {d.url for d in dependencies[f"https://{host}/"]}, host
    for host in ("popup-loop-hostile.com", "popup-timer-hostile.com"):
        popups = [d for d in dependencies[f"https://{host}/"] if d.resource_type == "popup"]
        assert len(popups) == 20
    assert not [path for path in web.hits if path[0] == "popup-land-hostile.com"]  # popups load nothing
    assert saved == [] and left_behind == []  # no download written anywhere, during the crawl or after
    assert ("download-click-hostile.com", "/file.bin") in web.hits  # the attachment was asked for (and refused)


# --- documents that never end, frame floods, redirect loops, oversized responses ------------------

MB = 2**20


def _hop(path: str) -> Resource:
    number = int(path.rsplit("/", 1)[1])
    return redirect(f"/hop/{number + 1}") if number < 50 else html("<h1>the end of the chain</h1>")


FRAME_FLOOD = """<h1>frames</h1><script>
addEventListener('DOMContentLoaded', function () {
  var n = 0;
  (function more() {
    for (var i = 0; i < 50 && n < 5000; i++, n++) {
      var frame = document.createElement('iframe'); frame.src = 'https://frame-src-hostile.net/f?' + n;
      frame.style.display = 'none';
      document.body.appendChild(frame);
    }
    if (n < 5000) setTimeout(more, 0);
  })();
});</script>"""
FETCH = ("<script>fetch('PATH').then(function (r) { return r.arrayBuffer(); }).then(function (b) {"
         " new Image().src = '/done.gif?' + b.byteLength; }, function () { new Image().src = '/failed.gif'; });</script>")


@dataclass
class Sent:
    """Counts what the server sent of a streamed body."""

    total: dict[str, int] = field(default_factory=dict)

    def counted(self, name: str, stream: Callable[[], Iterator[bytes]]) -> Callable[[], Iterator[bytes]]:
        def chunks() -> Iterator[bytes]:
            self.total[name] = 0
            for chunk in stream():
                self.total[name] += len(chunk)
                yield chunk
        return chunks


def test_endless_documents_frame_floods_redirect_loops_and_oversized_responses(tmp_path: Path) -> None:
    sent = Sent()
    results = {"/done.gif": PIXEL, "/failed.gif": PIXEL}
    web, probe = start_web({
        # a document that never ends: a paragraph every 0.3 s for ever
        "trickle-hostile.com": {"/": Resource(body="<html><body><h1>trickle</h1><img src='/p.gif'>",
                                              stream=trickle(b"<p>more</p>", 0.3)), "/p.gif": PIXEL},
        "frames-hostile.com": {"/": html(FRAME_FLOOD)},
        "frame-src-hostile.net": {"/f": html("<p>frame</p>")},
        "redirect-loop-hostile.com": {"/a": redirect("/b"), "/b": redirect("/a")},
        "redirect-chain-hostile.com": {f"/hop/{number}": _hop for number in range(1, 52)},
        # a 50 MB page; a 200 MB response; four 7 MB ones (each under the response limit, not together)
        "big-page-hostile.com": {"/": Resource(body="<html><body><h1>big</h1><img src='/p.gif'><!-- filler",
                                               stream=sent.counted("page", large(50 * MB))), "/p.gif": PIXEL},
        "big-response-hostile.com": {"/": html("<h1>200 MB</h1>" + FETCH.replace("PATH", "/huge")), **results,
                                     "/huge": Resource(content_type="application/octet-stream",
                                                       stream=sent.counted("huge", large(200 * MB)))},
        "many-responses-hostile.com": {  # at 1 MB every 0.1 s each, for the cut to come before their end
            "/": html("<h1>4 x 20 MB</h1>" + "".join(FETCH.replace("PATH", f"/part{i}") for i in range(4))), **results,
            **{f"/part{i}": Resource(content_type="application/octet-stream",
                                     stream=sent.counted(f"part{i}", trickle(bytes(MB), 0.1, 20))) for i in range(4)}},
    })
    db = sqlite_url(tmp_path)
    trickling, frames = "https://trickle-hostile.com/", "https://frames-hostile.com/"
    loop, chain = "https://redirect-loop-hostile.com/a", "https://redirect-chain-hostile.com/hop/1"
    big_page, big_response = "https://big-page-hostile.com/", "https://big-response-hostile.com/"
    many = "https://many-responses-hostile.com/"
    try:
        result = scrapy_crawl(web, db, trickling, frames, loop, chain, big_page, big_response, many, NEXT, PROBE,
                              HOSTPAIRS_PAGE_TIMEOUT=4, HOSTPAIRS_LOAD_WAIT=1, HOSTPAIRS_MAX_FRAMES=100,
                              HOSTPAIRS_MAX_RESPONSE_BYTES=8 * MB, HOSTPAIRS_MAX_VISIT_BYTES=12 * MB)
        visits, dependencies = stored_visits(db)
        frame_rows = stored_frames(db)
        assert_crawl_went_on(result, visits, web, probe)
    finally:
        web.stop()
    # the endless document is browsed from what arrived once the page timeout is over
    assert (visits[trickling].error, visits[trickling].limits_hit) == (None, "page timeout 4 s")
    assert visits[trickling].load_finished is False
    assert "https://trickle-hostile.com/p.gif" in {d.url for d in dependencies[trickling]}
    # 5,000 frames (Chromium itself makes 1,000 at most): the first 100, the page's own included,
    # recorded, the others refused. Making them keeps the page busy: it may stop answering.
    assert visits[frames].error in (None, "page unresponsive during mouse move", "page unresponsive during scroll")
    assert visits[frames].limits_hit in ("frames 100", "load wait 1 s, frames 100")
    assert len(frame_rows[frames]) == 100
    frame_loads = [d for d in dependencies[frames] if d.url.startswith("https://frame-src-hostile.net/")]
    # Of the 99 frames allowed, those that loaded before the visit ended (the flood keeps the page
    # busy: in some runs only a few dozen) reached the server; none past the limit did. (Requests
    # still open at the end are recorded without an error or status.)
    frame_hits = len([hit for hit in web.hits if hit[0] == "frame-src-hostile.net"])
    loaded = [d for d in frame_loads if d.error is None and d.status == 200]
    assert 0 < len(loaded) <= frame_hits <= 99, (len(loaded), frame_hits)
    # past the limit each load is refused; one whose frame the flooding page has already dropped
    # may end as Chromium's own abort first (seen once): either way it never left
    refused = {d.error for d in frame_loads if d.error}
    assert "refused: the visit reached its limit of 100 frames" in refused
    assert refused <= {"refused: the visit reached its limit of 100 frames", "net::ERR_ABORTED"}
    # redirects: Chromium makes 20 requests of a chain, each recorded, and refuses the 20th redirect
    for url in (loop, chain):
        assert visits[url].error == f"Page.goto: net::ERR_TOO_MANY_REDIRECTS at {url}"
        assert visits[url].limits_hit == "redirects 20"
        hops = [(d.status, d.error) for d in dependencies[url] if d.resource_type == "document"]
        assert hops == [(302, None)] * 19 + [(None, "net::ERR_TOO_MANY_REDIRECTS")]
    assert [path for host, path in web.hits if host == "redirect-chain-hostile.com"] == [
        f"/hop/{number}" for number in range(1, 21)]
    # sizes: cut at the limit; the 50 MB page is then browsed as far as it came
    assert visits[big_page].limits_hit.startswith("page timeout 4 s, response bytes 8388608")
    assert visits[big_page].error is None and sent.total["page"] < 40 * MB
    # (at loopback speed the visit's total may pass its limit too before the cut takes effect)
    assert visits[big_response].limits_hit.startswith("response bytes 8388608") and sent.total["huge"] < 100 * MB
    assert visits[many].limits_hit == "visit bytes 12582912"
    # cut at 12 MB in all: what loopback's socket buffers took beyond that (a few MB a connection) is
    # still far from the 80 MB the four responses would have sent
    assert sum(sent.total[f"part{i}"] for i in range(4)) < 48 * MB
    for url in (big_response, many):
        assert visits[url].error is None
        assert any(d.url.endswith("/failed.gif") for d in dependencies[url])  # the page saw its fetch fail


# --- bad text, navigations to private addresses, message floods ----------------------------------

# A page of invalid UTF-8 that says it is UTF-8; one whose header lies (UTF-16) and whose meta tag
# lies too; one whose script fills title, links, forms, a frame name, attributes and a comment
# with lone surrogates and NUL characters (JavaScript strings may hold both; no store does).
BAD_UTF8 = (b"<html><head><title>caf\xe9 \xff\xfe</title></head><body><h1>\xc3\x28 \xed\xa0\x80</h1>"
            b"<a href='/x\xff\xfe'>link</a><img src='/p\xe9.gif'></body></html>")
LYING = "<html><head><meta charset='iso-8859-1'></head><body><h1>zolc</h1><a href='/l'>x</a></body></html>"
SURROGATES = """<h1>s</h1><script>
document.title = 'a\\ud800b';
var a = document.createElement('a'); a.href = '/p\\ud800q'; a.textContent = 'x'; document.body.appendChild(a);
document.body.setAttribute('data-x', 'nul\\u0000here\\ud83d');
var f = document.createElement('form'); f.action = '/s\\udfff'; document.body.appendChild(f);
var i = document.createElement('iframe'); i.name = 'n\\u0000\\ud800'; document.body.appendChild(i);
document.body.appendChild(document.createComment('c\\u0000\\ud800'));
</script>"""


def private_navigations(port: int) -> dict[str, dict]:
    admin = f"http://127.0.0.1:{port}/admin"
    return {
        "nav-private-hostile.com": {"/": html("<h1>to loopback</h1><script>addEventListener('load', function () {"
                                              f" location.href = '{admin}'; }});</script>")},
        "replace-private-hostile.com": {"/": html("<h1>to the LAN</h1><script>setTimeout(function () {"
                                                  " location.replace('http://192.168.1.1/'); }, 100);</script>")},
        "refresh-private-hostile.com": {"/": html("<meta http-equiv='refresh' content='0; url=http://10.0.0.1/'>"
                                                  "<h1>refresh</h1>")},
        "form-private-hostile.com": {"/": html("<form id='f' action='https://169.254.169.254/latest/meta-data/'"
                                               " method='post'><input name='a' value='b'></form>"
                                               "<script>document.getElementById('f').submit();</script>")},
        "redirect-private-hostile.com": {"/": redirect(admin)},
        "127.0.0.1": {"/admin": html("<h1>the crawler's own network</h1>")},
    }


def only_mapped(web: VirtualWeb, hosts: Iterable[str]) -> str:
    """Host rules sending exactly `hosts` to the virtual web (`MAP *` would map every address,
    private ones included, which the guard then lets through)."""
    rules = [f"MAP {host} 127.0.0.1:{web.port}" for host in hosts if host != "127.0.0.1"]
    return ", ".join([*rules, "MAP update.googleapis.com ~NOTFOUND"])


FLOODS = {
    # 1,000 WebSockets at once (Chromium opens 255 of them), 10 of them flooded with messages;
    # 5 EventSources, likewise (a flood faster than DevTools can report holds the cut up: the
    # visit then ends through its step timeouts)
    "ws-flood-hostile.com": {"/": html("<h1>ws</h1><script>for (var i = 0; i < 1000; i++) {"
                                       " try { new WebSocket('wss://ws-server-hostile.com/' + (i < 10 ? 'flood' : 'quiet') + '?' + i); }"
                                       " catch (e) {} }"
                                       "</script>")},
    "ws-server-hostile.com": {"/flood": Resource(websocket=trickle(b"flood " * 20, 0.001)),
                              "/quiet": Resource(websocket=trickle(b"quiet", 1.0))},
    "es-flood-hostile.com": {"/": html("<h1>es</h1><script>for (var i = 0; i < 5; i++) {"
                                       " new EventSource('/events?' + i).onmessage = function () {}; }</script>"),
                             "/events": Resource(content_type="text/event-stream",
                                                 stream=trickle(b"data: flood\n\n" * 10, 0.005))},
}


def test_bad_text_private_navigations_and_message_floods(tmp_path: Path, postgres_url: str) -> None:
    port: list[int] = []
    sites = {
        "bad-utf8-hostile.com": {"/": Resource(body=BAD_UTF8)},
        "lying-charset-hostile.com": {"/": Resource(body=LYING.encode(), content_type="text/html; charset=utf-16")},
        "surrogates-hostile.com": {"/": html(SURROGATES)},
        **FLOODS,
    }
    web, probe = start_web(sites)
    port.append(web.port)
    web.sites.update(private_navigations(web.port))
    db = postgres_url  # PostgreSQL refuses NUL characters in text, SQLite does not
    targets = [f"https://{host}/" for host in web.sites
               if host.endswith("-hostile.com") and "-server-" not in host and host != "probe-hostile.com"]
    try:
        result = scrapy_crawl(web, db, *targets, NEXT, PROBE, HOSTPAIRS_MAX_MESSAGES=2000, HOSTPAIRS_PAGE_TIMEOUT=5,
                              HOSTPAIRS_HOST_RULES=only_mapped(web, web.sites))
        visits, dependencies = stored_visits(db)
        frame_rows = stored_frames(db)
        assert_crawl_went_on(result, visits, web, probe)
    finally:
        web.stop()
    assert set(visits) == {*targets, NEXT, PROBE}  # every page stored
    # bad text
    for host in ("bad-utf8-hostile.com", "lying-charset-hostile.com", "surrogates-hostile.com"):
        assert visits[f"https://{host}/"].error is None, host
    surrogates = "https://surrogates-hostile.com/"
    assert {f.name for f in frame_rows[surrogates]} == {None, "n\ufffd\ufffd"}
    # navigations of the top frame to private addresses: refused, recorded, the page stays
    refused = {d.url: d.error for url, deps in dependencies.items() if "private" in url for d in deps
               if d.error and d.error.startswith("refused:")}
    admin = f"http://127.0.0.1:{port[0]}/admin"
    assert set(refused) >= {admin, "http://192.168.1.1/", "http://10.0.0.1/", "https://169.254.169.254/latest/meta-data/"}
    for url in ("https://nav-private-hostile.com/", "https://replace-private-hostile.com/",
                "https://refresh-private-hostile.com/", "https://form-private-hostile.com/"):
        assert visits[url].error is None and visits[url].final_url == url, url  # no error page either
    # (refused while it loads, the form's page never reaches DOMContentLoaded: browsed after the page timeout)
    assert visits["https://form-private-hostile.com/"].limits_hit == "page timeout 5 s"
    # the visited URL redirecting there: a redirect hop, which Playwright's routes never see
    assert visits["https://redirect-private-hostile.com/"].error == refused[admin]
    assert not [hit for hit in web.hits if hit[0] == "127.0.0.1"]  # nothing reached the private address
    # floods: cut at the message limit
    for host in ("ws-flood-hostile.com", "es-flood-hostile.com"):
        visit = visits[f"https://{host}/"]
        assert visit.error is None and "messages 2000" in (visit.limits_hit or ""), host


def test_the_links_of_a_page_browsed_despite_its_error_are_followed(tmp_path: Path) -> None:
    """A document that never finishes is browsed after the page timeout (its visit goes through
    the errback): its links are followed like any other page's."""
    sites = {"trickle-links-hostile.com": {
        "/": Resource(body="<html><body><h1>trickle</h1><a href='/next'>next</a>", stream=trickle(b"<p>more</p>", 0.3)),
        "/next": html("<h1>next</h1>")}}
    db = sqlite_url(tmp_path)
    with VirtualWeb(sites) as web:
        result = scrapy_crawl(web, db, "https://trickle-links-hostile.com/", HOSTPAIRS_PAGE_TIMEOUT=3,
                              HOSTPAIRS_LOAD_WAIT=1, HOSTPAIRS_DEPTH=1)
    assert result.returncode == 0, result.stderr[-3000:]
    visits, _ = stored_visits(db)
    assert visits["https://trickle-links-hostile.com/"].limits_hit == "page timeout 3 s"
    assert visits["https://trickle-links-hostile.com/next"].depth == 1
