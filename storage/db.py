"""Opening a database: URL handling, connection check, schema migration — once per process."""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"

MIGRATION_LOCK = 0x686F737470616972  # "hostpair": the PostgreSQL advisory lock held while migrating
_engines: dict[str, Engine] = {}
_opening = threading.Lock()


class DatabaseError(RuntimeError):
    """The database URL is invalid or the database cannot be reached (one-line message)."""


def error_reason(exc: SQLAlchemyError) -> str:
    """The database's own one-line reason for a failed operation (without SQLAlchemy's wrapping)."""
    return (str(getattr(exc, "orig", None) or exc).strip().splitlines() or [type(exc).__name__])[0]


def normalize_url(url: str) -> str:
    """Accept URLs as users type them: postgres:// and postgresql:// use the installed psycopg 3 driver."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise DatabaseError(f"invalid database URL {url!r}: {exc}") from None
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def head_revision() -> str:
    """The newest migration's revision ID (migration files are named REVISION_what_it_does.py)."""
    return max(path.name.split("_", 1)[0] for path in (MIGRATIONS / "versions").glob("[0-9]*_*.py"))


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # noqa: ANN001 (DBAPI objects)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def open_database(url: str) -> Engine:
    """The process's engine for `url`: connected (else DatabaseError with a one-line reason), its
    schema brought up to date the first time. Alembic is loaded only when a migration is due."""
    normalized = normalize_url(url)
    with _opening:
        if normalized in _engines:
            return _engines[normalized]
        try:
            engine = create_engine(normalized, pool_pre_ping=True)
        except (ArgumentError, ImportError, SQLAlchemyError) as exc:
            raise DatabaseError(f"cannot use database {make_url(normalized).render_as_string()}: {exc}") from None
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)
        try:
            with engine.begin() as connection:
                if _schema_revision(connection) != head_revision():
                    if engine.dialect.name == "postgresql":  # processes starting at once migrate one at a time
                        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
                    if _schema_revision(connection) != head_revision():
                        _migrate(connection)
        except SQLAlchemyError as exc:
            raise DatabaseError(f"cannot connect to {make_url(normalized).render_as_string()}: {error_reason(exc)}") from None
        _engines[normalized] = engine
        return engine


def _schema_revision(connection) -> str | None:  # noqa: ANN001 (a SQLAlchemy connection)
    """The revision Alembic recorded, or None on a database it never migrated."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def _migrate(connection) -> None:  # noqa: ANN001
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions for units of work (one visit, one query)."""
    return sessionmaker(engine, expire_on_commit=False)
