"""The database going away in the middle of a crawl (a real PostgreSQL database renamed away under
the crawler): visits wait and are stored once it is back; if it stays away past --db-retry, the
crawl stops with one clear line, exit 2, and nothing half-written."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import psycopg
import pytest

from hostpairs.demoweb.server import Resource, VirtualWeb, html
from tests.conftest import POSTGRES_ADMIN, ROOT

SLOW = "https://www.slow-outage.com/"
FAST = "https://www.fast-outage.com/"


@pytest.fixture
def web() -> Iterator[VirtualWeb]:
    sites = {
        "www.slow-outage.com": {"/": Resource(body="<h1>slow</h1><img src='https://img.outage-cdn.net/a.gif'>",
                                              delay=4)},
        "www.fast-outage.com": {"/": html("<h1>fast</h1>")},
    }
    with VirtualWeb(sites) as server:
        yield server


@pytest.fixture
def database() -> Iterator[str]:
    """A fresh PostgreSQL database of this test's own, dropped afterwards (under either name)."""
    name = f"hostpairs_outage_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield name
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
        for candidate in (name, f"{name}_away"):
            admin.execute(f'DROP DATABASE IF EXISTS "{candidate}" WITH (FORCE)')


def rename(old: str, new: str) -> None:
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (old,))
        admin.execute(f'ALTER DATABASE "{old}" RENAME TO "{new}"')


def crawl_in_background(web: VirtualWeb, name: str, db_retry: float) -> subprocess.Popen[str]:
    url = f"{POSTGRES_ADMIN.rsplit('/', 1)[0]}/{name}"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    return subprocess.Popen([sys.executable, "-m", "hostpairs", "crawl", FAST, SLOW, "--db", url, "--dwell", "0.5",
                             "--host-rules", web.host_rules, "--db-retry", str(db_retry)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_first_visit(name: str, crawl: subprocess.Popen[str]) -> None:
    """Until the fast page's visit is stored (the slow one is still loading)."""
    deadline = time.monotonic() + 60
    with psycopg.connect(f"{POSTGRES_ADMIN.rsplit('/', 1)[0]}/{name}", autocommit=True) as connection:
        while time.monotonic() < deadline and crawl.poll() is None:
            try:
                if connection.execute("SELECT count(*) FROM visits").fetchone()[0] >= 1:
                    return
            except psycopg.errors.UndefinedTable:
                pass
            time.sleep(0.1)
    pytest.fail(f"the first visit was never stored: {crawl.communicate()}")


def stored_visits(name: str) -> list[tuple[str, str | None]]:
    with psycopg.connect(f"{POSTGRES_ADMIN.rsplit('/', 1)[0]}/{name}") as connection:
        return connection.execute("SELECT requested_url, error FROM visits ORDER BY id").fetchall()


def test_a_visit_waits_for_the_database_to_come_back(web: VirtualWeb, database: str) -> None:
    crawl = crawl_in_background(web, database, db_retry=60)
    wait_for_first_visit(database, crawl)
    rename(database, f"{database}_away")  # the database goes away while the slow page loads
    time.sleep(7)  # the slow visit ends meanwhile and waits
    rename(f"{database}_away", database)
    stdout, stderr = crawl.communicate(timeout=120)
    assert crawl.returncode == 0, stderr
    assert "pages: 2" in stdout
    assert stored_visits(database) == [(FAST, None), (SLOW, None)]


def test_a_database_that_stays_away_stops_the_crawl_with_one_clear_line(web: VirtualWeb, database: str) -> None:
    crawl = crawl_in_background(web, database, db_retry=2)
    wait_for_first_visit(database, crawl)
    rename(database, f"{database}_away")
    try:
        stdout, stderr = crawl.communicate(timeout=120)
    finally:
        rename(f"{database}_away", database)
    assert crawl.returncode == 2
    line = stderr.strip().splitlines()[-1]  # after the crawl's own log of the visit it could not store
    assert line.startswith("error: crawl stopped: database unavailable for 2 s: ") and "1 visits not stored" in line
    assert f"not stored: {SLOW}" in stdout and "Traceback" not in stderr
    assert stored_visits(database) == [(FAST, None)]  # the first visit intact, nothing of the second
