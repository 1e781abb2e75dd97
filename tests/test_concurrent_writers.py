"""Several crawler processes storing visits at once into one PostgreSQL database (as the
distributed crawl's workers do) keep every aggregate right: first/last seen and visit counts
equal what the visits themselves say, each pair is counted once in host_pair_counts, each IP's
summary sums its resolutions, and no
writer fails."""

from __future__ import annotations

import multiprocessing
import random
from collections import defaultdict
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from hostpairs.extractors.observations import PageCapture, RequestObservation
from hostpairs.storage.db import open_database
from hostpairs.storage.models import HostPair, Resolution
from hostpairs.storage.times import from_timestamp
from tests.conftest import ip_summaries, pair_counts

WRITERS = 4
VISITS_PER_WRITER = 40
PAGES = [f"https://www.site-{i}.com/" for i in range(4)]
CHILDREN = [f"cdn-{i}.shared-{i % 5}.net" for i in range(40)]


def visits_of(writer: int) -> list[PageCapture]:
    """The visits one writer stores: pages loading a random half of the shared children."""
    rng = random.Random(writer)
    captures = []
    for n in range(VISITS_PER_WRITER):
        page, started = rng.choice(PAGES), 1_700_000_000 + rng.randrange(10_000_000)
        children = rng.sample(CHILDREN, 20)
        captures.append(PageCapture(page, page, "browser", started, started + 5, requests=[
            RequestObservation(page, "document", frame_chain=("",), is_main_frame=True, status=200,
                               remote_ip="198.51.100.7"),
            *(RequestObservation(f"https://{child}/x.js", "script", frame_chain=(page,),
                                 remote_ip=f"203.0.113.{CHILDREN.index(child) % 7}") for child in children)]))
    return captures


def write(url: str, writer: int, start: multiprocessing.synchronize.Event) -> None:
    from hostpairs.crawler.recording import record_visit
    from hostpairs.storage.db import session_factory

    sessions = session_factory(open_database(url))
    start.wait()
    for capture in visits_of(writer):
        record_visit(sessions, capture)


def test_four_writers_upserting_the_same_pairs_keep_first_last_seen_and_counts(postgres_url: str) -> None:
    open_database(postgres_url).dispose()  # migrated once, before the writers race
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    writers = [context.Process(target=write, args=(postgres_url, n, start)) for n in range(WRITERS)]
    for process in writers:
        process.start()
    start.set()
    for process in writers:
        process.join(timeout=300)
    assert [p.exitcode for p in writers] == [0] * WRITERS

    expected_pairs: dict[tuple[str, str], list[datetime]] = defaultdict(list)
    expected_resolutions: dict[tuple[str, str], list[datetime]] = defaultdict(list)
    for writer in range(WRITERS):
        for capture in visits_of(writer):
            seen = from_timestamp(capture.started_at)
            parent = capture.requested_url.split("/")[2]
            expected_resolutions[(parent, "198.51.100.7")].append(seen)
            for request in capture.requests[1:]:
                child = request.url.split("/")[2]
                expected_pairs[(parent, child)].append(seen)
                expected_resolutions[(child, request.remote_ip)].append(seen)
    engine = open_database(postgres_url)
    with Session(engine) as session:
        pairs = {(p.parent, p.child): (p.first_seen, p.last_seen, p.visit_count)
                 for p in session.scalars(select(HostPair).where(HostPair.cause == "script.src"))}
        resolutions = {(r.hostname, r.ip): (r.first_seen, r.last_seen, r.visit_count)
                       for r in session.scalars(select(Resolution))}
        stored_counts, counted = pair_counts(session)
        stored_summaries, summed = ip_summaries(session)
    engine.dispose()
    assert stored_counts == counted  # each new pair counted once, however many writers raced to store it
    assert stored_summaries == summed and summed["203.0.113.0"][0] == 6  # (cdn-0, -7, … -35 share it)
    assert pairs == {key: (min(times), max(times), len(times)) for key, times in expected_pairs.items()}
    assert resolutions == {key: (min(times), max(times), len(times)) for key, times in expected_resolutions.items()}
