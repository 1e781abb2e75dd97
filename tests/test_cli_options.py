"""README promises of the command line that no other test holds it to: `lookup --end`,
`alerts --since/--severity`, `postgres://` URLs as typed, and `serve` refusing to listen beyond
loopback without API keys (HTTP Basic once keys are given)."""

from __future__ import annotations

import base64
import json
import os
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psycopg
import pytest

from hostpairs.demoweb.server import PIXEL, VirtualWeb, html, js
from tests.conftest import run_cli, served_api, sqlite_url

BLOG = "https://www.blog-opt.com/"
PAY = "https://www.pay-opt.com/"


def page(*extra: str) -> str:
    return "<!doctype html><html><body><h1>page</h1>" + "".join(extra) + "</body></html>"


@pytest.fixture
def web() -> Iterator[VirtualWeb]:
    sites = {
        "www.blog-opt.com": {"/": html(page("<img src='https://static.blog-opt.com/logo.gif'>"))},
        "static.blog-opt.com": {"/logo.gif": PIXEL, "/extra.js": js("var extra = 1;")},
        "www.pay-opt.com": {"/": html(page())},
        "first-child-opt.net": {"/a.js": js("var a = 1;")},
        "second-child-opt.org": {"/b.js": js("var b = 1;")},
        "collect.skim-opt.net": {"/frame": html("<p>collector</p>")},
    }
    with VirtualWeb(sites) as server:
        yield server


def static_crawl(web: VirtualWeb, db: str, *targets: str) -> str:
    result = run_cli("crawl", "--mode", "static", *targets, "--db", db, "--host-rules", web.host_rules)
    assert result.returncode == 0, result.stderr
    return result.stdout


def utc_now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def second_boundary() -> str:
    """A time (whole seconds, UTC) strictly after everything stored so far and strictly before
    anything stored from now on."""
    time.sleep(1.1)
    boundary = utc_now().replace(microsecond=0)
    time.sleep(1.1)
    return boundary.strftime("%Y-%m-%d %H:%M:%S")


def pairs_of(db: str, *args: str) -> list[tuple[str, str]]:
    result = run_cli("lookup", "blog-opt.com", "--json", "--db", db, *args)
    assert result.returncode == 0, result.stderr
    response = json.loads(result.stdout)
    return sorted((r["child"], r["cause"]) for r in response["results"])


def test_lookup_end_keeps_only_pairs_first_seen_by_then(web: VirtualWeb, tmp_path: Path) -> None:
    db = sqlite_url(tmp_path)
    web.sites["www.blog-opt.com"]["/"] = html(page("<script src='https://first-child-opt.net/a.js'></script>"))
    static_crawl(web, db, BLOG)
    between = second_boundary()
    web.sites["www.blog-opt.com"]["/"] = html(page("<script src='https://first-child-opt.net/a.js'></script>",
                                                   "<script src='https://second-child-opt.org/b.js'></script>"))
    static_crawl(web, db, BLOG)
    first, second = ("first-child-opt.net", "script.src"), ("second-child-opt.org", "script.src")
    assert pairs_of(db) == [first, second]
    assert pairs_of(db, "--end", between) == [first]  # the second pair was first seen after `between`
    assert pairs_of(db, "--end", (utc_now() + timedelta(days=1)).strftime("%Y-%m-%d")) == [first, second]
    assert pairs_of(db, "--end", "2000-01-01") == []
    # a window: still seen after `between` (both, the first pair was seen again) and first seen by then
    assert pairs_of(db, "--start", between, "--end", between) == [first]
    bad = run_cli("lookup", "blog-opt.com", "--end", "next week", "--db", db)
    assert bad.returncode == 2 and "not a date: 'next week'" in bad.stderr


def write_seeds(path: Path) -> Path:
    path.write_text(f"""
[groups.blog]
urls = ["{BLOG}"]
interval = "1h"

[groups.pay]
urls = ["{PAY}"]
interval = "1h"
tags = ["payment", "login"]
""")
    return path


