"""Scrapy extensions: seed-group run bookkeeping and alert delivery at the end of a crawl."""

from __future__ import annotations

import logging
import os
import random
import socket

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from sqlalchemy import update
from sqlalchemy.exc import SQLAlchemyError
from twisted.internet import task

from hostpairs.crawler.delivery import deliver_for
from hostpairs.seeds.schedule import schedule_after_run
from hostpairs.storage.db import error_reason, open_database, session_factory
from hostpairs.storage.models import CrawlRun, SeedGroupState
from hostpairs.storage.times import aware, naive, utcnow

logger = logging.getLogger(__name__)


class SeedGroupRuns:
    """Record each seed group's run and, once it finished, when the group is due next.

    A crawl that dies before it finishes leaves its group due, so the next `watch` tick or cron
    invocation runs it again: no crawl is lost, and a finished one is never repeated. While it
    crawls, a run renews its `alive_at` every HOSTPAIRS_RUN_HEARTBEAT seconds, so a watcher on any
    machine can tell a running crawl from a dead one."""

    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        self.run_ids: dict[str, int] = {}
        self.heartbeat = task.LoopingCall(self.beat)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SeedGroupRuns:
        extension = cls(crawler)
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    def spider_opened(self, spider: Spider) -> None:
        groups = getattr(spider, "seed_groups", {})
        if not groups:
            return
        self.sessions = session_factory(open_database(self.crawler.settings.get("HOSTPAIRS_DB")))
        now = utcnow()
        with self.sessions.begin() as session:
            for name in groups:
                run = CrawlRun(seed_group=name, due_at=spider.due_at, started_at=now, host=socket.gethostname(),
                               pid=os.getpid(), alive_at=now, pages=0, errors=0)
                session.add(run)
                state = session.get(SeedGroupState, name) or SeedGroupState(seed_group=name)
                state.last_started_at = now
                session.add(state)
                session.flush()
                self.run_ids[name] = run.id
        self.heartbeat.start(self.crawler.settings.getfloat("HOSTPAIRS_RUN_HEARTBEAT"), now=False)

    def beat(self) -> None:
        """Renew the runs' sign of life (a database hiccup is logged; the next beat tries again)."""
        try:
            with self.sessions.begin() as session:
                session.execute(update(CrawlRun).where(CrawlRun.id.in_(self.run_ids.values())).values(alive_at=utcnow()))
        except SQLAlchemyError as exc:
            logger.warning("seed-group run heartbeat not stored: %s", error_reason(exc))

    def spider_closed(self, spider: Spider, reason: str) -> None:
        if self.heartbeat.running:
            self.heartbeat.stop()
        if not self.run_ids or reason != "finished":
            return
        now = utcnow()
        stats = self.crawler.stats
        rng = random.Random()
        with self.sessions.begin() as session:
            for name, run_id in self.run_ids.items():
                if stats.get_value(f"hostpairs/unstored/{name}", 0):
                    continue  # a visit was lost: the run stays unfinished and its group due, as after a crash
                run = session.get(CrawlRun, run_id)
                run.finished_at = now
                run.pages = stats.get_value(f"hostpairs/pages/{name}", 0)
                run.errors = stats.get_value(f"hostpairs/errors/{name}", 0)
                state = session.get(SeedGroupState, name)
                state.last_finished_at = now
                next_run = schedule_after_run(spider.seed_groups[name], aware(run.due_at or run.started_at),
                                              aware(now), rng)
                state.next_slot_at, state.next_run_at = naive(next_run.slot), naive(next_run.run_at)


class AlertDelivery:
    """Deliver the crawl's alerts when it closes, retrying for HOSTPAIRS_DELIVERY_GRACE seconds."""

    def __init__(self, crawler: Crawler):
        if not (crawler.settings.get("HOSTPAIRS_ALERT_FILE") or crawler.settings.getlist("HOSTPAIRS_WEBHOOKS")):
            raise NotConfigured("no alert destinations")
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> AlertDelivery:
        extension = cls(crawler)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    def spider_closed(self, spider: Spider) -> None:
        sessions = session_factory(open_database(self.crawler.settings.get("HOSTPAIRS_DB")))
        deliver_for(sessions, self.crawler.settings.getfloat("HOSTPAIRS_DELIVERY_GRACE"))
