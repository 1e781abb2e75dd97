"""Merging imported records into the aggregates, set-based: a batch is copied into a staging table
(COPY on PostgreSQL, one executemany on SQLite) and merged by one INSERT … SELECT … ON CONFLICT.

Merging widens first/last seen and never narrows them, counts no visit (an imported record was
seen by someone else's crawler: `visit_count` stays what hostpairs' own visits counted) and names
the import's source in `imported_from` (the first source to bring a record keeps it), and counts
new host pairs into host_pair_counts. A row that would not change is not written, so importing a
file again changes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, DateTime

from hostpairs.storage.models import Component, Cookie, HostPair, HostPairCount, Resolution, Tracker, reversed_host
from hostpairs.storage.pair_counts import count_new, inserted_marker


@dataclass(frozen=True)
class Dataset:
    """An aggregate table as an import fills it."""

    table: str
    keys: tuple[str, ...]
    """The columns a record is identified by (the table's unique constraint)."""
    reversed: dict[str, str]
    """Reversed-host column: the host column it is computed from."""
    extra: tuple[str, ...] = ()
    """Other columns an import sets on a new record (an existing one keeps its own)."""

    @property
    def columns(self) -> tuple[str, ...]:
        """The staged columns: keys, what follows from them (reversed hosts, extras), first and last seen."""
        return (*self.keys, *self.reversed, *self.extra, "first_seen", "last_seen")

    @property
    def stage(self) -> str:
        """The staging table (temporary: each connection has its own, dropped with it)."""
        return f"{self.table}_import"


DATASETS = {
    "pairs": Dataset(HostPair.__tablename__, ("parent", "child", "cause"),
                     {"parent_reversed": "parent", "child_reversed": "child"}),
    "resolutions": Dataset(Resolution.__tablename__, ("hostname", "ip"), {"hostname_reversed": "hostname"}),
    "trackers": Dataset(Tracker.__tablename__, ("hostname", "attribute_type", "attribute_value"),
                        {"hostname_reversed": "hostname"}),
    "components": Dataset(Component.__tablename__, ("hostname", "category", "label", "version"),
                          {"hostname_reversed": "hostname"}),
    "cookies": Dataset(Cookie.__tablename__, ("hostname", "cookie_name", "cookie_domain"),
                       {"hostname_reversed": "hostname", "cookie_domain_reversed": "cookie_domain"}, ("third_party",)),
}


def bulk_load(connection: Connection) -> None:
    """Set a connection up for merging large imports: on SQLite a page cache of 1 GiB, as a bulk
    load touches index pages all over the B-trees, checkpoints of the WAL every 100 MB rather
    than 4, and commits that do not wait for the disk (in WAL mode a crash still loses no
    committed batch, a power cut may lose the last ones: import again). PostgreSQL's cache and
    checkpoints are the server's."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("SET work_mem = '256MB'")
        connection.exec_driver_sql("SET synchronous_commit = off")
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("PRAGMA cache_size = -1048576")
        connection.exec_driver_sql("PRAGMA synchronous = NORMAL")
        connection.exec_driver_sql("PRAGMA wal_autocheckpoint = 25000")


def merge(connection: Connection, dataset: Dataset, rows: list[dict[str, Any]], source: str) -> int:
    """Merge `rows` (the dataset's keys and extra columns, first_seen and last_seen as naive UTC
    datetimes) into its table, in the connection's transaction; returns how many records it
    wrote (new, or widened, or newly marked imported)."""
    if not rows:
        return 0
    dialect = connection.dialect
    columns = dataset.columns
    to_stored_time = DateTime().dialect_impl(dialect).bind_processor(dialect) or (lambda value: value)
    stored_times: dict[Any, Any] = {}
    reversed_hosts: dict[str, str] = {}

    def stored_time(value: Any) -> Any:
        if (stored := stored_times.get(value)) is None:
            stored = stored_times[value] = to_stored_time(value)
        return stored

    def reversed_of(host: str) -> str:
        if (reversed_ := reversed_hosts.get(host)) is None:
            reversed_ = reversed_hosts[host] = reversed_host(host)
        return reversed_

    described = columns[:-2]
    staged = [tuple(row[c] if c in row else reversed_of(row[dataset.reversed[c]]) for c in described)
              + (stored_time(row["first_seen"]), stored_time(row["last_seen"])) for row in rows]
    _stage(connection, dataset, staged)
    keys, described = ", ".join(dataset.keys), ", ".join(described)  # the rest follows from the keys
    table, stage = dataset.table, dataset.stage
    counted = table == HostPair.__tablename__
    if counted and dialect.name == "sqlite":
        connection.exec_driver_sql(f"DELETE FROM {HostPairCount.__tablename__} WHERE 0")  # takes the write lock
    result = connection.exec_driver_sql(
        f"INSERT INTO {table} ({', '.join(columns)}, visit_count, imported_from) "
        f"SELECT {described}, min(first_seen), max(last_seen), 0, {_placeholder(dialect.name)} "
        f"FROM {stage} WHERE true GROUP BY {described} ORDER BY {keys} "
        f"ON CONFLICT ({keys}) DO UPDATE SET "
        f"first_seen = CASE WHEN excluded.first_seen < {table}.first_seen THEN excluded.first_seen "
        f"ELSE {table}.first_seen END, "
        f"last_seen = CASE WHEN excluded.last_seen > {table}.last_seen THEN excluded.last_seen "
        f"ELSE {table}.last_seen END, "
        f"imported_from = COALESCE({table}.imported_from, excluded.imported_from) "
        f"WHERE excluded.first_seen < {table}.first_seen OR excluded.last_seen > {table}.last_seen "
        f"OR {table}.imported_from IS NULL"
        + (f" RETURNING parent_reversed, child_reversed, {inserted_marker(connection)}" if counted else ""),
        (source,))
    if counted:
        returned = result.all()
        count_new(connection, ((parent, child) for parent, child, is_new in returned if is_new))
        written = len(returned)
    else:
        written = result.rowcount
    connection.exec_driver_sql(f"DELETE FROM {stage}")
    return written


def _placeholder(dialect: str) -> str:
    return "%s" if dialect == "postgresql" else "?"


def _stage(connection: Connection, dataset: Dataset, rows: list[tuple[Any, ...]]) -> None:
    """Copy `rows` into the connection's staging table for the dataset (created on first use)."""
    listed = ", ".join(dataset.columns)
    types = ", ".join(f"{c} {'BOOLEAN' if c == 'third_party' else 'TIMESTAMP' if c.endswith('_seen') else 'TEXT'}"
                      for c in dataset.columns)
    connection.exec_driver_sql(f"CREATE TEMPORARY TABLE IF NOT EXISTS {dataset.stage} ({types})")
    if connection.dialect.name == "postgresql":
        with connection.connection.dbapi_connection.cursor() as cursor:  # type: ignore[union-attr]
            with cursor.copy(f"COPY {dataset.stage} ({listed}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
    else:
        connection.exec_driver_sql(
            f"INSERT INTO {dataset.stage} ({listed}) VALUES ({', '.join('?' * len(dataset.columns))})", rows)