def alerts_listed(db: str, *args: str) -> list[tuple[str, str, str]]:
    result = run_cli("alerts", "--json", "--db", db, *args)
    assert result.returncode == 0, result.stderr
    return [(e["kind"], e["child_host"], e["severity"]) for e in map(json.loads, result.stdout.splitlines())]


def test_alerts_since_and_severity_filter_out_what_they_should(web: VirtualWeb, tmp_path: Path) -> None:
    seeds, db = write_seeds(tmp_path / "seeds.toml"), sqlite_url(tmp_path)
    before_all = second_boundary()
    static_crawl(web, db, "--seeds", str(seeds))  # the baseline of both pages
    # the blog loads a script from a host it already showed an image from: no signal, low
    web.sites["www.blog-opt.com"]["/"] = html(page("<img src='https://static.blog-opt.com/logo.gif'>",
                                                   "<script src='https://static.blog-opt.com/extra.js'></script>"))
    static_crawl(web, db, "--seeds", str(seeds))
    between = second_boundary()
    # the payment page gains a frame of a never-seen cross-site host: critical
    web.sites["www.pay-opt.com"]["/"] = html(page("<iframe src='https://collect.skim-opt.net/frame'></iframe>"))
    static_crawl(web, db, "--seeds", str(seeds))

    low = ("new_script_host", "static.blog-opt.com", "low")
    critical = ("new_iframe", "collect.skim-opt.net", "critical")
    assert alerts_listed(db) == [critical, low]  # newest first
    assert alerts_listed(db, "--since", before_all) == [critical, low]
    assert alerts_listed(db, "--since", between) == [critical]
    assert alerts_listed(db, "--since", (utc_now() + timedelta(days=1)).strftime("%Y-%m-%d")) == []
    assert alerts_listed(db, "--severity", "low") == [critical, low]
    assert alerts_listed(db, "--severity", "medium") == [critical]
    assert alerts_listed(db, "--severity", "critical") == [critical]
    assert alerts_listed(db, "--since", before_all, "--severity", "high") == [critical]
    table = run_cli("alerts", "--severity", "high", "--db", db)
    assert table.returncode == 0 and "1 alerts" in table.stdout and "collect.skim-opt.net" in table.stdout
    assert "static.blog-opt.com" not in table.stdout
    assert run_cli("alerts", "--severity", "severe", "--db", db).returncode == 2
    assert "not a date" in run_cli("alerts", "--since", "last tuesday", "--db", db).stderr


@pytest.fixture
def typed_postgres_url(postgres_url: str) -> Iterator[str]:
    """A fresh database on the test PostgreSQL server, its URL with the `postgres://` scheme as
    users type it (the session's own database is shared with other tests, which count visits)."""
    server = postgres_url.rsplit("/", 1)[0]
    name = f"hostpairs_scheme_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    assert server.startswith("postgresql://")
    yield "postgres://" + server.removeprefix("postgresql://") + "/" + name
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_postgres_scheme_is_accepted_as_typed(web: VirtualWeb, typed_postgres_url: str) -> None:
    web.sites["www.blog-opt.com"]["/"] = html(page("<script src='https://first-child-opt.net/a.js'></script>"))
    assert "pages: 1" in static_crawl(web, typed_postgres_url, BLOG)
    assert pairs_of(typed_postgres_url) == [("first-child-opt.net", "script.src")]
    # it really went into that PostgreSQL database
    with psycopg.connect(typed_postgres_url.replace("postgres://", "postgresql://", 1)) as connection:
        visits = connection.execute("SELECT requested_url, error FROM visits").fetchall()
    assert visits == [(BLOG, None)]


def http_get(url: str, auth: str | None = None) -> tuple[int, dict, str | None]:
    request = urllib.request.Request(url)
    if auth is not None:
        request.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read()), response.headers.get("WWW-Authenticate")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read()), exc.headers.get("WWW-Authenticate")


