"""The script inventory's storage on SQLite and PostgreSQL, without a browser: versions and
their bodies kept, authorisations in force, the report's checks — through `record_visit`, as a
crawl of a page tagged payment stores it."""

from __future__ import annotations

import hashlib
import json
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from hostpairs.api.inventory_report import group_report, page_scripts
from hostpairs.crawler.recording import AlertPolicy, record_visit
from hostpairs.extractors.changes import PageWatch
from hostpairs.extractors.observations import PageCapture, RequestObservation, ScriptElementObservation
from hostpairs.storage.db import open_database, session_factory
from hostpairs.storage.inventory import authorize, known_versions
from hostpairs.storage.models import Alert
from tests.conftest import served_api, sqlite_url

PAGE = "https://pay.store-inv.com/checkout"
START = 1_767_225_600  # 2026-01-01 00:00 UTC
POLICY = AlertPolicy(PageWatch(frozenset({"payment"}), inventory=True), seed_group="checkout")
LIB_V1 = "".join(f"lib.f{i} = function (a) {{ return a + {i}; }};\n" for i in range(60))
LIB_V2 = LIB_V1.replace("a + 7;", "a + 7 + 0;")


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def visit(started: int, lib: str, csp: str) -> PageCapture:
    requests = [
        RequestObservation(PAGE, "document", frame_id="top", frame_chain=("",), is_main_frame=True, status=200),
        RequestObservation("https://cdn.lib-inv.net/lib.js", "script", frame_id="top", frame_chain=(PAGE,), status=200,
                           initiator_type="parser", body_sha256=sha(lib)),
    ]
    return PageCapture(PAGE, PAGE, "browser", started, started + 3, status=200, requests=requests, seed_group="checkout",
                       response_headers={"content-security-policy": csp},
                       script_elements=[ScriptElementObservation((PAGE,), "https://cdn.lib-inv.net/lib.js"),
                                        ScriptElementObservation((PAGE,), None, inline_sha256=sha("var inline;"))],
                       script_bodies={sha(lib): lib, sha("var inline;"): "var inline;"})


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_versions_authorisations_and_the_report_on_both_databases(kind: str, tmp_path, request: pytest.FixtureRequest) -> None:  # noqa: ANN001
    db = sqlite_url(tmp_path) if kind == "sqlite" else request.getfixturevalue("postgres_url")
    sessions = session_factory(open_database(db))
    assert record_visit(sessions, visit(START, LIB_V1, "script-src 'self' https:"), POLICY).alerts == 0
    with sessions.begin() as session:
        authorize(session, "cdn.lib-inv.net", "host", None, "the checkout library", "ana",
                  datetime.fromtimestamp(START + 60, timezone.utc).replace(tzinfo=None))
    stored = record_visit(sessions, visit(START + 3600, LIB_V2, "script-src 'self' https: 'unsafe-inline'"), POLICY)
    with sessions() as session:
        alerts = {a.kind: a for a in session.scalars(select(Alert))}
        scripts = {s["script"]: s for s in page_scripts(session, PAGE)}
        versions = known_versions(session, PAGE)
        report = group_report(session, "checkout", None, datetime.fromtimestamp(START + 7200, timezone.utc).replace(tzinfo=None))
    assert stored.alerts == 3 and set(alerts) == {"script_changed", "unauthorized_script", "header_changed"}
    assert alerts["script_changed"].severity == "low"  # a version bump of an authorised library
    assert alerts["unauthorized_script"].child_url == f"{PAGE}#inline:{sha('var inline;')}"
    assert alerts["header_changed"].severity == "high"  # 'unsafe-inline' added
    lib = scripts["https://cdn.lib-inv.net/lib.js"]
    assert (lib["status"], lib["party"], len(lib["versions"])) == ("authorized", "third", 2)
    assert [v.sha256 for v in versions["https://cdn.lib-inv.net/lib.js"]] == [sha(LIB_V1), sha(LIB_V2)]
    assert versions["https://cdn.lib-inv.net/lib.js"][0].body == LIB_V1  # kept whole, to diff the next one with
    assert [[s["authorized"] for s in check["scripts"]] for check in report["checks"]] == [[False, False], [True, False]]
    assert report["checks"][1]["securityHeaders"] == {"content-security-policy": "script-src 'self' https: 'unsafe-inline'"}

    with served_api("--db", db) as base:
        with urllib.request.urlopen(f"{base}/api/v1/scripts?{urllib.parse.urlencode({'page': PAGE})}", timeout=30) as answer:
            assert {s["script"]: s["status"] for s in json.loads(answer.read())["scripts"]} == {
                "https://cdn.lib-inv.net/lib.js": "authorized", f"inline:{sha('var inline;')}": "unauthorized"}
        with urllib.request.urlopen(f"{base}/api/v1/scripts/report?group=checkout&format=html", timeout=30) as answer:
            assert answer.headers["Content-Type"].startswith("text/html") and b"the checkout library" in answer.read()
        try:
            urllib.request.urlopen(f"{base}/api/v1/scripts/report?group=nobody", timeout=30)
        except urllib.error.HTTPError as refused:
            assert refused.code == 404 and json.loads(refused.read()) == {"message": "no visit of seed group 'nobody'"}
        else:
            raise AssertionError("a group never visited was answered")
