"""Upserts as both databases write them: the dialect's INSERT … ON CONFLICT, and what an
aggregate's conflict does (first and last seen widened, one more visit counted)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Table, case
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def dialect_name(connection: Connection | Session) -> str:
    """The database a connection or session talks to: "postgresql" or "sqlite"."""
    return (connection.get_bind() if isinstance(connection, Session) else connection).dialect.name


def dialect_insert(connection: Connection | Session) -> Any:
    """`insert` of the connection's dialect (PostgreSQL's or SQLite's: both have on_conflict_do_*)."""
    return postgresql.insert if dialect_name(connection) == "postgresql" else sqlite.insert


def widened_seen(statement: Any, table: Table) -> dict[str, Any]:
    """The SET of an aggregate's upsert: first/last seen widened to the inserted row's, visit_count + 1."""
    excluded = statement.excluded
    return {
        "first_seen": case((excluded.first_seen < table.c.first_seen, excluded.first_seen), else_=table.c.first_seen),
        "last_seen": case((excluded.last_seen > table.c.last_seen, excluded.last_seen), else_=table.c.last_seen),
        "visit_count": table.c.visit_count + 1,
    }
