"""The command line without a browser: look-ups over stored visits, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from hostpairs.crawler.recording import record_visit
from hostpairs.extractors.observations import FrameObservation, LinkObservation, PageCapture, RequestObservation
from hostpairs.storage.db import open_database, session_factory
from hostpairs.storage.models import Dependency, Frame, HostPair, PairEvidence, Resolution, Visit
from tests.conftest import run_cli, sqlite_url

PAGE = "https://www.shop-a.com/"


def visit(started_at: float, *child_urls: str) -> PageCapture:
    requests = [RequestObservation(PAGE, "document", frame_chain=("",), is_main_frame=True, status=200,
                                   remote_ip="198.51.100.7")]
    requests += [RequestObservation(url, "script", frame_chain=(PAGE,), remote_ip="203.0.113.9") for url in child_urls]
    frames = [FrameObservation("top", None, PAGE), FrameObservation("ad", "top", "https://ads.adnet-c.com/slot")]
    return PageCapture(PAGE, PAGE, "browser", started_at, started_at + 5, requests=requests, frames=frames,
                       links=[LinkObservation("https://partner-b.com/", (PAGE,))])


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = sqlite_url(tmp_path)
    sessions = session_factory(open_database(url))
    record_visit(sessions, visit(1_700_000_000, "https://cdn.evil-c.net/a.js", "https://js.evil-c.net/b.js"))
    record_visit(sessions, visit(1_700_086_400, "https://cdn.evil-c.net/a.js"))
    return url


def test_lookup_parents_matches_subdomains_with_first_and_last_seen(db: str) -> None:
    result = run_cli("lookup", "EVIL-C.net.", "--direction", "parents", "--json", "--db", db)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "totalRecords": 2, "success": True, "facets": [],
        "results": [
            {"parent": "www.shop-a.com", "child": "cdn.evil-c.net", "cause": "script.src",
             "firstSeen": "2023-11-14 22:13:20", "lastSeen": "2023-11-15 22:13:20"},
            {"parent": "www.shop-a.com", "child": "js.evil-c.net", "cause": "script.src",
             "firstSeen": "2023-11-14 22:13:20", "lastSeen": "2023-11-14 22:13:20"},
        ],
    }


def test_lookup_children_filtered_by_cause_and_as_a_table(db: str) -> None:
    result = run_cli("lookup", "shop-a.com", "--cause", "a.href", "--json", "--db", db)
    assert [r["child"] for r in json.loads(result.stdout)["results"]] == ["partner-b.com"]
    later = run_cli("lookup", "evil-c.net", "--direction", "parents", "--start", "2023-11-15 12:00", "--json", "--db", db)
    assert [r["child"] for r in json.loads(later.stdout)["results"]] == ["cdn.evil-c.net"]
    assert "not a date" in run_cli("lookup", "evil-c.net", "--start", "yesterday", "--db", db).stderr
    table = run_cli("lookup", "shop-a.com", "--db", db)
    assert table.returncode == 0 and "3 host pairs" in table.stdout and "cdn.evil-c.net" in table.stdout


def test_lookup_pages_with_limit_and_page(db: str) -> None:
    pages = [json.loads(run_cli("lookup", "shop-a.com", "--limit", "2", "--page", str(page), "--json", "--db", db).stdout)
             for page in range(2)]
    assert [p["totalRecords"] for p in pages] == [3, 3]
    assert [[r["child"] for r in p["results"]] for p in pages] == [["cdn.evil-c.net", "js.evil-c.net"], ["partner-b.com"]]
    first = run_cli("lookup", "shop-a.com", "--limit", "2", "--db", db)
    assert "3 host pairs (children of shop-a.com) — page 0: rows 1–2 of 3; next: --page 1" in first.stdout
    last = run_cli("lookup", "shop-a.com", "--limit", "2", "--page", "1", "--db", db)
    assert "page 1: rows 3–3 of 3" in last.stdout and "next" not in last.stdout


def test_resolutions_in_passive_dns_shape(db: str) -> None:
    result = run_cli("resolutions", "evil-c.net", "--json", "--db", db)
    response = json.loads(result.stdout)
    assert response["queryValue"] == "evil-c.net" and response["totalRecords"] == 2
    record = response["results"][0]
    assert set(record) >= {"value", "resolve", "firstSeen", "lastSeen", "recordType", "source", "recordHash"}
    assert {r["value"] for r in response["results"]} == {"cdn.evil-c.net", "js.evil-c.net"}
    assert record["resolve"] == "203.0.113.9" and record["recordType"] == "A" and len(record["recordHash"]) == 64


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["crawl", "htp:/broken"], "must start with http:// or https://"),
        (["crawl", "https://shop-a.com:99999/"], "malformed URL"),
        (["crawl", "https://shop-a.com/", "--host-rules", "MAPP * 1.2.3.4"], "invalid host rule"),
        (["crawl", "./missing-seeds.txt"], "neither a URL nor a seed file"),
        (["lookup", "shop-a.com", "--cause", "iframe.source"], "unknown cause"),
        (["lookup", "not a host"], "not a host name"),
        (["lookup", "shop-a.com", "--db", "postgresql://nobody@127.0.0.1:1/none"], "cannot connect"),
        (["lookup", "shop-a.com", "--db", "nosuchdb://x"], "database"),
    ],
)
def test_bad_input_gets_one_line_and_non_zero_exit(args: list[str], message: str, tmp_path: Path) -> None:
    if "--db" not in args:
        args = [*args, "--db", sqlite_url(tmp_path)]
    result = run_cli(*args)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_bad_seed_line_is_reported_with_its_line(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds.txt"
    seeds.write_text("# partners\nhttps://shop-a.com/\nftp://files.example.org/\n")
    result = run_cli("crawl", str(seeds), "--db", sqlite_url(tmp_path))
    assert result.returncode != 0 and f"{seeds}:3" in result.stderr


def test_a_failing_write_leaves_nothing_of_the_visit(tmp_path: Path) -> None:
    engine = open_database(sqlite_url(tmp_path))
    sessions = session_factory(engine)
    record_visit(sessions, visit(1_700_000_000, "https://cdn.evil-c.net/a.js"))
    with engine.begin() as connection:  # the database refuses the write after frames, dependencies and pairs
        connection.execute(text("CREATE TRIGGER disk_full BEFORE INSERT ON resolutions "
                                "BEGIN SELECT RAISE(ABORT, 'disk full'); END"))
    with pytest.raises(SQLAlchemyError, match="disk full"):
        record_visit(sessions, visit(1_700_086_400, "https://new.evil-c.net/c.js"))
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Visit)) == 1
        assert session.scalar(select(func.count()).select_from(Frame)) == 2  # the first visit's, none of the second's
        assert session.scalar(select(func.count()).select_from(Dependency)) == 2
        assert session.scalar(select(func.count()).select_from(PairEvidence)) == 2
        assert session.scalar(select(func.count()).select_from(Resolution)) == 2
        assert session.scalars(select(HostPair.child)).all().count("new.evil-c.net") == 0
        pair = session.scalars(select(HostPair).where(HostPair.child == "cdn.evil-c.net")).one()
        assert pair.visit_count == 1


CHECK_IMPORTS = """
import sys
from hostpairs.cli import main
sys.argv = ["hostpairs", *sys.argv[1:]]
try:
    main()
