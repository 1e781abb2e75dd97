"""The distributed crawl on the real Redis and PostgreSQL: `crawl --frontier` queues, any number of
`hostpairs worker`s share the visits through leases, a worker killed with `kill -9` loses nothing."""

from __future__ import annotations

import dataclasses
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import redis
from sqlalchemy import select
from sqlalchemy.orm import Session

from hostpairs.demoweb.server import PIXEL, VirtualWeb, html, js
from hostpairs.storage.models import CrawlRun, HostPair, SeedGroupState, Visit
from tests.conftest import ROOT, engine_for, run_cli

SITES = [f"www.dist-{letter}.com" for letter in "abcdef"]
ARTICLES = 5


def distributed_web(article_delay: float = 0.0) -> VirtualWeb:
    """Six sites, each an index linking to five articles, each article linking back to the index and
    on to the next article (pages found again and again: a run visits each once); every page loads
    a script of its site's CDN and the index an image: 36 pages."""
    sites: dict = {}
    for number, site in enumerate(SITES):
        cdn = f"js.cdn-{number}.net"
        links = "".join(f"<a href='/article/{i}'>article {i}</a>" for i in range(ARTICLES))
        pages = {"/": html(f"<h1>{site}</h1>{links}<script src='https://{cdn}/app.js'></script>"
                           f"<img src='https://img.shared-pix.net/{number}.gif'>")}
        for i in range(ARTICLES):
            pages[f"/article/{i}"] = dataclasses.replace(
                html(f"<h1>article {i}</h1><a href='/'>home</a><a href='/article/{(i + 1) % ARTICLES}'>next</a>"
                     f"<script src='https://{cdn}/app.js'></script>"), delay=article_delay)
        sites[site] = pages
        sites[cdn] = {"/app.js": js("window.loaded = true;")}
    sites["img.shared-pix.net"] = {f"/{number}.gif": PIXEL for number in range(len(SITES))}
    return VirtualWeb(sites)


def every_page() -> list[str]:
    return [url for site in SITES for url in (f"https://{site}/", *(f"https://{site}/article/{i}" for i in range(ARTICLES)))]


