"""Alembic environment: migrations run on the connection handed over by storage.db.open_database,
or, from the `alembic` command line, on HOSTPAIRS_DB (crawler/settings.py: $HOSTPAIRS_DB or its default)."""

from alembic import context
from sqlalchemy import create_engine

from hostpairs.storage.models import Base

target_metadata = Base.metadata


def run_migrations(connection) -> None:  # noqa: ANN001
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    run_migrations(connection)
else:
    from hostpairs.crawler.settings import HOSTPAIRS_DB
    from hostpairs.storage.db import normalize_url

    with create_engine(normalize_url(HOSTPAIRS_DB)).begin() as new_connection:
        run_migrations(new_connection)
