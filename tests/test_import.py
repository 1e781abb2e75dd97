"""`hostpairs import`: PassiveTotal-shaped files merged into the store on both databases —
widening and never narrowing first/last seen, marking their source, idempotent, malformed
records reported by line, --strict all or nothing."""

from __future__ import annotations

import gzip
import json
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from hostpairs.crawler.recording import record_visit
from hostpairs.extractors.observations import PageCapture, RequestObservation
from hostpairs.storage.db import open_database, session_factory
from hostpairs.storage.models import Component, Cookie, HostPair, Resolution, Tracker
from tests.conftest import ip_summaries, pair_counts, run_cli, sqlite_url

PAGE = "https://www.bank-a.com/"
PAIRS_CSV = """parent,child,cause,firstSeen,lastSeen
www.bank-a.com,cdn.evil-c.net,script.src,2016-08-20 04:40:34,2016-08-22 07:16:30
www.bank-a.com,frames.evil-c.net,iframe.src,2017-01-01 00:00:00,2017-01-02 00:00:00
WWW.Bank-A.com.,frames.evil-c.net,iframe.src,2016-12-31 00:00:00,2017-01-01 12:00:00
bad host,x.com,script.src,2017-01-01 00:00:00,2017-01-02 00:00:00
www.bank-a.com,x.com,iframe.source,2017-01-01 00:00:00,2017-01-02 00:00:00
www.bank-a.com,late.evil-c.net,script.src,2017-01-03 00:00:00,2017-01-02 00:00:00
www.bank-a.com,js.stripe-pay.com,script.src,2023-11-10 00:00:00,2023-11-20 00:00:00
"""
DNS_RESPONSE = {"queryValue": "evil-c.net", "queryType": "domain", "totalRecords": 3, "pager": None, "results": [
    {"value": "cdn.evil-c.net", "resolve": "203.0.113.9", "resolveType": "ip", "recordType": "A",
     "firstSeen": "2016-01-01 00:00:00", "lastSeen": "2016-02-01 00:00:00"},
    {"value": "evil-c.net", "resolve": "ns1.evil-c.net", "resolveType": "domain", "recordType": "NS",
     "firstSeen": "2016-01-01 00:00:00", "lastSeen": "2016-02-01 00:00:00"},
    {"value": "203.0.113.10", "resolve": "www.evil-c.net", "resolveType": "domain", "recordType": "A",
     "firstSeen": "2016-01-01T00:00:00+02:00", "lastSeen": "2016-02-01 00:00:00"}]}
ATTRIBUTES = [
    {"hostname": "www.bank-a.com", "attributeType": "GoogleAnalyticsTrackingId", "attributeValue": "UA-61048133-2",
     "firstSeen": "2015-10-09 17:05:38", "lastSeen": "2016-01-26 13:47:45"},
    "not a record",
    {"hostname": "www.bank-a.com", "attributeType": "GoogleAnalyticsTrackingId", "attributeValue": "UA-61048133-2"},
]


def crawled(url: str) -> None:
    """One crawled visit (2023-11-14 22:13:20) of a page loading js.stripe-pay.com."""
    sessions = session_factory(open_database(url))
    record_visit(sessions, PageCapture(PAGE, PAGE, "browser", 1_700_000_000, 1_700_000_005, requests=[
        RequestObservation(PAGE, "document", frame_chain=("",), is_main_frame=True, status=200, remote_ip="198.51.100.7"),
        RequestObservation("https://js.stripe-pay.com/v3/", "script", frame_chain=(PAGE,), remote_ip="203.0.113.9")]))


def stored(url: str) -> dict[str, set[tuple]]:
    engine = open_database(url)
    with Session(engine) as session:
        tables = {
            "pairs": {(p.parent, p.child, p.cause, p.first_seen, p.last_seen, p.visit_count, p.imported_from)
                      for p in session.scalars(select(HostPair))},
            "resolutions": {(r.hostname, r.ip, r.first_seen, r.last_seen, r.visit_count, r.imported_from)
                            for r in session.scalars(select(Resolution))},
            "trackers": {(t.hostname, t.attribute_value, t.first_seen, t.last_seen, t.imported_from)
                         for t in session.scalars(select(Tracker))},
            "cookies": {(c.hostname, c.cookie_name, c.cookie_domain, c.third_party, c.imported_from)
                        for c in session.scalars(select(Cookie))},
            "components": {(c.hostname, c.label, c.version, c.imported_from) for c in session.scalars(select(Component))},
        }
    return tables


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return sqlite_url(tmp_path) if request.param == "sqlite" else request.getfixturevalue("postgres_url")