def start_worker(*args: str) -> subprocess.Popen[str]:
    """`hostpairs worker ARGS` in a process group of its own (with its Chromium)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("HOSTPAIRS_DB", None)
    return subprocess.Popen([sys.executable, "-m", "hostpairs", "worker", *args], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)


def visits(db: str) -> list[Visit]:
    engine = engine_for(db)
    with Session(engine) as session:
        stored = list(session.scalars(select(Visit)))
    engine.dispose()
    return stored


def queue(frontier: str, web: VirtualWeb) -> None:
    result = run_cli("crawl", "--frontier", frontier, *(f"https://{site}/" for site in SITES), "--depth", "2",
                     "--dwell", "0.3", "--load-wait", "3")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"queued {len(SITES)} visits (run "), result.stdout


def test_two_workers_share_one_crawl_and_visit_every_page_once(redis_url: str, postgres_url: str) -> None:
    with distributed_web() as web:
        queue(redis_url, web)
        workers = [start_worker("--frontier", redis_url, "--db", postgres_url, "--host-rules", web.host_rules,
                                "--concurrency", "2", "--exit-when-idle", "3") for _ in range(2)]
        outputs = [worker.communicate(timeout=400) for worker in workers]
    for worker, (stdout, stderr) in zip(workers, outputs):
        assert worker.returncode == 0, stderr
    stored = visits(postgres_url)
    assert Counter(v.requested_url for v in stored) == Counter(every_page())  # each of the 36 pages once
    assert all(v.error is None for v in stored)
    pages_per_worker = [int(stdout.split("pages: ")[1].split()[0]) for stdout, _ in outputs]
    assert sum(pages_per_worker) == len(every_page()) and min(pages_per_worker) > 0, pages_per_worker  # both took part
    engine = engine_for(postgres_url)
    with Session(engine) as session:
        pairs = {(p.parent, p.child, p.cause): p.visit_count for p in session.scalars(select(HostPair))}
    engine.dispose()
    for number, site in enumerate(SITES):  # every pair once, counted once per visit that saw it
        assert pairs[(site, f"js.cdn-{number}.net", "script.src")] == ARTICLES + 1
        assert pairs[(site, "img.shared-pix.net", "img.src")] == 1
    status = run_cli("frontier", "status", "--frontier", redis_url, "--json")
    assert f'"queued": 0, "leased": 0, "done": {len(every_page())}, "failed": 0' in status.stdout, status.stdout


def test_a_worker_killed_mid_crawl_loses_nothing(redis_url: str, postgres_url: str) -> None:
    with distributed_web(article_delay=1.0) as web:
        queue(redis_url, web)
        common = ("--frontier", redis_url, "--db", postgres_url, "--host-rules", web.host_rules, "--lease", "5")
        doomed = start_worker(*common, "--concurrency", "3")
        deadline = time.monotonic() + 180
        while len(visits(postgres_url)) < 8:
            assert time.monotonic() < deadline and doomed.poll() is None, "the first worker stored too little"
            time.sleep(0.2)
        leased = redis.Redis.from_url(redis_url).xpending("hostpairs:visits", "workers")["pending"]
        os.killpg(doomed.pid, signal.SIGKILL)  # the worker and its Chromium, mid-visit
        doomed.communicate()
        assert leased > 0  # it held visits when it died
        before = len(visits(postgres_url))
        survivor = start_worker(*common, "--concurrency", "3", "--exit-when-idle", "3")
        stdout, stderr = survivor.communicate(timeout=400)
    assert survivor.returncode == 0, stderr
    stored = Counter(v.requested_url for v in visits(postgres_url))
    assert set(stored) == set(every_page())  # every page stored, the killed worker's leased ones too
    # a page is visited twice only if the killed worker had stored it without acknowledging it yet
    assert sum(stored.values()) - len(every_page()) <= 3, stored
    assert int(stdout.split("pages: ")[1].split()[0]) == sum(stored.values()) - before


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_redis(port: int, directory: Path) -> subprocess.Popen[bytes]:
    """A redis-server of this test's own (append-only file in `directory`, so a restart keeps the frontier)."""
    server = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(directory),
                               "--appendonly", "yes", "--save", ""], stdout=subprocess.DEVNULL)
    client = redis.Redis(port=port)
    deadline = time.monotonic() + 20
    while True:
        try:
            client.ping()
            return server
        except (redis.ConnectionError, redis.BusyLoadingError):
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.1)


def test_workers_wait_out_a_redis_outage_and_lose_nothing(postgres_url: str, tmp_path: Path) -> None:
    port = free_port()
    server = start_redis(port, tmp_path)
    frontier = f"redis://127.0.0.1:{port}/0"
    try:
        with distributed_web(article_delay=0.5) as web:
            queue(frontier, web)
            worker = start_worker("--frontier", frontier, "--db", postgres_url, "--host-rules", web.host_rules,
                                  "--concurrency", "3", "--exit-when-idle", "3")
            deadline = time.monotonic() + 180
            while len(visits(postgres_url)) < 10:
                assert time.monotonic() < deadline and worker.poll() is None, "the worker stored too little"
                time.sleep(0.2)
            redis.Redis(port=port).shutdown(nosave=True)  # the append-only file keeps the frontier
            server.wait()
            time.sleep(5)  # the visits in flight end, the worker waits for its frontier
            assert worker.poll() is None, "the worker gave up during the outage"
            server = start_redis(port, tmp_path)
            stdout, stderr = worker.communicate(timeout=400)
    finally:
        server.terminate()
        server.wait()
    assert worker.returncode == 0, stderr
    stored = Counter(v.requested_url for v in visits(postgres_url))
    assert stored == Counter(every_page()), stored  # every page, once


SEEDS = f"""
[defaults]
interval = "5m"
[groups.news]
urls = ["https://{SITES[0]}/", "https://{SITES[1]}/"]
depth = 1
max_pages = 5
[groups.small]
urls = ["https://{SITES[2]}/"]
"""


def group_runs(db: str) -> list[tuple[str, int | None, bool, datetime | None]]:
    """Each seed-group run as (group, pages, finished, its group's next run), in start order."""
    engine = engine_for(db)
    with Session(engine) as session:
        states = {s.seed_group: s.next_run_at for s in session.scalars(select(SeedGroupState))}
        runs = [(r.seed_group, r.pages, r.finished_at is not None, states.get(r.seed_group))
                for r in session.scalars(select(CrawlRun).order_by(CrawlRun.id))]
    engine.dispose()
    return runs