PAIRS = "/v2/host-attributes/pairs?query=blog-opt.com&direction=children"
EMPTY = {"totalRecords": 0, "success": True, "facets": [], "results": []}


def test_serve_refuses_a_non_loopback_address_without_api_users(tmp_path: Path) -> None:
    db = sqlite_url(tmp_path)
    refused = run_cli("serve", "--host", "0.0.0.0", "--port", "0", "--db", db, timeout=60)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "refusing to serve 0.0.0.0 without API keys: add a user first (hostpairs users add EMAIL)" in refused.stderr
    log: list[str] = []
    with served_api("--db", db, log=log) as base:  # on loopback, no keys are needed while no user exists
        assert base.startswith("http://127.0.0.1:") and "no API users: open, loopback only" in log[0]
        assert http_get(base + PAIRS)[:2] == (200, EMPTY)
    with served_api("--db", db, "--host", "::1") as base:  # IPv6
        assert base.startswith("http://[::1]:") and http_get(base + PAIRS)[:2] == (200, EMPTY)


def test_serve_beyond_loopback_asks_every_request_for_an_api_key(tmp_path: Path) -> None:
    db = sqlite_url(tmp_path)
    added = run_cli("users", "add", "Analyst@Example.com", "--db", db, timeout=60)
    assert added.returncode == 0, added.stderr
    key = added.stdout.strip()
    with served_api("--host", "0.0.0.0", "--db", db) as base:
        url = base.replace("0.0.0.0", "127.0.0.1") + PAIRS
        for auth in (None, "analyst@example.com:wrong", "intruder@example.com:" + key, "analyst@example.com:",
                     f"analyst@example.com:{key}-and-more"):
            status, body, challenge = http_get(url, auth)
            assert status == 401, auth
            assert set(body) == {"message"} and "authentication required" in body["message"]
            assert challenge and challenge.startswith("Basic ")
        assert http_get(url, f"analyst@example.com:{key}")[:2] == (200, EMPTY)
        status, body, _ = http_get(url.replace("children", "up"), f"analyst@example.com:{key}")
        assert status == 400 and "direction" in body["message"]
    assert run_cli("users", "add", "other@example.com", "--db", db, timeout=60).returncode == 0
    revoked = run_cli("users", "revoke", "analyst@example.com", "--db", db, timeout=60)
    assert revoked.returncode == 0, revoked.stderr
    with served_api("--db", db) as base:  # a revoked key opens nothing; with a user, loopback asks for keys too
        assert http_get(base + PAIRS, f"analyst@example.com:{key}")[0] == 401


def test_concurrency_auto_follows_the_cores_and_the_memory_and_reaches_the_crawl(
        web: VirtualWeb, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from hostpairs.crawler import options

    cores = len(os.sched_getaffinity(0))
    monkeypatch.setattr(options, "_available_memory", lambda: 64 * 2**30)
    assert options.auto_concurrency("browser") == min(2 * cores, 16)
    assert options.auto_concurrency("static") == min(16 * cores, 64)
    monkeypatch.setattr(options, "_available_memory", lambda: 2**30 + 2 * options.BROWSER_VISIT_MEMORY)
    assert options.auto_concurrency("browser") == min(2, 2 * cores)  # what memory holds
    monkeypatch.setattr(options, "_available_memory", lambda: 2**29)
    assert options.auto_concurrency("browser") == 1

    result = run_cli("crawl", BLOG, "--mode", "static", "--concurrency", "auto", "--verbose",
                     "--db", sqlite_url(tmp_path), "--host-rules", web.host_rules)
    assert result.returncode == 0 and "pages: 1 " in result.stdout, result.stderr[-2000:]
    assert f"'CONCURRENT_REQUESTS': {min(16 * cores, 64)}" in result.stderr  # Scrapy's "Overridden settings"
