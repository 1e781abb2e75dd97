"""The web app's calls (`/api/v1/search`, `/hosts/{host}`, `/hosts/{host}/timeline`, `/visits/{id}`)
on SQLite and PostgreSQL alike: the kind of a typed indicator, a host's facts with trackers shared
by other hosts, the day-by-day timeline from the visits' evidence (first/last seen standing in
once it is pruned), and what changed since the visit before."""

from __future__ import annotations

import json
import time
import urllib.request
from datetime import datetime, timezone

import pytest

from hostpairs.crawler.recording import record_visit
from hostpairs.extractors.observations import CookieObservation, FrameObservation, PageCapture, RequestObservation
from hostpairs.storage.db import open_database, session_factory
from tests.conftest import run_cli, served_api, sqlite_url

DAY = 86_400
NOW = int(time.time())
PAGE = "https://www.pivot-bank.com/"


def capture(started_at: int, injected: bool, tracker: str = "UA-7770001-1", page: str = PAGE) -> PageCapture:
    requests = [RequestObservation(page, "document", frame_chain=("",), is_main_frame=True, status=200,
                                   remote_ip="198.51.100.20"),
                RequestObservation("https://cdn.pivot-cdn.net/app.js", "script", frame_chain=(page,),
                                   remote_ip="198.51.100.21")]
    if injected:
        requests.append(RequestObservation("https://evil.pivot-attacker.ch/x.js", "script", frame_chain=(page,),
                                           remote_ip="203.0.113.66"))
    return PageCapture(page, page, "browser", started_at, started_at + 3, requests=requests,
                       frames=[FrameObservation("top", None, page)],
                       html=f"<script>gtag('config', '{tracker}');</script>",
                       cookies=[CookieObservation("pivot_session", ".pivot-bank.com")], screenshot=b"\xff\xd8\xff shot")


def get(base: str, path: str) -> dict:
    with urllib.request.urlopen(base + path, timeout=30) as response:
        return json.loads(response.read())


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_the_web_apps_calls_on_both_databases(kind: str, tmp_path, request: pytest.FixtureRequest) -> None:  # noqa: ANN001
    db = sqlite_url(tmp_path) if kind == "sqlite" else request.getfixturevalue("postgres_url")
    sessions = session_factory(open_database(db))
    first = record_visit(sessions, capture(NOW - 3 * DAY, injected=False))
    record_visit(sessions, capture(NOW - DAY, injected=True), capture_bytes=0)  # its capture kept: a HAR
    record_visit(sessions, capture(NOW - DAY, injected=False, page="https://shop.pivot-other.com/"))  # shares UA-7770001
    with served_api("--db", db) as base:
        assert get(base, "/api/v1/search?q=UA-7770001-1")["choices"] == [
            {"kind": "tracker", "value": "UA-7770001-1", "label": "Tracker ID"}]
        assert [c["kind"] for c in get(base, "/api/v1/search?q=pivot_session")["choices"]] == ["cookie"]
        assert get(base, "/api/v1/search?q=pivot-bank.com")["choices"] == [
            {"kind": "domain", "value": "pivot-bank.com", "label": "Domain"}]
        assert [c["kind"] for c in get(base, "/api/v1/search?q=203.0.113.66")["choices"]] == ["ip"]

        facts = get(base, "/api/v1/hosts/pivot-bank.com")
        assert {(t["attributeValue"], t["otherHosts"]) for t in facts["trackers"]} >= {("UA-7770001-1", 1)}
        assert [(r["hostname"], r["ip"]) for r in facts["resolutions"]] == [("www.pivot-bank.com", "198.51.100.20")]
        assert [c["cookieName"] for c in facts["cookies"]] == ["pivot_session"]
        assert len(facts["visits"]) == 2

        today = datetime.now(timezone.utc).date()
        timeline = get(base, "/api/v1/hosts/www.pivot-bank.com/timeline?days=5")
        assert timeline["days"][-1] == today.isoformat() and len(timeline["days"]) == 5
        rows = {row["label"]: row["seen"] for row in timeline["rows"]}
        assert rows["www.pivot-bank.com → cdn.pivot-cdn.net (script.src)"] == [None, "seen", None, "seen", None]
        assert rows["www.pivot-bank.com → evil.pivot-attacker.ch (script.src)"] == [None, None, None, "seen", None]
        assert rows["www.pivot-bank.com = 198.51.100.20"] == [None, "seen", None, "seen", None]

        latest = facts["visits"][0]["id"]
        visit = get(base, f"/api/v1/visits/{latest}")
        assert visit["previousVisit"] == first.visit_id
        assert visit["changes"] == {"added": ["evil.pivot-attacker.ch"], "removed": []}
        with urllib.request.urlopen(base + visit["screenshot"], timeout=30) as response:
            assert response.headers["Content-Type"] == "image/jpeg" and response.read() == b"\xff\xd8\xff shot"
        har = get(base, visit["har"])["log"]
        assert [e["request"]["url"] for e in har["entries"]] == [PAGE, "https://cdn.pivot-cdn.net/app.js",
                                                                "https://evil.pivot-attacker.ch/x.js"]
        assert har["entries"][2]["_cause"] == "script.src" and har["entries"][2]["serverIPAddress"] == "203.0.113.66"
        assert get(base, f"/api/v1/visits/{first.visit_id}")["har"] is None  # no capture kept
        assert visit["scriptInventory"] is False  # not a payment group's page

    pruned = run_cli("prune", "--keep-visits", "1", "--db", db)  # the first visit's evidence goes
    assert pruned.returncode == 0, pruned.stderr
    with served_api("--db", db, "--cache-seconds", "0") as base:
        rows = {row["label"]: row["seen"] for row in get(base, "/api/v1/hosts/www.pivot-bank.com/timeline?days=5")["rows"]}
    # the pair still has its latest visit's evidence; days without evidence are not invented
    assert rows["www.pivot-bank.com → cdn.pivot-cdn.net (script.src)"] == [None, None, None, "seen", None]
