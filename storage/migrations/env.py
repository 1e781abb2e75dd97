"""Alembic environment: migrations run on the connection handed over by storage.db.open_database,
or, from the `alembic` command line, on $HOSTPAIRS_DB."""

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
    from hostpairs.storage.db import _normalize, database_url

    with create_engine(_normalize(database_url())).begin() as new_connection:
        run_migrations(new_connection)
