"""The Scrapy components on their own, built by `from_crawler` from settings, without a browser:
the storage pipeline, the address guard middleware and the seed-group runs extension, on a real
SQLite database, talking through hostpairs' signals."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from scrapy import Request
from scrapy.exceptions import DropItem, IgnoreRequest
from scrapy.utils.test import get_crawler
from sqlalchemy import Engine, event, func, select, text
from sqlalchemy.orm import Session

from hostpairs.crawler import signals
from hostpairs.crawler.extensions import SeedGroupRuns
from hostpairs.crawler.middlewares import AddressGuardMiddleware
from hostpairs.crawler.pipelines import StoragePipeline
from hostpairs.extractors.observations import PageCapture, RequestObservation
from hostpairs.seeds.validation import load_seed_groups
from hostpairs.storage.db import open_database
from hostpairs.storage.models import CrawlRun, HostPair, SeedGroupState, Visit
from hostpairs.storage.times import utcnow
from hostpairs.storage.writer import StoredVisit
from tests.conftest import sqlite_url

PAGE = "https://www.shop-a.com/"


def capture(seed_group: str | None = None, error: str | None = None) -> PageCapture:
    requests = [RequestObservation(PAGE, "document", frame_chain=("",), is_main_frame=True, status=200),
                RequestObservation("https://cdn-b.net/lib.js", "script", frame_chain=(PAGE,), remote_ip="203.0.113.9")]
    result = PageCapture(PAGE, PAGE, "browser", 1_700_000_000, 1_700_000_005, requests=requests, error=error)
    result.seed_group = seed_group
    return result


def listen(crawler: Any, signal: object) -> list[dict[str, Any]]:
    """Every sending of `signal`, as its keyword arguments."""
    received: list[dict[str, Any]] = []

    def handler(**kwargs: Any) -> None:
        received.append({k: v for k, v in kwargs.items() if k not in ("signal", "sender")})

    crawler.signals.connect(handler, signal=signal, weak=False)
    return received


def database(tmp_path: Path) -> tuple[str, Engine]:
    url = sqlite_url(tmp_path)
    return url, open_database(url)


def test_pipeline_stores_each_visit_on_its_writer_thread_and_says_so(tmp_path: Path) -> None:
    url, engine = database(tmp_path)
    writers: list[str] = []

    @event.listens_for(engine, "connect")
    def note_thread(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.create_function("note_thread", 0, lambda: writers.append(threading.current_thread().name))

    engine.dispose()  # connections opened from now on know note_thread()
    with engine.begin() as connection:
        connection.execute(text("CREATE TRIGGER noted AFTER INSERT ON visits BEGIN SELECT note_thread(); END"))
    crawler = get_crawler(settings_dict={"HOSTPAIRS_DB": url})
    stored = listen(crawler, signals.visit_stored)
    pipeline = StoragePipeline.from_crawler(crawler)

    async def crawl() -> None:
        await pipeline.open_spider()
        item = capture()
        assert await pipeline.process_item(item) is item
        assert await pipeline.process_item({"not": "a visit"}) == {"not": "a visit"}
        await pipeline.close_spider()

    asyncio.run(crawl())
    assert writers and all(name.startswith("hostpairs-writer") for name in writers)
    assert threading.current_thread().name not in writers
    [sent] = stored
    assert sent["capture"].requested_url == PAGE
    assert isinstance(sent["stored"], StoredVisit) and (sent["stored"].new_pairs, sent["stored"].seen_pairs) == (1, 0)
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Visit)) == 1
        assert session.scalars(select(HostPair.child)).all() == ["cdn-b.net"]
    assert crawler.stats.get_value("hostpairs/pages") == 1


def test_pipeline_drops_a_visit_the_database_refuses_and_says_why(tmp_path: Path) -> None:
    url, engine = database(tmp_path)
    with engine.begin() as connection:
        connection.execute(text("CREATE TRIGGER disk_full BEFORE INSERT ON visits BEGIN SELECT RAISE(ABORT, 'disk full'); END"))
    crawler = get_crawler(settings_dict={"HOSTPAIRS_DB": url})
    stored, refused = listen(crawler, signals.visit_stored), listen(crawler, signals.visit_not_stored)
    pipeline = StoragePipeline.from_crawler(crawler)

    async def crawl() -> None:
        await pipeline.open_spider()
        try:
            with pytest.raises(DropItem, match="disk full"):
                await pipeline.process_item(capture("bank"))
        finally:
            await pipeline.close_spider()

    asyncio.run(crawl())
    assert stored == []
    [sent] = refused
    assert sent["capture"].seed_group == "bank" and sent["reason"] == "disk full"


@pytest.mark.parametrize(("settings", "url", "refused"), [
    ({}, "http://127.0.0.1:9/", True),
    ({}, "http://intranet.localhost/", True),
    ({}, "https://[::1]/", True),
    ({"HOSTPAIRS_ALLOW_PRIVATE": True}, "http://127.0.0.1:9/", False),
    ({"HOSTPAIRS_HOST_RULES": "MAP shop-a.com 127.0.0.1:8080"}, "https://shop-a.com/", False),
    ({"HOSTPAIRS_HOST_RULES": "MAP shop-a.com 127.0.0.1:8080"}, "http://10.1.2.3/", True),
    ({}, "data:text/html,hello", False),
])
def test_address_guard_middleware_refuses_unmapped_private_addresses(settings: dict[str, Any], url: str,
                                                                     refused: bool) -> None:
    middleware = AddressGuardMiddleware.from_crawler(get_crawler(settings_dict=settings))

    async def check() -> None:
        if refused:
            with pytest.raises(IgnoreRequest, match="non-public address"):
                await middleware.process_request(Request(url))
        else:
            assert await middleware.process_request(Request(url)) is None

    asyncio.run(check())


SEEDS = """
[groups.bank]
urls = ["https://www.bank-watch.com/"]
interval = "1h"

