"""A soak test: 300 visits, hostile pages among normal ones, in one crawl. Every normal page's pairs
are stored, and the crawler (Scrapy, Playwright's driver, Chromium) holds no more memory at the end
than once warmed up, within 20%. Memory is unique memory (USS): pages shared with other processes
(another test's Chromium or Python beside it) count by how many share them, which changes with what
else runs, and a leak is memory of its own. Warmed up means after one visit of every hostile page:
the first of each sets a high-water mark (the crawler's heap after the frame flood, say) that is
not a leak. Each side is the floor of three readings, kind by kind: Playwright's driver is a
Node.js process whose garbage collector lets its heap swing by 80 MB between two readings (measured),
and what a collector can take back is not leaked; a leak raises the floor."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from hostpairs.crawler.memory import UNIQUE, tree_memory
from hostpairs.demoweb.server import PIXEL, Resource, VirtualWeb, html, js, redirect
from hostpairs.storage.models import HostPair, Visit
from tests.conftest import ROOT, engine_for, sqlite_url
from tests.test_hostile_pages import BAD_UTF8, BOMB_WHILE_LOADING, FLOODS, FRAME_FLOOD, STORMS, only_mapped, scrapy_crawl

NORMAL = 210
HOSTILE_FROM = 10
"""Normal visits before the first hostile one (imports, the browser's first start, caches)."""
READ_EVERY = 25
"""Visits between two memory readings, the first once every hostile page has been visited."""
HOSTILE = {
    "alert-loop-hostile.com": STORMS["alert-loop-hostile.com"],
    "dialog-storm-hostile.com": STORMS["dialog-storm-hostile.com"],
    "popup-loop-hostile.com": STORMS["popup-loop-hostile.com"],
    "popup-land-hostile.com": STORMS["popup-land-hostile.com"],
    "download-click-hostile.com": STORMS["download-click-hostile.com"],
    "storm-cdn-hostile.net": STORMS["storm-cdn-hostile.net"],
    "bomb-hostile.com": {"/": html(BOMB_WHILE_LOADING)},
    "frames-hostile.com": {"/": html(FRAME_FLOOD)},
    "frame-src-hostile.net": {"/f": html("<p>f</p>")},
    "loop-redirect-hostile.com": {"/": redirect("/")},
    "bad-utf8-hostile.com": {"/": Resource(body=BAD_UTF8)},
    **FLOODS,
}
HEAVY = ["https://alert-loop-hostile.com/", "https://bomb-hostile.com/", "https://frames-hostile.com/"]
"""Hostile pages that hold a visit for its page timeout or longer: each visited twice."""
CHEAP = [f"https://{host}/" for host in HOSTILE if host.endswith(".com") and f"https://{host}/" not in HEAVY
         and host not in ("popup-land-hostile.com", "ws-server-hostile.com")]


def normal_site(i: int) -> dict:
    """A normal page with a script, an image and a frame from hosts of its own."""
    return {f"www.soak-{i}.com": {"/": html(f"<h1>page {i}</h1><script src='https://cdn.soak-{i}.net/a.js'></script>"
                                            f"<img src='https://img.soak-cdn.net/{i}.gif'>"
                                            f"<iframe src='https://ads.soak-{i % 10}.org/slot'></iframe>")},
            f"cdn.soak-{i}.net": {"/a.js": js("var a = 1;")}}


def expected_pairs(i: int) -> set[tuple[str, str, str]]:
    page = f"www.soak-{i}.com"
    return {(page, f"cdn.soak-{i}.net", "script.src"), (page, "img.soak-cdn.net", "img.src"),
            (page, f"ads.soak-{i % 10}.org", "iframe.src")}


@dataclass
class Checkpoint:
    """A page that, when fetched, reads the crawler's memory (a serial crawl: the visit before
    it has closed its context)."""

    crawler: list[int]
    readings: list[dict[str, int]] = field(default_factory=list)

    def __call__(self, path: str) -> Resource:
        time.sleep(1.0)  # the renderers of the visit before exit
        self.readings.append(tree_memory(self.crawler[0], UNIQUE))
        return html("<h1>checkpoint</h1>")


def targets() -> Iterator[str]:
    """Normal pages, from the HOSTILE_FROM-th on a hostile one after every other (HEAVY and CHEAP
    first, so the warm-up visits each hostile page once), a reading every READ_EVERY visits from
    then on and one at the end."""
    hostile = [*HEAVY, *CHEAP * 12, *HEAVY]
    warm_up = len(HEAVY) + len(CHEAP)  # hostile visits until each hostile page has been visited once
    since_reading = None
    readings = 0
    for i in range(NORMAL):
        page = [f"https://www.soak-{i}.com/"]
        if i >= HOSTILE_FROM and i % 2 == 0 and hostile:
            page.append(f"{hostile.pop(0)}?{i}")  # each one a visit of its own
        for url in page:
            yield url
            warm_up -= "hostile" in url
            if since_reading is not None:
                since_reading += 1
            if since_reading == READ_EVERY or (since_reading is None and warm_up == 0):
                yield f"https://checkpoint-soak.com/{readings}"
                readings, since_reading = readings + 1, 0
    yield f"https://checkpoint-soak.com/{readings}"


def floor(readings: list[dict[str, int]]) -> dict[str, int]:
    """The least memory of each kind over `readings`."""
    return {kind: min(reading[kind] for reading in readings) for kind in readings[0]}


def test_300_visits_mixing_hostile_and_normal_pages_store_every_pair_and_leak_no_memory(tmp_path: Path) -> None:
    crawler: list[int] = []
    checkpoint = Checkpoint(crawler)
    sites = {**HOSTILE, "img.soak-cdn.net": {f"/{i}.gif": PIXEL for i in range(NORMAL)},
             **{f"ads.soak-{i}.org": {"/slot": html("<p>ad</p>")} for i in range(10)},
             "checkpoint-soak.com": {f"/{n}": checkpoint for n in range(NORMAL)}}
    for i in range(NORMAL):
        sites.update(normal_site(i))
    urls = list(targets())
    assert len(urls) >= 300 and not [url for url in urls if "hostile" in url and "?" not in url]
    (tmp_path / "targets.txt").write_text("\n".join(urls) + "\n")
    db = sqlite_url(tmp_path)
    with VirtualWeb(sites) as web:
        settings = {"HOSTPAIRS_DB": db, "HOSTPAIRS_HOST_RULES": only_mapped(web, web.sites), "HOSTPAIRS_DWELL": 0,
                    "HOSTPAIRS_LOAD_WAIT": 1, "HOSTPAIRS_PAGE_TIMEOUT": 5, "HOSTPAIRS_MAX_FRAMES": 200,
                    "HOSTPAIRS_MAX_MESSAGES": 500, "HOSTPAIRS_MAX_PAGES": len(urls), "CONCURRENT_REQUESTS": 1,
                    "SCRAPER_SLOT_MAX_ACTIVE_SIZE": 1, "LOG_LEVEL": "WARNING",
                    "SCHEDULER_PRIORITY_QUEUE": "scrapy.pqueues.ScrapyPriorityQueue"}
        args = ["-a", f"targets={tmp_path / 'targets.txt'}"]
        for name, value in settings.items():
            args += ["-s", f"{name}={value}"]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        env.pop("HOSTPAIRS_DB", None)
        crawl = subprocess.Popen([sys.executable, "-m", "scrapy", "crawl", "hostpairs", *args], cwd=ROOT, env=env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        crawler.append(crawl.pid)
        try:
            _, stderr = crawl.communicate(timeout=1200)
        finally:
            crawl.kill()
    assert crawl.returncode == 0, stderr[-3000:]
    engine = engine_for(db)
    with Session(engine) as session:
        visits = {v.requested_url: v for v in session.scalars(select(Visit))}
        pairs = {tuple(row) for row in session.execute(select(HostPair.parent, HostPair.child, HostPair.cause))}
    engine.dispose()
    assert set(visits) == set(urls)  # every visit stored, the hostile ones too
    for i in range(NORMAL):
        assert visits[f"https://www.soak-{i}.com/"].error is None, i
        assert expected_pairs(i) <= pairs, i
    hostile = {url.split("?")[0]: visits[url] for url in urls if "hostile" in url}
    assert hostile["https://bomb-hostile.com/"].error in ("renderer crashed", "page unresponsive while loading")
    assert "frames 200" in hostile["https://frames-hostile.com/"].limits_hit
    assert "messages 500" in hostile["https://ws-flood-hostile.com/"].limits_hit
    assert "redirects 20" in hostile["https://loop-redirect-hostile.com/"].limits_hit
    readings = checkpoint.readings
    assert len(readings) == sum("checkpoint" in url for url in urls) >= 8
    start, end = floor(readings[:3]), floor(readings[-3:])
    print("memory (USS, MB) by reading:", [sum(reading.values()) >> 20 for reading in readings])
    assert sum(end.values()) <= 1.2 * sum(start.values()), (start, end)


def test_the_browser_is_restarted_every_n_visits_and_the_visits_go_on(tmp_path: Path) -> None:
    sites: dict = {"img.soak-cdn.net": {f"/{i}.gif": PIXEL for i in range(6)},
                   **{f"ads.soak-{i}.org": {"/slot": html("<p>ad</p>")} for i in range(6)}}
    for i in range(6):
        sites.update(normal_site(i))
    db = sqlite_url(tmp_path)
    with VirtualWeb(sites) as web:
        result = scrapy_crawl(web, db, *(f"https://www.soak-{i}.com/" for i in range(5)), HOSTPAIRS_BROWSER_VISITS=2,
                              HOSTPAIRS_BROWSER_MEMORY=0)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stderr.count("restarting the browser: after 2 visits") == 2  # after the 2nd and the 4th
    assert "playwright/browser_count': 3" in result.stderr
    engine = engine_for(db)
    with Session(engine) as session:
        visits = list(session.scalars(select(Visit)))
        pairs = {tuple(row) for row in session.execute(select(HostPair.parent, HostPair.child, HostPair.cause))}
    engine.dispose()
    assert len(visits) == 5 and all(v.error is None for v in visits)
    assert set().union(*(expected_pairs(i) for i in range(5))) <= pairs


def test_the_browser_is_restarted_past_its_memory_bound_and_the_visits_go_on(tmp_path: Path) -> None:
    sites: dict = {"img.soak-cdn.net": {f"/{i}.gif": PIXEL for i in range(13)},
                   **{f"ads.soak-{i}.org": {"/slot": html("<p>ad</p>")} for i in range(10)}}
    for i in range(13):
        sites.update(normal_site(i))
    db = sqlite_url(tmp_path)
    with VirtualWeb(sites) as web:  # any Chromium holds more than 1 MB: read after the 5th and the 10th visit, restarted each time
        result = scrapy_crawl(web, db, *(f"https://www.soak-{i}.com/" for i in range(13)), HOSTPAIRS_BROWSER_VISITS=0,
                              HOSTPAIRS_BROWSER_MEMORY=1, HOSTPAIRS_DWELL=0)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stderr.count("restarting the browser: its processes hold") == 2, result.stderr[-3000:]
    assert "(bound: 1 MB)" in result.stderr and "playwright/browser_count': 3" in result.stderr
    engine = engine_for(db)
    with Session(engine) as session:
        visits = list(session.scalars(select(Visit)))
    engine.dispose()
    assert len(visits) == 13 and all(v.error is None for v in visits)
