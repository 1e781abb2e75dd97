"""`hostpairs prune`: visits' evidence is removed past the window, the aggregates never, on both
databases; a host seen only in pruned visits is still known (no "new host" after a prune)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hostpairs.crawler.recording import record_visit
from hostpairs.extractors.observations import FrameObservation, PageCapture, RequestObservation
from hostpairs.storage.alerts import known_hosts
from hostpairs.storage.db import open_database, session_factory
from hostpairs.storage.models import (Dependency, Form, Frame, HostPair, PairEvidence, Resolution, Screenshot, Tracker,
                                      Visit)
from tests.conftest import run_cli, sqlite_url

DAY = 86_400
START = 1_700_000_000  # 2023-11-14 22:13:20


def capture(page: str, started_at: float, script_host: str) -> PageCapture:
    return PageCapture(page, page, "browser", started_at, started_at + 5, html="<script>gtag('config', 'UA-1-1')</script>",
                       requests=[
                           RequestObservation(page, "document", frame_chain=("",), is_main_frame=True, status=200,
                                              remote_ip="198.51.100.7"),
                           RequestObservation(f"https://{script_host}/a.js", "script", frame_chain=(page,),
                                              remote_ip="203.0.113.9")],
                       frames=[FrameObservation("top", None, page)], screenshot=b"\xff\xd8 a screenshot \xff\xd9")


def aggregates(session: Session) -> dict[str, set[tuple]]:
    return {"pairs": {(p.parent, p.child, p.cause, p.first_seen, p.last_seen, p.visit_count)
                      for p in session.scalars(select(HostPair))},
            "resolutions": {(r.hostname, r.ip, r.first_seen, r.last_seen, r.visit_count)
                            for r in session.scalars(select(Resolution))},
            "trackers": {(t.hostname, t.attribute_value, t.first_seen, t.last_seen, t.visit_count)
                         for t in session.scalars(select(Tracker))}}


def evidence_of(session: Session) -> dict[int, int]:
    """Visit id: how many evidence rows it has."""
    counts: dict[int, int] = {}
    for model in (PairEvidence, Dependency, Frame, Form, Screenshot):
        for visit_id, count in session.execute(select(model.visit_id, func.count()).group_by(model.visit_id)):
            counts[visit_id] = counts.get(visit_id, 0) + count
    return counts


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_prune_keeps_the_window_and_every_aggregate(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    url = sqlite_url(tmp_path) if kind == "sqlite" else request.getfixturevalue("postgres_url")
    sessions = session_factory(open_database(url))
    for day in range(5):  # five daily visits of two pages; only the first visit of the bank loads old-cdn-x.net
        record_visit(sessions, capture("https://www.bank-a.com/", START + day * DAY,
                                       "old-cdn-x.net" if day == 0 else "cdn.shop-b.net"), capture_bytes=0)
        record_visit(sessions, capture("https://news-c.org/", START + day * DAY + 60, "cdn.shop-b.net"), capture_bytes=0)
    with sessions() as session:
        before = aggregates(session)
        visit_ids = {v.requested_url: [] for v in session.scalars(select(Visit))}
        for visit in session.scalars(select(Visit).order_by(Visit.started_at)):
            visit_ids[visit.requested_url].append(visit.id)
        assert all(evidence_of(session).get(i) for ids in visit_ids.values() for i in ids)

    dry = run_cli("prune", "--keep-visits", "2", "--dry-run", "--db", url)
    assert dry.returncode == 0 and "would prune the evidence of 6 visits" in dry.stdout, dry.stdout + dry.stderr
    with sessions() as session:
        assert len(evidence_of(session)) == 10

    result = run_cli("prune", "--keep-visits", "2", "--db", url)
    assert result.returncode == 0, result.stderr
    assert ("pruned the evidence of 6 visits (pair evidence: 6, dependencies: 12, frames: 6, forms: 0, screenshots: 6, captures: 6, visit scripts: 0)"
            in result.stdout)
    with sessions() as session:
        kept = set(evidence_of(session))
        assert kept == {i for ids in visit_ids.values() for i in ids[-2:]}
        assert aggregates(session) == before  # first/last seen and visit counts untouched
        assert session.scalar(select(func.count()).select_from(Visit)) == 10
        assert known_hosts(session, ["old-cdn-x.net", "never-seen-z.net"]) == {"old-cdn-x.net"}
    assert run_cli("prune", "--keep-visits", "2", "--db", url).stdout.startswith("pruned the evidence of 0 visits")

    # Both options: the latest visit of each page is kept by --keep-visits 1 though older than the cutoff.
    result = run_cli("prune", "--keep-visits", "1", "--older-than", "2023-11-20", "--db", url)
    assert "pruned the evidence of 2 visits" in result.stdout, result.stdout + result.stderr
    with sessions() as session:
        assert set(evidence_of(session)) == {ids[-1] for ids in visit_ids.values()}
    report = json.loads(run_cli("visit", "https://www.bank-a.com/", "--json", "--db", url).stdout)
    assert report["visit"]["evidencePruned"] is None and report["dependencies"]
    older = run_cli("prune", "--older-than", "1d", "--db", url)
    assert "pruned the evidence of 2 visits" in older.stdout
    report = json.loads(run_cli("visit", "https://www.bank-a.com/", "--json", "--db", url).stdout)
    assert report["visit"]["evidencePruned"] and report["dependencies"] == [] and report["frames"] == []
    assert "its evidence was pruned on" in run_cli("visit", "https://www.bank-a.com/", "--db", url).stdout
    with sessions() as session:
        assert aggregates(session) == before