[groups.shop]
urls = ["https://shop-a.com/"]
interval = "2h"
"""


def test_seed_group_runs_follow_the_signals(tmp_path: Path) -> None:
    url, engine = database(tmp_path)
    (tmp_path / "seeds.toml").write_text(SEEDS)
    groups = {g.name: g for g in load_seed_groups(tmp_path / "seeds.toml")}
    crawler = get_crawler(settings_dict={"HOSTPAIRS_DB": url, "HOSTPAIRS_RUN_HEARTBEAT": 0.2})
    runs = SeedGroupRuns.from_crawler(crawler)
    due = utcnow().replace(second=0, microsecond=0)  # this run's slot

    async def crawl() -> None:
        await crawler.signals.send_catch_log_async(signal=signals.seed_run_started, groups=groups, due_at=due)
        with Session(engine) as session:
            started = {r.seed_group: r.alive_at for r in session.scalars(select(CrawlRun))}
        await asyncio.sleep(0.7)  # a few heartbeats
        with Session(engine) as session:
            assert all(r.alive_at > started[r.seed_group] for r in session.scalars(select(CrawlRun)))
        crawler.signals.send_catch_log(signal=signals.visit_stored, capture=capture("bank"),
                                       stored=StoredVisit(1, 1, 0, 0))
        crawler.signals.send_catch_log(signal=signals.visit_stored, capture=capture("bank", error="timed out"),
                                       stored=StoredVisit(2, 0, 1, 0))
        crawler.signals.send_catch_log(signal=signals.visit_not_stored, capture=capture("shop"), reason="disk full")
        await runs.spider_closed(None, "finished")

    asyncio.run(crawl())
    with Session(engine) as session:
        bank = session.scalars(select(CrawlRun).where(CrawlRun.seed_group == "bank")).one()
        shop = session.scalars(select(CrawlRun).where(CrawlRun.seed_group == "shop")).one()
        bank_state, shop_state = session.get(SeedGroupState, "bank"), session.get(SeedGroupState, "shop")
    assert (bank.due_at, bank.pages, bank.errors) == (due, 2, 1) and bank.finished_at is not None
    assert bank_state.next_slot_at == due + timedelta(hours=1)  # schedules step from the slot
    assert shop.finished_at is None and shop_state.next_run_at is None  # a lost visit leaves the group due