def test_seed_groups_through_the_frontier_finish_their_runs_when_their_last_visit_is_stored(
        redis_url: str, postgres_url: str, tmp_path: Path) -> None:
    seeds = tmp_path / "seeds.toml"
    seeds.write_text(SEEDS)
    with distributed_web() as web:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        watcher = subprocess.Popen([sys.executable, "-m", "hostpairs", "watch", str(seeds), "--frontier", redis_url,
                                    "--db", postgres_url, "--tick", "0.5", "--dwell", "0.3", "--load-wait", "3"],
                                   cwd=ROOT, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   start_new_session=True)
        try:
            deadline = time.monotonic() + 60
            while len(group_runs(postgres_url)) < 2:  # the watcher queued both groups' runs
                assert time.monotonic() < deadline and watcher.poll() is None, watcher.stderr.read() if watcher.poll() else ""
                time.sleep(0.2)
            status = run_cli("seeds", "status", "--db", postgres_url)  # queued, no worker yet: in flight all the same
            assert status.stdout.count("(in the frontier)") == 2, status.stdout
            worker = start_worker("--frontier", redis_url, "--db", postgres_url, "--host-rules", web.host_rules,
                                  "--concurrency", "3", "--exit-when-idle", "3")
            stdout, stderr = worker.communicate(timeout=400)
            assert worker.returncode == 0, stderr
            time.sleep(2)  # ticks of the watcher: nothing is due again, nothing is queued twice
            assert watcher.poll() is None
            assert redis.Redis.from_url(redis_url).hgetall("hostpairs:group-runs") == {}
        finally:
            os.killpg(watcher.pid, signal.SIGTERM)
            watcher.communicate()
        runs = group_runs(postgres_url)
        assert [(group, pages, finished) for group, pages, finished, _ in runs] == [
            ("news", 2 + 5, True), ("small", 1, True)]  # news: its 2 pages and 5 followed (its max_pages)
        assert all(next_run > datetime.utcnow() + timedelta(minutes=4) for *_, next_run in runs)
        stored = visits(postgres_url)
        assert Counter(v.seed_group for v in stored) == {"news": 7, "small": 1}

        queued = run_cli("crawl", "--frontier", redis_url, "--seeds", str(seeds), "--group", "small", "--db", postgres_url)
        assert queued.returncode == 0 and queued.stdout.strip() == f"queued 1 visit of seed group small on {redis_url}", (
            queued.stdout + queued.stderr)
        worker = start_worker("--frontier", redis_url, "--db", postgres_url, "--host-rules", web.host_rules,
                              "--exit-when-idle", "2")
        _, stderr = worker.communicate(timeout=400)
        assert worker.returncode == 0, stderr
    assert [(group, pages, finished) for group, pages, finished, _ in group_runs(postgres_url)] == [
        ("news", 7, True), ("small", 1, True), ("small", 1, True)]


def test_a_visit_leased_again_and_again_without_being_stored_is_stored_as_failed(
        redis_url: str, postgres_url: str) -> None:
    from hostpairs.crawler.frontier import Frontier, Visit

    frontier = Frontier(redis_url, lease=1.0)
    frontier.enqueue([Visit("https://www.poison-a.com/", "run1")])
    for attempt in range(3):  # three workers took it and died with it
        time.sleep(1.1)
        [visit] = frontier.take(f"dead-{attempt}")
        assert visit.deliveries == attempt + 1
    time.sleep(1.1)
    worker = start_worker("--frontier", redis_url, "--db", postgres_url, "--lease", "2", "--exit-when-idle", "1")
    stdout, stderr = worker.communicate(timeout=120)
    assert worker.returncode == 0, stderr
    [stored] = visits(postgres_url)
    assert stored.requested_url == "https://www.poison-a.com/"
    assert stored.error.startswith("given up: leased 3 times and never stored"), stored.error
    assert "errors: 1" in stdout
    assert frontier.status().failed == 1 and frontier.status().queued == frontier.status().leased == 0
