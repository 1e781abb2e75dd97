"""Look-ups of "a host and all its subdomains" are answered from an index on both databases (a
range of the reversed-host columns), with PassiveTotal's matching; old databases are migrated."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from hostpairs.storage import queries
from hostpairs.storage.db import open_database, session_factory
from hostpairs.storage.writer import upsert_pairs, upsert_resolutions, upsert_seen
from hostpairs.storage.models import Component, Cookie, HostPair, HostPairCount, Resolution, Tracker, reversed_host
from tests.conftest import database_at_revision, sqlite_url

SEEN = datetime(2026, 11, 1, 12)
CHILDREN = ["misapor.ch", "sap.misapor.ch", "a.sap.misapor.ch", "misapor.ch.evil.com", "notmisapor.ch",
            "xmisapor.ch", "misapor.chx", "sap_misapor.ch"]


def populated(url: str) -> Engine:
    engine = open_database(url)
    with session_factory(engine).begin() as session:
        upsert_pairs(session, sorted((f"www.site-{i}.com", child, "iframe.src") for i, child in enumerate(CHILDREN)),
                     SEEN)
        upsert_resolutions(session, [(child, "203.0.113.7") for child in CHILDREN], SEEN)
        upsert_seen(session, Tracker, ("hostname", "attribute_type", "attribute_value"),
                    [{"hostname": child, "attribute_type": "GoogleAnalyticsTrackingId", "attribute_value": "UA-1-1"}
                     for child in CHILDREN], SEEN)
        upsert_seen(session, Cookie, ("hostname", "cookie_name", "cookie_domain"),
                    [{"hostname": child, "cookie_name": "_ga", "cookie_domain": f".{child}", "third_party": False}
                     for child in CHILDREN], SEEN)
        upsert_seen(session, Component, ("hostname", "category", "label", "version"),
                    [{"hostname": child, "category": "CMS", "label": "WordPress", "version": ""} for child in CHILDREN],
                    SEEN)
    return engine


MATCHED = {"misapor.ch": {"misapor.ch", "sap.misapor.ch", "a.sap.misapor.ch"},
           "sap.misapor.ch": {"sap.misapor.ch", "a.sap.misapor.ch"},
           "ch": {"misapor.ch", "sap.misapor.ch", "a.sap.misapor.ch", "notmisapor.ch", "xmisapor.ch", "sap_misapor.ch"},
           "isapor.ch": set()}


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_host_and_its_subdomains_match_as_passivetotal_matched(kind: str, tmp_path: Path,
                                                                 request: pytest.FixtureRequest) -> None:
    url = sqlite_url(tmp_path) if kind == "sqlite" else request.getfixturevalue("postgres_url")
    engine = populated(url)
    with Session(engine) as session:
        for query, expected in MATCHED.items():
            assert {p.child for p in queries.pairs(session, query, "parents").rows} == expected, query
            assert {r.hostname for r in queries.resolutions(session, query, is_ip=False).rows} == expected, query
            assert {t.hostname for t in queries.host_trackers(session, query).rows} == expected, query
            assert {c.hostname for c in queries.cookies(session, host=query).rows} == expected, query
            assert {c.hostname for c in queries.cookies(session, domain=query).rows} == expected, query
            assert {c.hostname for c in queries.host_components(session, query).rows} == expected, query
        assert {p.parent for p in queries.pairs(session, "site-3.com", "children").rows} == {"www.site-3.com"}
    engine.dispose()


def plan(session: Session, statement: object) -> str:
    """The database's plan for `statement`, as text."""
    dialect = session.get_bind().dialect.name
    compiled = statement.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
    prefix = "EXPLAIN QUERY PLAN " if dialect == "sqlite" else "EXPLAIN "
    return "\n".join(str(row[-1]) for row in session.execute(text(prefix + str(compiled))))


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_subdomain_look_ups_use_an_index(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """No leading-wildcard LIKE: each look-up is a range of an index (PostgreSQL is told not to
    scan its tiny tables, to show which index it can use)."""
    from sqlalchemy import select

    url = sqlite_url(tmp_path) if kind == "sqlite" else request.getfixturevalue("postgres_url")
    engine = populated(url)
    looked_up = {
        "ix_host_pairs_child_reversed": select(HostPair).where(queries.host_filter(HostPair.child_reversed, "misapor.ch")),
        "ix_host_pairs_parent_reversed": select(HostPair).where(queries.host_filter(HostPair.parent_reversed, "site-1.com")),
        "ix_resolutions_hostname_reversed": select(Resolution).where(
            queries.host_filter(Resolution.hostname_reversed, "misapor.ch")),
        "ix_trackers_hostname_reversed": select(Tracker).where(queries.host_filter(Tracker.hostname_reversed, "misapor.ch")),
        "ix_cookies_cookie_domain_reversed": select(Cookie).where(
            queries.host_filter(Cookie.cookie_domain_reversed, "misapor.ch")),
        "ix_components_hostname_reversed": select(Component).where(
            queries.host_filter(Component.hostname_reversed, "misapor.ch")),
    }
    with Session(engine) as session:
        if kind == "postgresql":
            session.execute(text("SET enable_seqscan = off"))
        for index, statement in looked_up.items():
            assert index in plan(session, statement), (index, plan(session, statement))
    engine.dispose()


def test_a_database_from_before_is_migrated_with_its_reversed_hosts(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    database_at_revision(url, "0006", "INSERT INTO host_pairs (parent, child, cause, first_seen, last_seen, visit_count) "
                                      "VALUES ('www.bank.com', 'sap.misapor.ch', 'iframe.src', '2026-11-01', '2026-11-02', 2)",
                         "INSERT INTO resolutions (hostname, ip, first_seen, last_seen, visit_count) VALUES "
                         "('www.bank.com', '203.0.113.7', '2026-11-01', '2026-11-02', 2), "
                         "('sap.misapor.ch', '203.0.113.7', '2026-10-01', '2026-11-01', 1)")
    engine = open_database(url)
    with Session(engine) as session:
        [pair] = queries.pairs(session, "misapor.ch", "parents").rows
        stored = session.scalars(select(HostPair)).one()
        counts = {(c.direction, c.host_reversed): c.pairs for c in session.scalars(select(HostPairCount))}
        by_ip = queries.resolutions(session, "203.0.113.7", is_ip=True)
    engine.dispose()
    assert pair.parent == "www.bank.com"
    assert (stored.child_reversed, stored.parent_reversed, stored.visit_count) == ("ch.misapor.sap.", "com.bank.www.", 2)
    assert counts == {("parents", "ch.misapor.sap."): 1, ("children", "com.bank.www."): 1}
    assert (by_ip.total, by_ip.first_seen, by_ip.last_seen) == (2, datetime(2026, 10, 1), datetime(2026, 11, 2))


POPULAR = "www.googletagmanager.com"


def with_a_popular_child(url: str, parents: int) -> Engine:
    """`parents` sites all loading POPULAR (and some a subdomain of it), each a day apart."""
    engine = open_database(url)
    with session_factory(engine).begin() as session:
        for day in range(parents):
            upsert_pairs(session, [(f"www.site-{day}.com", POPULAR, "script.src")]
                         + ([(f"www.site-{day}.com", f"cdn.{POPULAR}", "img.src")] if day % 7 == 0 else []),
                         SEEN + timedelta(days=day))
    return engine


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_pages_cover_every_pair_once_in_a_stable_order_with_an_exact_total(
        kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    url = sqlite_url(tmp_path) if kind == "sqlite" else request.getfixturevalue("postgres_url")
    engine = with_a_popular_child(url, 700)
    expected = 700 + 100
    with Session(engine) as session:
        pages = [queries.pairs(session, "googletagmanager.com", "parents", paging=queries.Paging(page, 300))
                 for page in range(4)]
        again = queries.pairs(session, "googletagmanager.com", "parents", paging=queries.Paging(1, 300))
        windowed = queries.pairs(session, "googletagmanager.com", "parents",
                                 window=queries.Window(SEEN + timedelta(days=600), SEEN + timedelta(days=650)),
                                 paging=queries.Paging(0, 20))
        default = queries.pairs(session, "googletagmanager.com", "parents")
    engine.dispose()
    assert [page.total for page in pages] == [expected] * 4
    assert [len(page.rows) for page in pages] == [300, 300, 200, 0]
    keys = [(reversed_host(p.child), p.parent, p.cause) for page in pages for p in page.rows]
    assert len(set(keys)) == expected and keys == sorted(keys)
    assert again.rows == pages[1].rows
    assert windowed.total == 51 + 7 and len(windowed.rows) == 20  # days 600..650, and 7 of them (602..644) multiples of 7
    assert len(default.rows) == expected == default.total  # 2,000 a page by default


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_page_is_read_off_the_index_in_order(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """No sort of all of a popular child's parents for its first page, and a time window filters
    on the index alone (PostgreSQL, on its tiny table, is told to avoid scans and sorts it can
    avoid: it sorts only if the index cannot give the order)."""
    from sqlalchemy import func, select

    url = sqlite_url(tmp_path) if kind == "sqlite" else request.getfixturevalue("postgres_url")
    engine = with_a_popular_child(url, 50)
    condition = queries.host_filter(HostPair.child_reversed, "googletagmanager.com")
    first_page = (select(HostPair).where(condition)
                  .order_by(HostPair.child_reversed, HostPair.parent, HostPair.cause).limit(2000))
    windowed_count = select(func.count()).select_from(HostPair).where(condition, HostPair.last_seen >= SEEN)
    with Session(engine) as session:
        if kind == "postgresql":
            for setting in ("enable_seqscan", "enable_bitmapscan", "enable_sort"):
                session.execute(text(f"SET {setting} = off"))
        page_plan, count_plan = plan(session, first_page), plan(session, windowed_count)
    engine.dispose()
    assert "ix_host_pairs_child_reversed" in page_plan, page_plan
    assert "TEMP B-TREE" not in page_plan and "Sort" not in page_plan, page_plan
    assert "ix_host_pairs_child_reversed" in count_plan, count_plan
    if kind == "sqlite":
        assert "COVERING INDEX" in count_plan, count_plan
    else:
        assert "Index Only Scan" in count_plan, count_plan
