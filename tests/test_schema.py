"""The Alembic migrations build exactly the schema the SQLAlchemy models declare, on both databases."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import select
from sqlalchemy.orm import Session

from hostpairs.storage.db import MIGRATIONS, open_database
from hostpairs.storage.models import Base, CrawlRun
from tests.conftest import database_at_revision, sqlite_url


@pytest.mark.filterwarnings("ignore:.*expression-based index ix_trackers_value")  # SQLite: not reflected
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based index")
@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_migrations_build_the_models_schema(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    url = sqlite_url(tmp_path) if kind == "sqlite" else request.getfixturevalue("postgres_url")
    engine = open_database(url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert differences == []


def test_upgrading_keeps_crawl_runs_and_dates_their_last_sign_of_life(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    database_at_revision(url, "0003", "INSERT INTO crawl_runs (seed_group, started_at, pid, pages, errors) "
                                      "VALUES ('bank', '2026-11-01 10:00:00', 4242, 3, 0)")
    engine = open_database(url)
    with Session(engine) as session:
        run = session.scalars(select(CrawlRun)).one()
    engine.dispose()
    assert (run.seed_group, run.pages, run.host, run.alive_at) == ("bank", 3, "", datetime(2026, 11, 1, 10))


def test_the_newest_migration_file_is_alembics_head() -> None:
    from alembic.script import ScriptDirectory

    from hostpairs.storage.db import head_revision

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert head_revision() == ScriptDirectory.from_config(config).get_current_head()


def _open(url: str) -> str:
    open_database(url)
    return "opened"


def test_processes_opening_a_new_postgresql_database_at_once_migrate_it_once(postgres_url: str) -> None:
    """Workers of a distributed crawl start together on a fresh database: one migrates, the others
    wait for it (without the lock, two created the same tables and one failed)."""
    import multiprocessing

    with multiprocessing.get_context("spawn").Pool(4) as pool:
        assert pool.map(_open, [postgres_url] * 4) == ["opened"] * 4