def indexes(url: str) -> set[tuple[str, str]]:
    """The aggregate tables' indexes as the database has them: (name, definition)."""
    engine = open_database(url)
    tables = "('host_pairs', 'resolutions', 'trackers', 'cookies', 'components')"
    with engine.connect() as connection:
        found = set(connection.execute(text(
            f"SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN {tables}" if engine.dialect.name == "postgresql"
            else f"SELECT name, coalesce(sql, '') FROM sqlite_master WHERE type = 'index' AND tbl_name IN {tables}")))
    engine.dispose()
    return found


@pytest.mark.parametrize("bulk", [False, True], ids=["merged", "bulk"])
def test_files_in_passivetotals_shapes_are_merged_and_a_second_import_changes_nothing(database: str, bulk: bool,
                                                                                      tmp_path: Path) -> None:
    crawled(database)
    (tmp_path / "pairs.csv").write_text(PAIRS_CSV)
    (tmp_path / "dns.json").write_text(json.dumps(DNS_RESPONSE))
    with gzip.open(tmp_path / "attributes.jsonl.gz", "wt") as f:
        f.write("\n".join(json.dumps(record) for record in ATTRIBUTES) + "\n{broken\n")
    (tmp_path / "more.jsonl").write_text(json.dumps({"totalRecords": 2, "results": [
        {"hostname": "www.bank-a.com", "cookieName": "_ga", "cookieDomain": ".bank-a.com",
         "firstSeen": "2016-01-01 00:00:00", "lastSeen": "2016-01-02 00:00:00"},
        {"hostname": "www.bank-a.com", "cookieName": "uid", "cookieDomain": "tracker-b.net",
         "firstSeen": "2016-01-01 00:00:00", "lastSeen": "2016-01-02 00:00:00"}]}) + "\n")
    (tmp_path / "components.jsonl").write_text(json.dumps(
        {"hostname": "www.bank-a.com", "category": "CMS", "label": "WordPress", "version": "4.9",
         "firstSeen": "2018-01-01 00:00:00", "lastSeen": "2018-02-01 00:00:00"}) + "\n")
    files = [str(tmp_path / name) for name in ("pairs.csv", "dns.json", "attributes.jsonl.gz", "more.jsonl",
                                               "components.jsonl")]

    indexes_before = indexes(database)
    first = run_cli("import", *files, "--db", database, *(["--bulk"] if bulk else []))
    assert first.returncode == 1, first.stderr  # some records rejected, the rest imported
    assert indexes(database) == indexes_before  # --bulk: dropped and built again
    rejected = [line for line in first.stderr.splitlines() if line.startswith("rejected ")]
    assert rejected == [
        f"rejected {files[0]}:5: parent: not a host name or IP address: 'bad host'",
        f"rejected {files[0]}:6: cause: unknown cause 'iframe.source'",
        f"rejected {files[0]}:7: firstSeen 2017-01-03 00:00:00 is after lastSeen 2017-01-02 00:00:00",
        f"rejected {files[2]}:2: not a record (an object with fields): 'not a record'",
        f"rejected {files[2]}:3: firstSeen and lastSeen: both missing",
        f"rejected {files[2]}:4: not JSON: Expecting property name enclosed in double quotes",
    ]
    assert "1 skipped (not host → IP)" in first.stdout  # the NS record
    after_first = stored(database)
    day = datetime.fromisoformat
    assert after_first["pairs"] == {
        ("www.bank-a.com", "cdn.evil-c.net", "script.src", day("2016-08-20 04:40:34"), day("2016-08-22 07:16:30"),
         0, "pairs.csv"),
        ("www.bank-a.com", "frames.evil-c.net", "iframe.src", day("2016-12-31"), day("2017-01-02"), 0, "pairs.csv"),
        # crawled on 2023-11-14 22:13:20: the import widens it both ways, and its one visit stays one
        ("www.bank-a.com", "js.stripe-pay.com", "script.src", day("2023-11-10"), day("2023-11-20"), 1, "pairs.csv"),
    }
    assert after_first["resolutions"] == {
        ("www.bank-a.com", "198.51.100.7", day("2023-11-14 22:13:20"), day("2023-11-14 22:13:20"), 1, None),
        ("js.stripe-pay.com", "203.0.113.9", day("2023-11-14 22:13:20"), day("2023-11-14 22:13:20"), 1, None),
        ("cdn.evil-c.net", "203.0.113.9", day("2016-01-01"), day("2016-02-01"), 0, "dns.json"),
        ("www.evil-c.net", "203.0.113.10", day("2015-12-31 22:00"), day("2016-02-01"), 0, "dns.json"),
    }
    assert after_first["trackers"] == {("www.bank-a.com", "UA-61048133-2", day("2015-10-09 17:05:38"),
                                        day("2016-01-26 13:47:45"), "attributes.jsonl.gz")}
    assert after_first["cookies"] == {("www.bank-a.com", "_ga", "bank-a.com", False, "more.jsonl"),
                                      ("www.bank-a.com", "uid", "tracker-b.net", True, "more.jsonl")}
    assert after_first["components"] == {("www.bank-a.com", "WordPress", "4.9", "components.jsonl")}

    again = run_cli("import", *files, "--source", "someone else", "--db", database)
    assert again.returncode == 1 and " 0 new or widened" in again.stdout, again.stdout
    assert stored(database) == after_first

    (tmp_path / "narrow.csv").write_text("parent,child,cause,firstSeen,lastSeen\n"
                                         "www.bank-a.com,cdn.evil-c.net,script.src,2016-08-21,2016-08-21\n"
                                         "www.bank-a.com,cdn.evil-c.net,script.src,2016-08-21,2016-09-01\n")
    narrower = run_cli("import", str(tmp_path / "narrow.csv"), "--db", database)
    assert narrower.returncode == 0 and "1 new or widened" in narrower.stdout, narrower.stdout
    pairs = stored(database)["pairs"]
    assert ("www.bank-a.com", "cdn.evil-c.net", "script.src", day("2016-08-20 04:40:34"), day("2016-09-01"),
            0, "pairs.csv") in pairs
    engine = open_database(database)
    with Session(engine) as session:
        stored_counts, counted = pair_counts(session)
        stored_summaries, summed = ip_summaries(session)
    engine.dispose()
    assert stored_counts == counted and stored_counts[("children", "com.bank-a.www.")] == 3
    assert stored_summaries == summed  # crawled and imported resolutions of one IP, summed once each
    assert summed["203.0.113.9"] == (2, day("2016-01-01"), day("2023-11-14 22:13:20"))


