"""The Alembic migrations build exactly the schema the SQLAlchemy models declare, on both databases."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from storage.db import open_database
from storage.models import Base
from tests.conftest import sqlite_url


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_migrations_build_the_models_schema(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    url = sqlite_url(tmp_path) if kind == "sqlite" else request.getfixturevalue("postgres_url")
    engine = open_database(url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert differences == []
