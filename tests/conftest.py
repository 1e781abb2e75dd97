"""Shared fixtures: the virtual web, a real PostgreSQL database, and running the real CLI."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine, create_engine, select, text
from sqlalchemy.orm import Session

from hostpairs.demoweb.server import VirtualWeb
from hostpairs.storage.db import open_database
from hostpairs.storage.models import Dependency, Visit
from tests.virtual_sites import make_test_web

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_ADMIN = os.environ.get("HOSTPAIRS_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")

BESIDE_THE_BROWSER = frozenset({
    "test_api", "test_certificates", "test_changes", "test_concurrent_writers", "test_export", "test_host_pairs",
    "test_import", "test_inventory_rules", "test_inventory_store", "test_lookup_indexes", "test_pivots", "test_properties", "test_prune",
    "test_reprocess", "test_schema", "test_scrapy_components", "test_seeds", "test_static_html", "test_trackers",
    "test_users",
})
"""Test modules that start no browser and no crawl. `make test` runs two pytest-xdist workers: each of
these modules is a group of its own, run beside the others; every other module is in one group,
"browser", run one test at a time (two browsers at once on two cores make both flaky). A new
module is in "browser" until it is named here."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        module = item.path.stem
        item.add_marker(pytest.mark.xdist_group(module if module in BESIDE_THE_BROWSER else "browser"))


def cli_environment() -> dict[str, str]:
    """The environment a test runs `hostpairs` in (this checkout importable, no HOSTPAIRS_DB)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
           "COLUMNS": "200"}
    env.pop("HOSTPAIRS_DB", None)
    return env


def run_cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run `hostpairs ARGS` as a user would, in a fresh process."""
    env = cli_environment()
    return subprocess.run(
        [sys.executable, "-m", "hostpairs", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout,
    )


@contextlib.contextmanager
def served_api(*args: str, log: list[str] | None = None) -> Iterator[str]:
    """`hostpairs serve --port 0 ARGS` running; yields its base URL (as it printed it) and stops
    it afterwards. Its log lines are appended to `log` as they come."""
    server = subprocess.Popen([sys.executable, "-m", "hostpairs", "serve", "--port", "0", *args], cwd=ROOT,
                              env=cli_environment(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lines = log if log is not None else []
    try:
        assert server.stderr is not None
        while not lines or "Application startup complete" not in lines[-1]:
            lines.append(server.stderr.readline())
            assert lines[-1], "".join(lines)
        found = re.search(r"on (https?://\S+?)/ ", "".join(lines))
        assert found, "".join(lines)
        threading.Thread(target=lambda: lines.extend(server.stderr), daemon=True).start()  # never a full pipe
        yield found.group(1)
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture(scope="session")
def virtual_web() -> Iterator[VirtualWeb]:
    web = make_test_web()
    yield web
    web.stop()


@pytest.fixture(scope="session")
def host_rules(virtual_web: VirtualWeb) -> str:
    # The IP literals the tests visit are excluded from the mapping: Chromium maps literals too.
    return (f"EXCLUDE *.localhost, EXCLUDE 127.0.0.1, EXCLUDE 169.254.169.254, MAP unreachable-gg.com ^NOTFOUND, "
            f"{virtual_web.host_rules}")


@pytest.fixture(scope="session")
def postgres_databases() -> Iterator[Callable[[], str]]:
    """Makes fresh databases on the local PostgreSQL server (URLs as users type them); drops every
    one it made at the end of the session."""
    made: list[str] = []
    admin_url = POSTGRES_ADMIN.rsplit("/", 1)[0]

    def fresh() -> str:
        name = f"hostpairs_test_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        made.append(name)
        return f"{admin_url}/{name}"

    yield fresh
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
        for name in made:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def postgres_url(postgres_databases: Callable[[], str]) -> str:
    """A fresh PostgreSQL database of this test's own."""
    return postgres_databases()


def sqlite_url(directory: Path, name: str = "hostpairs.db") -> str:
    return f"sqlite:///{directory / name}"


def database_at_revision(url: str, revision: str, *statements: str) -> None:
    """A database migrated only up to `revision`, holding what `statements` insert: a database
    from before, for the migrations after it to upgrade."""
    from alembic import command
    from alembic.config import Config

    from hostpairs.storage.db import MIGRATIONS

    engine = create_engine(url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
        for statement in statements:
            connection.execute(text(statement))
    engine.dispose()


def engine_for(url: str) -> Engine:
    return open_database(url)


def visits_and_dependencies(db: str) -> tuple[dict[str, Visit], list[Dependency]]:
    """The stored visits by requested URL, and every dependency in the order stored."""
    engine = engine_for(db)
    with Session(engine) as session:
        visits = {v.requested_url: v for v in session.scalars(select(Visit))}
        dependencies = list(session.scalars(select(Dependency).order_by(Dependency.id)))
    engine.dispose()
    return visits, dependencies


class AddressCollector:
    """A Twisted resolution receiver keeping 'host:port' of every address resolved."""

    def __init__(self) -> None:
        self.addresses: list[str] = []

    def resolutionBegan(self, resolution: object) -> None:  # noqa: N802 (Twisted's names)
        pass

    def addressResolved(self, address: object) -> None:  # noqa: N802
        self.addresses.append(f"{address.host}:{address.port}")  # type: ignore[attr-defined]

    def resolutionComplete(self) -> None:  # noqa: N802
        pass


def pair_counts(session) -> tuple[dict[tuple[str, str], int], dict[tuple[str, str], int]]:  # noqa: ANN001
    """host_pair_counts as stored, and as counted from host_pairs: they must be equal."""
    from sqlalchemy import func, select

    from hostpairs.storage.models import HostPair, HostPairCount

    stored = {(c.direction, c.host_reversed): c.pairs for c in session.scalars(select(HostPairCount))}
    counted = {("parents", host): n for host, n in session.execute(
        select(HostPair.child_reversed, func.count()).group_by(HostPair.child_reversed))}
    counted.update({("children", host): n for host, n in session.execute(
        select(HostPair.parent_reversed, func.count()).group_by(HostPair.parent_reversed))})
    return stored, counted


def ip_summaries(session) -> tuple[dict[str, tuple], dict[str, tuple]]:  # noqa: ANN001
    """ip_resolution_summaries as stored, and as summed from resolutions: they must be equal."""
    from sqlalchemy import func, select

    from hostpairs.storage.models import IpResolutionSummary, Resolution

    stored = {s.ip: (s.hostnames, s.first_seen, s.last_seen) for s in session.scalars(select(IpResolutionSummary))}
    summed = {ip: (n, first, last) for ip, n, first, last in session.execute(
        select(Resolution.ip, func.count(), func.min(Resolution.first_seen), func.max(Resolution.last_seen))
        .group_by(Resolution.ip))}
    return stored, summed


@pytest.fixture
def redis_url() -> Iterator[str]:
    """A database number of the shared Redis on 127.0.0.1:6379 that this test claims (an empty one,
    marked), flushed at the end; the other numbers are left alone."""
    import redis

    for number in range(1, 16):
        client = redis.Redis(host="127.0.0.1", port=6379, db=number)
        if client.set("hostpairs-test-claim", os.getpid(), nx=True):
            if client.dbsize() == 1:
                break
            client.delete("hostpairs-test-claim")  # someone else's data: not ours to touch
        client.close()
    else:
        pytest.fail("no free Redis database number on 127.0.0.1:6379")
    yield f"redis://127.0.0.1:6379/{number}"
    client.flushdb()
    client.close()
