"""Crawl jobs (`--job DIR`): `kill -9` mid-crawl, then the same command resumes it — the pages
not yet stored are visited, followed links included, none is stored twice."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from hostpairs.demoweb.server import PIXEL, VirtualWeb, html
from hostpairs.storage.models import CrawlRun, Dependency, HostPair, Visit
from tests.conftest import ROOT, engine_for, run_cli, sqlite_url

PAGES = 8
INDEX = "https://www.jobs-news.com/"


def news_site(image_delay: float, article_delay: float = 0.0) -> dict:
    """An index linking to PAGES articles, each loading an image that takes `image_delay` seconds
    (the article itself takes `article_delay`)."""
    links = "".join(f"<a href='/article/{i}'>article {i}</a>" for i in range(PAGES))
    site = {"/": html(f"<h1>news</h1>{links}<img src='https://img.jobs-cdn.net/index.gif'>")}
    for i in range(PAGES):
        site[f"/article/{i}"] = dataclasses.replace(
            html(f"<h1>article {i}</h1><img src='https://img.jobs-cdn.net/{i}.gif'>"), delay=article_delay)
    images = {f"/{i}.gif": dataclasses.replace(PIXEL, delay=image_delay) for i in range(PAGES)}
    return {"www.jobs-news.com": site, "img.jobs-cdn.net": {"/index.gif": PIXEL, **images}}


def stored(db: str) -> list[Visit]:
    engine = engine_for(db)
    with Session(engine) as session:
        visits = list(session.scalars(select(Visit).order_by(Visit.id)))
    engine.dispose()
    return visits


def wait_for(condition: Callable[[], bool], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def start(*args: str) -> subprocess.Popen[str]:
    """`hostpairs ARGS` in a process group of its own (the crawl, Scrapy, Chromium: killed together)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("HOSTPAIRS_DB", None)
    return subprocess.Popen([sys.executable, "-m", "hostpairs", *args], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def kill_group(process: subprocess.Popen[str]) -> None:
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def assert_complete(db: str, visits: list[Visit]) -> None:
    """Each stored visit is whole: its page's document and image, and the pair to the image host."""
    engine = engine_for(db)
    with Session(engine) as session:
        for visit in visits:
            urls = set(session.scalars(select(Dependency.url).where(Dependency.visit_id == visit.id)))
            assert visit.requested_url in urls and any(u.startswith("https://img.jobs-cdn.net/") for u in urls), visit.id
        pairs = {tuple(row) for row in session.execute(select(HostPair.parent, HostPair.child, HostPair.cause))}
    engine.dispose()
    assert ("www.jobs-news.com", "img.jobs-cdn.net", "img.src") in pairs


def test_a_killed_crawl_job_resumes_where_it_was_killed(tmp_path: Path) -> None:
    db, job = sqlite_url(tmp_path), tmp_path / "job"
    with VirtualWeb(news_site(image_delay=1.5)) as web:
        command = ("crawl", INDEX, "--job", str(job), "--depth", "1", "--db", db, "--host-rules", web.host_rules,
                   "--dwell", "0.2", "--load-wait", "5")
        crawl = start(*command)
        try:
            wait_for(lambda: len(stored(db)) >= 3)
        finally:
            kill_group(crawl)
        before = stored(db)
        assert len(before) < PAGES + 1  # killed mid-crawl
        assert_complete(db, before)
        job_id = json.loads((job / "job.json").read_text())["id"]
        # another job's command on the same directory is refused, in one line
        other = run_cli("crawl", "https://other.jobs-news.com/", "--job", str(job), "--db", db)
        assert other.returncode == 2 and "was started with other depth, targets: run the same command" in other.stderr
        assert len(other.stderr.strip().splitlines()) == 1
        # the same command again: the crawl resumes
        resumed = run_cli(*command)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming job {job}" in resumed.stderr
    after = stored(db)
    assert Counter(v.requested_url for v in after) == Counter(
        [INDEX, *(f"{INDEX}article/{i}" for i in range(PAGES))])  # every page once: the index's links too
    assert {v.id: v.requested_url for v in after[: len(before)]} == {v.id: v.requested_url for v in before}
    assert {v.job for v in after} == {job_id} and all(v.error is None for v in after)
    assert {v.depth for v in after if v.requested_url != INDEX} == {1}
    assert f"pages: {len(after) - len(before)} " in resumed.stdout
    assert_complete(db, after)
    # run once more: the job is done, nothing is visited again
    again = run_cli(*command, timeout=120)
    assert again.returncode == 0 and "pages: 0 " in again.stdout, again.stderr
    assert len(stored(db)) == len(after)


def test_two_crawls_of_one_job_never_run_at_once(tmp_path: Path) -> None:
    db, job = sqlite_url(tmp_path), tmp_path / "job"
    with VirtualWeb(news_site(image_delay=0, article_delay=10)) as web:
        command = ("crawl", INDEX, "--job", str(job), "--depth", "1", "--db", db, "--host-rules", web.host_rules,
                   "--mode", "static")
        first = start(*command)
        try:
            wait_for(lambda: (job / "job.json").exists() and len(stored(db)) >= 1)
            second = run_cli(*command, timeout=60)
        finally:
            kill_group(first)
    assert second.returncode == 2 and f"job {job} is running in pid" in second.stderr


def test_a_seed_group_run_killed_with_its_watcher_resumes_when_watch_restarts(tmp_path: Path) -> None:
    db, jobs = sqlite_url(tmp_path), tmp_path / "jobs"
    seeds = tmp_path / "seeds.toml"
    urls = ", ".join(f'"{INDEX}article/{i}"' for i in range(PAGES))
    seeds.write_text(f'[groups.news]\nurls = [{urls}]\ninterval = "1h"\n')
    with VirtualWeb(news_site(image_delay=1.0)) as web:
        command = ("watch", str(seeds), "--job", str(jobs), "--db", db, "--host-rules", web.host_rules,
                   "--tick", "0.5", "--dwell", "0.2", "--load-wait", "5")
        watcher = start(*command)
        try:
            wait_for(lambda: len(stored(db)) >= 2)
        finally:
            kill_group(watcher)  # the machine dies: watcher, crawl and browser together
        before = stored(db)
        assert len(before) < PAGES
        [group_jobs] = list(jobs.iterdir())
        [job] = list(group_jobs.iterdir())  # the run's job, left behind by the kill
        job_id = json.loads((job / "job.json").read_text())["id"]
        watcher = start(*command)
        engine = engine_for(db)
        try:
            def finished() -> bool:
                """The run finished and the watcher, seeing its crawl exit, removed the run's job."""
                with Session(engine) as session:
                    run = session.scalar(select(CrawlRun).where(CrawlRun.finished_at.is_not(None)))
                return run is not None and not any(jobs.iterdir())
            wait_for(finished)
        finally:
            kill_group(watcher)
            engine.dispose()
    after = stored(db)
    assert Counter(v.requested_url for v in after) == Counter(f"{INDEX}article/{i}" for i in range(PAGES))
    assert {v.job for v in after} == {job_id} and {v.seed_group for v in after} == {"news"}
    assert_complete(db, after)
