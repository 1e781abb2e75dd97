"""README safety promises, end to end in real Chromium: `--allow-private`, the visit's hard cap
(HOSTPAIRS_VISIT_TIMEOUT), service workers blocked, the guard failing closed when the capture
cannot start, and the connection check refusing a host the browser reached at a private address
its own lookup chose (DNS rebinding)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from hostpairs.crawler.settings import HOSTPAIRS_CHROMIUM
from hostpairs.demoweb.server import PIXEL, Resource, VirtualWeb, html, js, trickle
from tests.conftest import ROOT, run_cli, sqlite_url, visits_and_dependencies

# No host name leaves the machine. Chromium applies host rules to IP literals too, so the
# loopback address the tests visit is excluded.
NOWHERE = "EXCLUDE 127.0.0.1, MAP * ^NOTFOUND"



def paths_served(web: VirtualWeb, host: str) -> list[str]:
    return [path for served_host, path in web.hits if served_host == host]


@pytest.mark.parametrize("mode", ["browser", "static"])
def test_allow_private_is_what_lets_an_unmapped_loopback_target_through(mode: str, tmp_path: Path) -> None:
    sites = {"127.0.0.1": {"/admin": html("<h1>router admin</h1><img src='/status.gif'>"), "/status.gif": PIXEL}}
    with VirtualWeb(sites) as web:
        target = f"http://127.0.0.1:{web.port}/admin"
        refused_db, allowed_db = sqlite_url(tmp_path, "refused.db"), sqlite_url(tmp_path, "allowed.db")
        refused = run_cli("crawl", target, "--mode", mode, "--dwell", "0.5", "--host-rules", NOWHERE, "--db", refused_db)
        served_when_refused = list(web.hits)
        allowed = run_cli("crawl", target, "--mode", mode, "--dwell", "0.5", "--host-rules", NOWHERE, "--db", allowed_db,
                          "--allow-private")
        served_when_allowed = paths_served(web, "127.0.0.1")
    assert refused.returncode == 0, refused.stderr
    assert served_when_refused == []  # not even the page
    assert "errors: 1" in refused.stdout
    reason = "refused: 127.0.0.1 is a non-public address (127.0.0.1); map it with --host-rules or pass --allow-private"
    assert f"failed: {target} — {reason}" in refused.stdout
    visits, _ = visits_and_dependencies(refused_db)
    assert {url: v.error for url, v in visits.items()} == {target: reason}

    assert allowed.returncode == 0, allowed.stderr
    assert "errors: 0" in allowed.stdout and "failed:" not in allowed.stdout
    visits, dependencies = visits_and_dependencies(allowed_db)
    assert visits[target].error is None and visits[target].status == 200
    assert served_when_allowed[0] == "/admin"
    if mode == "browser":  # the page's own requests go through too
        assert "/status.gif" in served_when_allowed
        [image] = [d for d in dependencies if d.url == target.replace("/admin", "/status.gif")]
        assert image.status == 200 and image.error is None and image.remote_ip == "127.0.0.1"


def scrapy_crawl(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """`scrapy crawl hostpairs ARGS` from the repository root, as the README shows."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    env.pop("HOSTPAIRS_DB", None)
    return subprocess.run([sys.executable, "-m", "scrapy", "crawl", "hostpairs", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_a_visit_is_cut_at_the_visit_timeout_and_recorded_as_timed_out(tmp_path: Path) -> None:
    page = ("<h1>endless</h1><img src='/early.gif'>"
            "<script>setTimeout(function () { new Image().src = '/later.gif'; }, 500);</script>")
    sites = {"slow-visit-tt.com": {"/": html(page), "/early.gif": PIXEL, "/later.gif": PIXEL}}
    db = sqlite_url(tmp_path)
    with VirtualWeb(sites) as web:
        result = scrapy_crawl("-a", "targets=https://slow-visit-tt.com/", "-s", f"HOSTPAIRS_DB={db}",
                              "-s", f"HOSTPAIRS_HOST_RULES={web.host_rules}",
                              "-s", "HOSTPAIRS_DWELL=120", "-s", "HOSTPAIRS_VISIT_TIMEOUT=3")
    assert result.returncode == 0, result.stderr[-2000:]
    visits, dependencies = visits_and_dependencies(db)
    visit = visits["https://slow-visit-tt.com/"]
    assert visit.error == "visit timed out"
    assert 3 <= (visit.finished_at - visit.started_at).total_seconds() < 30  # the 120 s dwell was cut
    # what the visit saw before the cap is kept
    assert {"https://slow-visit-tt.com/early.gif", "https://slow-visit-tt.com/later.gif"} <= {d.url for d in dependencies}


SERVICE_WORKER_PAGE = """<h1>offline-first</h1><script>
navigator.serviceWorker.register('/sw.js').then(function (registration) {
  return registration ? '/sw-registered.gif' : '/sw-not-registered.gif';
}, function () { return '/sw-register-failed.gif'; }).then(function (path) { new Image().src = path; });
</script>"""
SERVICE_WORKER = """self.addEventListener('install', function () { fetch('/sw-install'); });
fetch('/sw-started');"""


def test_service_workers_never_run(tmp_path: Path) -> None:
    """http://127.0.0.1 is a secure context, where Chromium would register and run the worker
    (the virtual web's self-signed HTTPS is not: there registration fails on its own); reaching it
    takes --allow-private. The page's register() settles, and the worker script is never even fetched."""
    sites = {"127.0.0.1": {"/": html(SERVICE_WORKER_PAGE), "/sw.js": js(SERVICE_WORKER), "/sw-install": PIXEL,
                           "/sw-started": PIXEL, "/sw-registered.gif": PIXEL, "/sw-not-registered.gif": PIXEL,
                           "/sw-register-failed.gif": PIXEL}}
    db = sqlite_url(tmp_path)
    with VirtualWeb(sites) as web:
        target = f"http://127.0.0.1:{web.port}/"
        result = run_cli("crawl", target, "--dwell", "2", "--allow-private", "--host-rules", NOWHERE, "--db", db)
        served = paths_served(web, "127.0.0.1")
    assert result.returncode == 0, result.stderr
    visits, dependencies = visits_and_dependencies(db)
    assert visits[target].error is None
    settled = {"/sw-not-registered.gif", "/sw-register-failed.gif"}
    assert served[0] == "/" and set(served) & settled  # the page did ask for a worker, and was told no
    assert not {"/sw.js", "/sw-started", "/sw-install", "/sw-registered.gif"} & set(served)
    recorded = {"/" + d.url.removeprefix(target) for d in dependencies}
    assert recorded & settled and not {"/sw.js", "/sw-started", "/sw-install", "/sw-registered.gif"} & recorded


# The capture of a visit starts with a DevTools session; this refuses to open one, in the crawl's
# own process (nothing a page does can make that happen, so the fault is injected).
REFUSE_DEVTOOLS = """
import runpy
import playwright.async_api

async def refuse(self, *args, **kwargs):
    raise RuntimeError("DevTools session refused (fault injected by the test)")

playwright.async_api.BrowserContext.new_cdp_session = refuse
runpy.run_module("hostpairs", run_name="__main__")
"""


def test_the_page_is_not_loaded_when_its_capture_cannot_start(tmp_path: Path) -> None:
    sites = {"closed-guard-ff.com": {"/": html("<h1>never loaded</h1><img src='/p.gif'>"), "/p.gif": PIXEL}}
    db = sqlite_url(tmp_path)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    with VirtualWeb(sites) as web:
        result = subprocess.run(
            [sys.executable, "-c", REFUSE_DEVTOOLS, "crawl", "https://closed-guard-ff.com/", "--dwell", "0.5",
             "--host-rules", web.host_rules, "--db", db], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        served = paths_served(web, "closed-guard-ff.com")
    assert result.returncode == 0, result.stderr
    assert served == []  # the page was not loaded at all, nor anything of it
    visits, dependencies = visits_and_dependencies(db)
    error = visits["https://closed-guard-ff.com/"].error
    assert error and error.startswith("browser capture did not start")
    assert "errors: 1" in result.stdout and "failed: https://closed-guard-ff.com/ — browser capture did not start" in result.stdout
    assert dependencies == []


REBOUND = "rebind-zz.test"  # a reserved name: the guard's own lookup finds no address for it


def test_a_host_the_browser_reached_at_a_private_address_is_refused_from_then_on(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The guard looks a host up itself and lets it through (here: no answer; the fetch would fail
    on its own); the browser's own lookup then answers 127.0.0.1 — a DNS answer that changed in
    between, as in DNS rebinding. The browser is Chromium behind a wrapper (HOSTPAIRS_CHROMIUM)
    whose last `--host-resolver-rules`, which Chromium obeys, add `MAP rebind-zz.test ...` to the
    crawl's rules: a mapping the crawler is never told about, so the host is not the operator's
    (no `MAP *` here: that would make every host mapped, hence exempt).
    The connection check must refuse the request that got through and every later one, in this
    visit and the next."""
    page = (f"<script src='https://{REBOUND}/first.js'></script><a href='/next'>next</a>"
            f"<script>addEventListener('load', function () {{ setTimeout(function () {{"
            f" new Image().src = 'https://{REBOUND}/later.gif'; }}, 300); }});</script>")
    sites = {"rebind-page-zz.com": {"/": html(page), "/next": html(f"<img src='https://{REBOUND}/next.gif'>")},
             REBOUND: {"/first.js": js("var first = 1;"), "/later.gif": PIXEL, "/next.gif": PIXEL}}
    db = sqlite_url(tmp_path)
    with VirtualWeb(sites) as web:
        rules = (f"MAP rebind-page-zz.com 127.0.0.1:{web.port}, "
                 "MAP update.googleapis.com ^NOTFOUND")  # the browser's own update check stays home
        browser = tmp_path / "chromium-whose-dns-rebinds"
        browser.write_text(f'#!/bin/sh\nexec "{HOSTPAIRS_CHROMIUM}" "$@" '
                           f'"--host-resolver-rules=MAP {REBOUND} 127.0.0.1:{web.port}, {rules}"\n')
        browser.chmod(0o755)
        monkeypatch.setenv("HOSTPAIRS_CHROMIUM", str(browser))
        result = run_cli("crawl", "https://rebind-page-zz.com/", "--depth", "1", "--dwell", "1.5",
                         "--host-rules", rules, "--db", db)
        served = paths_served(web, REBOUND)
    assert result.returncode == 0, result.stderr
    visits, dependencies = visits_and_dependencies(db)
    assert set(visits) == {"https://rebind-page-zz.com/", "https://rebind-page-zz.com/next"}
    assert all(v.error is None for v in visits.values())
    reason = (f"refused: {REBOUND} connected to non-public address 127.0.0.1 after the guard's lookup "
              "(DNS rebinding?)")
    by_url = {d.url: d for d in dependencies}
    first = by_url[f"https://{REBOUND}/first.js"]
    assert first.error == reason and first.remote_ip == "127.0.0.1"  # the one request that got through
    assert by_url[f"https://{REBOUND}/later.gif"].error == reason  # refused before it left the browser
    assert by_url[f"https://{REBOUND}/next.gif"].error == reason  # and in the next visit
    assert served == ["/first.js"]


WEBSOCKETS = """<h1>sockets</h1><script>
function open(url, tag) {
  var socket = new WebSocket(url);
  socket.onopen = function () { new Image().src = '/opened.gif?' + tag; };
  socket.onerror = function () { new Image().src = '/failed.gif?' + tag; };
}
open('ws://127.0.0.1:PRIVATE/sock', 'literal');
open('ws://localhost:PRIVATE/sock', 'localhost');
open('wss://ws-public-tt.com/sock', 'public');
new Worker(URL.createObjectURL(new Blob(["var s = new WebSocket('ws://127.0.0.1:PRIVATE/sock');"
  + " s.onopen = function () { fetch('https://ws-lna-tt.com/opened.gif?worker'); };"
  + " s.onerror = function () { fetch('https://ws-lna-tt.com/failed.gif?worker'); };"])));
</script>"""


def test_websockets_of_a_public_page_never_reach_a_private_address(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """WebSockets pass no Playwright route and no DevTools interception: Chromium's own Local
    Network Access check refuses them, at the address each connects to (a name that resolves to
    a private address included), for the page and its workers alike. The virtual web is on
    loopback, so the browser is told it is the public internet (`--ip-address-space-overrides`,
    through a wrapper as HOSTPAIRS_CHROMIUM); the private server is another loopback port."""
    private = VirtualWeb({host: {"/sock": Resource(websocket=trickle(b"secret", 0.2, 5))}
                          for host in ("127.0.0.1", "localhost")})
    private.start()
    port = private.port
    sites = {"ws-lna-tt.com": {"/": html(WEBSOCKETS.replace("PRIVATE", str(port))),
                               **{f"/{name}.gif": PIXEL for name in ("opened", "failed")}},
             "ws-public-tt.com": {"/sock": Resource(websocket=trickle(b"public", 0.2, 5))}}
    db = sqlite_url(tmp_path)
    try:
        with VirtualWeb(sites) as web:
            browser = tmp_path / "chromium-on-the-internet"
            browser.write_text(f'#!/bin/sh\nexec "{HOSTPAIRS_CHROMIUM}" "$@" '
                               f'"--ip-address-space-overrides=127.0.0.1:{web.port}=public"\n')
            browser.chmod(0o755)
            monkeypatch.setenv("HOSTPAIRS_CHROMIUM", str(browser))
            rules = (f"MAP ws-lna-tt.com 127.0.0.1:{web.port}, MAP ws-public-tt.com 127.0.0.1:{web.port}, "
                     "MAP update.googleapis.com ^NOTFOUND")
            result = run_cli("crawl", "https://ws-lna-tt.com/", "--dwell", "2", "--host-rules", rules, "--db", db)
            signals = sorted(path for host, path in web.hits if path.endswith(("worker", "literal", "localhost", "public")))
        reached_private = private.hits
    finally:
        private.stop()
    assert result.returncode == 0, result.stderr
    assert reached_private == []  # nothing reached the private server
    assert signals == ["/failed.gif?literal", "/failed.gif?localhost", "/failed.gif?worker", "/opened.gif?public"]
    visits, dependencies = visits_and_dependencies(db)
    assert {d.url for d in dependencies if d.resource_type == "websocket"} >= {
        f"ws://127.0.0.1:{port}/sock", f"ws://localhost:{port}/sock", "wss://ws-public-tt.com/sock"}


WORKERS = """<h1>workers</h1><script>
new Image().src = '/shared-worker-' + typeof SharedWorker + '.gif';
new Worker(URL.createObjectURL(new Blob(["fetch('http://127.0.0.1:PRIVATE/dedicated').catch(function () {});"])));
try { new SharedWorker('/shared.js'); } catch (e) {}
</script>"""


def test_workers_of_a_page_reach_no_private_address(tmp_path: Path) -> None:
    """A dedicated worker's requests pass the page's interception, which refuses the unmapped
    loopback address; a shared worker's would not (it belongs to no page), so pages get none."""
    private = VirtualWeb({"127.0.0.1": {"/dedicated": PIXEL, "/shared": PIXEL}})
    port = private.start().port
    sites = {"workers-pp.com": {"/": html(WORKERS.replace("PRIVATE", str(port))),
                                "/shared.js": js(f"fetch('http://127.0.0.1:{port}/shared');"),
                                **{f"/shared-worker-{kind}.gif": PIXEL for kind in ("function", "undefined")}}}
    db = sqlite_url(tmp_path)
    try:
        with VirtualWeb(sites) as web:
            rules = f"MAP workers-pp.com 127.0.0.1:{web.port}, MAP update.googleapis.com ^NOTFOUND"
            result = run_cli("crawl", "https://workers-pp.com/", "--dwell", "1.5", "--host-rules", rules, "--db", db)
            served = paths_served(web, "workers-pp.com")
        reached_private = private.hits
    finally:
        private.stop()
    assert result.returncode == 0, result.stderr
    assert reached_private == []
    assert "/shared-worker-undefined.gif" in served and "/shared.js" not in served
    _, dependencies = visits_and_dependencies(db)
    dedicated = {d.url: d.error for d in dependencies}[f"http://127.0.0.1:{port}/dedicated"]
    assert dedicated and dedicated.startswith("refused")
