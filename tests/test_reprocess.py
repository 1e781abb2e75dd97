"""`hostpairs reprocess` on SQLite and PostgreSQL: visits stored under older rules are re-derived
from their kept captures — dependencies, pair evidence, host pairs (with first/last seen from the
visits' own times and their counts), trackers — idempotently, one visit at a time; visits without
a kept capture stay as they are."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hostpairs.extractors.capture_codec import decode_capture, encode_capture
from hostpairs.extractors.observations import FrameObservation, PageCapture, RequestObservation
from hostpairs.extractors.records import TrackerRecord
from hostpairs.extractors.visit import extract_visit
from hostpairs.storage.db import open_database, session_factory
from hostpairs.storage.models import Dependency, HostPair, KeptCapture, PairEvidence, Tracker
from hostpairs.storage.writer import store_visit
from tests.conftest import pair_counts, run_cli, sqlite_url

DAY = 86_400
START = 1_767_225_600  # 2026-01-01 00:00 UTC
SHOP, OTHER = "https://www.shop-rp.com/", "https://news-rp.org/"
SHOP_HOST, OTHER_HOST = "www.shop-rp.com", "news-rp.org"
OLD_TRACKER = TrackerRecord("GoogleAnalyticsTrackingId", "UA-9990001-1")


def capture(page: str, started_at: int) -> PageCapture:
    """A visit whose background image an inline style requested (Resource Timing: css)."""
    return PageCapture(page, page, "browser", started_at, started_at + 4, status=200, requests=[
        RequestObservation(page, "document", frame_id="top", frame_chain=("",), is_main_frame=True, status=200,
                           remote_ip="198.51.100.7", started_at=started_at),
        RequestObservation("https://bg.cdn-rp.net/b.png", "image", frame_id="top", frame_chain=(page,),
                           initiator_type="parser", initiator_url=page, fetch_initiator="css", status=200,
                           remote_ip="198.51.100.8", started_at=started_at + 1),
        RequestObservation("https://img.cdn-rp.net/i.png", "image", frame_id="top", frame_chain=(page,),
                           initiator_type="parser", initiator_url=page, fetch_initiator="img", status=200,
                           remote_ip="198.51.100.8", started_at=started_at + 1),
    ], frames=[FrameObservation("top", None, page)])


def store_under_old_rules(sessions: sessionmaker[Session], kept: PageCapture | None, seen: PageCapture) -> None:
    """Store `seen` as the extractors of an older release did: blind to Resource Timing, and
    finding a tracking ID that is not there; keep `kept` as the visit's capture."""
    old = dataclasses.replace(seen, requests=[dataclasses.replace(r, fetch_initiator=None) for r in seen.requests])
    records = extract_visit(old)
    records.trackers.append(OLD_TRACKER)
    store_visit(sessions, records, kept=encode_capture(kept, 0) if kept is not None else None)


def stored(sessions: sessionmaker[Session]) -> dict[str, object]:
    with sessions() as session:
        return {
            "pairs": {(p.parent, p.child, p.cause): (p.first_seen, p.last_seen, p.visit_count)
                      for p in session.scalars(select(HostPair))},
            "causes": sorted(session.execute(select(Dependency.visit_id, Dependency.url, Dependency.cause)).all()),
            "evidence": sorted(session.execute(select(PairEvidence.visit_id, HostPair.child, HostPair.cause)
                                               .join(HostPair)).all()),
            "trackers": {(t.hostname, t.attribute_value): t.visit_count for t in session.scalars(select(Tracker))},
            "counts": pair_counts(session),
        }