except SystemExit:
    pass
heavy = sorted({m.split(".")[0] for m in sys.modules} & {"scrapy", "twisted", "playwright", "alembic", "tldextract"})
print("heavy:", heavy, file=sys.stderr)
"""


@pytest.mark.parametrize("command", [["lookup", "evil-c.net", "--direction", "parents"], ["resolutions", "evil-c.net"],
                                     ["trackers", "www.shop-a.com"], ["alerts"]])
def test_look_ups_load_neither_the_crawler_nor_alembic(db: str, command: list[str]) -> None:
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-c", CHECK_IMPORTS, *command, "--db", db],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip().splitlines()[-1] == "heavy: []"


def test_watch_hands_its_crawl_options_to_its_crawls_intact() -> None:
    import typer.main

    from hostpairs.cli import app
    from hostpairs.crawler.options import CrawlOptions

    options = CrawlOptions(db="sqlite:///w.db", db_retry=5.0, depth=2, max_pages=7, dwell=1.5, page_timeout=12.0, load_wait=4.0,
                           page_time=20.0, host_rules="MAP * 127.0.0.1:8080", allow_private=True, mode="static",
                           alert_file="a.jsonl", webhooks=("https://soc.example/hook", "https://b.example/h"),
                           verbose=True, screenshots=False, keep_captures=False)
    commands = typer.main.get_command(app).commands
    crawl = commands["crawl"].make_context("crawl", ["https://shop-a.com/", *options.arguments()]).params
    expected = {"db": "sqlite:///w.db", "db_retry": 5.0, "depth": 2, "max_pages": 7, "dwell": 1.5, "page_timeout": 12.0, "load_wait": 4.0,
                "page_time": 20.0, "host_rules": "MAP * 127.0.0.1:8080", "allow_private": True, "alert_file": "a.jsonl",
                "webhook": ("https://soc.example/hook", "https://b.example/h"), "verbose": True,
                "screenshots": False, "keep_captures": False}
    assert {name: crawl[name] for name in expected} == expected and crawl["mode"] == "static"
    watch_options = {p.name for p in commands["watch"].params}
    assert {"db_retry", "dwell", "page_timeout", "load_wait", "host_rules", "allow_private", "mode", "alert_file", "webhook", "db"} <= watch_options