def test_a_bulk_import_that_fails_leaves_the_store_as_it_was(database: str, tmp_path: Path) -> None:
    crawled(database)
    before, indexes_before = stored(database), indexes(database)
    assert {"ix_host_pairs_child_reversed", "ix_trackers_value"} <= {name for name, _ in indexes_before}
    good = tmp_path / "good.csv"
    good.write_text(PAIRS_CSV.split("bad host")[0])
    broken = tmp_path / "broken.csv.gz"
    broken.write_bytes(gzip.compress(b"parent,child,cause,firstSeen,lastSeen\n" * 1000)[:-20])  # cut short
    result = run_cli("import", str(good), str(broken), "--bulk", "--db", database)
    assert result.returncode == 2 and "broken.csv.gz" in result.stderr, result.stderr
    assert stored(database) == before  # nothing of good.csv either: one transaction
    assert indexes(database) == indexes_before


def test_strict_stops_at_the_first_malformed_record_and_imports_nothing(database: str, tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    good.write_text(PAIRS_CSV.split("bad host")[0])
    bad = tmp_path / "pairs.csv"
    bad.write_text(PAIRS_CSV)
    result = run_cli("import", str(good), str(bad), "--strict", "--db", database)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: {bad}:5: parent: not a host name or IP address: 'bad host' (--strict: nothing imported)"]
    assert stored(database)["pairs"] == set()
    assert run_cli("import", str(good), "--strict", "--dataset", "pairs", "--db", database).returncode == 0
    assert len(stored(database)["pairs"]) == 2


def test_a_file_of_another_dataset_is_rejected_record_by_record(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    (tmp_path / "dns.json").write_text(json.dumps(DNS_RESPONSE))
    result = run_cli("import", str(tmp_path / "dns.json"), "--dataset", "pairs", "--db", url)
    assert result.returncode == 1
    assert f"rejected {tmp_path / 'dns.json'}:1: record 1: cause: missing" in result.stderr  # line 1 holds the response
    assert "imported 0 records" in result.stdout and "3 rejected" in result.stdout