def at(day: int) -> datetime:
    return datetime.fromtimestamp(START + day * DAY, timezone.utc).replace(tzinfo=None)


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_reprocess_rederives_stored_visits_from_their_captures(kind: str, tmp_path, request: pytest.FixtureRequest) -> None:  # noqa: ANN001
    db = sqlite_url(tmp_path) if kind == "sqlite" else request.getfixturevalue("postgres_url")
    sessions = session_factory(open_database(db))
    for day in (0, 1):
        store_under_old_rules(sessions, capture(SHOP, START + day * DAY), capture(SHOP, START + day * DAY))
    store_under_old_rules(sessions, None, capture(SHOP, START + 2 * DAY))  # stored before captures were kept
    store_under_old_rules(sessions, capture(OTHER, START + 3 * DAY), capture(OTHER, START + 3 * DAY))
    before = stored(sessions)
    assert before["pairs"][(SHOP_HOST, "bg.cdn-rp.net", "img.src")] == (at(0), at(2), 3)

    result = run_cli("reprocess", "--url", SHOP, "--since", "2026-01-01", "--db", db)
    assert result.returncode == 0, result.stderr
    assert ("reprocessed 2 visits: 2 with different records (host pair observations +2 −2); "
            "1 without a complete kept capture left as they are") in result.stdout
    after = stored(sessions)
    # the shop's two kept visits now say css.import, seen on their own days; the visit without a
    # capture and the other page's still say img.src, whose first/last seen their evidence gives
    assert after["pairs"][(SHOP_HOST, "bg.cdn-rp.net", "css.import")] == (at(0), at(1), 2)
    assert after["pairs"][(SHOP_HOST, "bg.cdn-rp.net", "img.src")] == (at(2), at(2), 1)
    assert after["pairs"][(OTHER_HOST, "bg.cdn-rp.net", "img.src")] == (at(3), at(3), 1)
    assert after["pairs"][(SHOP_HOST, "img.cdn-rp.net", "img.src")] == (at(0), at(2), 3)
    assert [cause for visit_id, url, cause in after["causes"] if url.endswith("/b.png")] == [
        "css.import", "css.import", "img.src", "img.src"]
    assert after["trackers"] == {(SHOP_HOST, "UA-9990001-1"): 1, (OTHER_HOST, "UA-9990001-1"): 1}
    stored_counts, counted = after["counts"]
    assert {k: v for k, v in stored_counts.items() if v} == counted

    again = run_cli("reprocess", "--db", db)  # every kept capture: the shop's again, and the other page's
    assert "reprocessed 3 visits: 1 with different records" in again.stdout
    final = stored(sessions)
    assert final["pairs"][(OTHER_HOST, "bg.cdn-rp.net", "css.import")] == (at(3), at(3), 1)
    assert (OTHER_HOST, "bg.cdn-rp.net", "img.src") not in final["pairs"]
    assert final["trackers"] == {(SHOP_HOST, "UA-9990001-1"): 1}
    stored_counts, counted = final["counts"]
    assert {k: v for k, v in stored_counts.items() if v} == counted
    assert "reprocessed 3 visits: 0 with different records" in run_cli("reprocess", "--db", db).stdout
    assert stored(sessions) == final  # idempotent

    assert run_cli("reprocess", "--url", "https://never-rp.com/", "--db", db).returncode == 2
    assert run_cli("reprocess", "--since", "yesterday", "--db", db).returncode == 2


def test_a_capture_over_its_cap_is_kept_incomplete_and_never_rederived(tmp_path) -> None:  # noqa: ANN001
    big = dataclasses.replace(capture(SHOP, START), html="<p>" + "x" * 400_000 + "</p>" + "".join(
        f"<i>{n}</i>" for n in range(50_000)))
    whole = encode_capture(big, 0)
    assert whole.complete and decode_capture(whole.data) == dataclasses.replace(big, screenshot=None)
    capped = encode_capture(big, 20_000)
    assert not capped.complete and len(capped.data) <= 20_000
    assert decode_capture(capped.data).requests == big.requests and decode_capture(capped.data).html == ""
    sessions = session_factory(open_database(sqlite_url(tmp_path)))
    store_visit(sessions, extract_visit(big), kept=capped)
    with sessions() as session:
        assert session.scalars(select(KeptCapture.complete)).one() is False
    result = run_cli("reprocess", "--db", sqlite_url(tmp_path))
    assert "reprocessed 0 visits" in result.stdout and "1 without a complete kept capture" in result.stdout
