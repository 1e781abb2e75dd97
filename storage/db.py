"""Opening a database: URL handling, connection check, schema migration."""

from __future__ import annotations

import os
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

DEFAULT_DATABASE_URL = "sqlite:///hostpairs.db"
MIGRATIONS = Path(__file__).parent / "migrations"


class DatabaseError(RuntimeError):
    """The database URL is invalid or the database cannot be reached (one-line message)."""


def error_reason(exc: SQLAlchemyError) -> str:
    """The database's own one-line reason for a failed operation (without SQLAlchemy's wrapping)."""
    return (str(getattr(exc, "orig", None) or exc).strip().splitlines() or [type(exc).__name__])[0]


def database_url(url: str | None = None) -> str:
    """The URL to use: the argument, else $HOSTPAIRS_DB, else a SQLite file in the current directory."""
    return url or os.environ.get("HOSTPAIRS_DB") or DEFAULT_DATABASE_URL


def _normalize(url: str) -> str:
    """Accept URLs as users type them: postgres:// and postgresql:// use the installed psycopg 3 driver."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise DatabaseError(f"invalid database URL {url!r}: {exc}") from None
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # noqa: ANN001 (DBAPI objects)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def open_database(url: str | None = None, migrate: bool = True) -> Engine:
    """Connect (raising DatabaseError with a one-line reason) and bring the schema up to date."""
    normalized = _normalize(database_url(url))
    try:
        engine = create_engine(normalized, pool_pre_ping=True)
    except (ArgumentError, ImportError, SQLAlchemyError) as exc:
        raise DatabaseError(f"cannot use database {make_url(normalized).render_as_string()}: {exc}") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    try:
        with engine.begin() as connection:
            if migrate:
                config = Config()
                config.set_main_option("script_location", str(MIGRATIONS))
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
    except SQLAlchemyError as exc:
        raise DatabaseError(f"cannot connect to {make_url(normalized).render_as_string()}: {error_reason(exc)}") from None
    return engine


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions for units of work (one visit, one query)."""
    return sessionmaker(engine, expire_on_commit=False)
