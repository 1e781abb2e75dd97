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


class Importer:
    """One import's merges on one connection: `merge` batches, and `count_pairs` before each
    commit. New host pairs are counted into host_pair_counts once per transaction, not per batch
    (a popular host's count row is then written once per commit)."""

    def __init__(self, connection: Connection):
        self.connection = connection
        self.dialect = connection.dialect
        self._last_pair_id: int | None = None
        """SQLite: the largest host_pairs id before this transaction's first pair batch."""
        self._pairs_pending = False

    def merge(self, dataset: Dataset, rows: list[dict[str, Any]], source: str) -> int:
        """Merge `rows` (the dataset's keys and extra columns, first_seen and last_seen as naive
        UTC datetimes) into its table; returns how many records it wrote (new, or widened, or newly
        marked imported)."""
        if not rows:
            return 0
        connection, dialect = self.connection, self.dialect
        _stage(connection, dataset, self._staged(dataset, rows))
        keys, described = ", ".join(dataset.keys), ", ".join(dataset.columns[:-2])  # the rest follows from the keys
        table, stage = dataset.table, dataset.stage
        merged = (
            f"INSERT INTO {table} ({', '.join(dataset.columns)}, visit_count, imported_from) "
            f"SELECT {described}, min(first_seen), max(last_seen), 0, {_placeholder(dialect.name)} "
            f"FROM {stage} WHERE true GROUP BY {described} ORDER BY {keys} "
            f"ON CONFLICT ({keys}) DO UPDATE SET "
            f"first_seen = CASE WHEN excluded.first_seen < {table}.first_seen THEN excluded.first_seen "
            f"ELSE {table}.first_seen END, "
            f"last_seen = CASE WHEN excluded.last_seen > {table}.last_seen THEN excluded.last_seen "
            f"ELSE {table}.last_seen END, "
            f"imported_from = COALESCE({table}.imported_from, excluded.imported_from) "
            f"WHERE excluded.first_seen < {table}.first_seen OR excluded.last_seen > {table}.last_seen "
            f"OR {table}.imported_from IS NULL")
        if table != HostPair.__tablename__:
            written = connection.exec_driver_sql(merged, (source,)).rowcount
        elif dialect.name == "postgresql":  # the pairs it inserted, kept for count_pairs
            connection.exec_driver_sql(f"CREATE TEMPORARY TABLE IF NOT EXISTS {NEW_PAIRS} "
                                       "(parent_reversed TEXT, child_reversed TEXT)")
            written = connection.exec_driver_sql(
                f"WITH written AS ({merged} RETURNING parent_reversed, child_reversed, (xmax = 0) AS inserted), "
                f"kept AS (INSERT INTO {NEW_PAIRS} SELECT parent_reversed, child_reversed FROM written WHERE inserted) "
                "SELECT count(*) FROM written", (source,)).scalar()
        else:  # SQLite: under the write lock (taken first), the new pairs are the rows past the last id
            if self._last_pair_id is None:
                connection.exec_driver_sql(f"DELETE FROM {HostPairCount.__tablename__} WHERE 0")
                self._last_pair_id = connection.exec_driver_sql(f"SELECT coalesce(max(id), 0) FROM {table}").scalar()
            written = connection.exec_driver_sql(merged, (source,)).rowcount
        self._pairs_pending = self._pairs_pending or table == HostPair.__tablename__
        connection.exec_driver_sql(f"DELETE FROM {stage}")
        return written

    def count_pairs(self) -> None:
        """Add the pairs this transaction inserted to host_pair_counts: call it before each commit."""
        if not self._pairs_pending:
            return
        if self.dialect.name == "postgresql":
            self.connection.exec_driver_sql(_count_new_pairs(NEW_PAIRS))
            self.connection.exec_driver_sql(f"TRUNCATE {NEW_PAIRS}")
        else:
            self.connection.exec_driver_sql(_count_new_pairs(
                f"(SELECT parent_reversed, child_reversed FROM {HostPair.__tablename__} "
                f"WHERE id > {int(self._last_pair_id or 0)}) AS new"))
            self._last_pair_id = None
        self._pairs_pending = False

    def _staged(self, dataset: Dataset, rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        """The rows as staged: reversed hosts computed, times in the database's stored form."""
        to_stored_time = DateTime().dialect_impl(self.dialect).bind_processor(self.dialect) or (lambda value: value)
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

        described = dataset.columns[:-2]
        return [tuple(row[c] if c in row else reversed_of(row[dataset.reversed[c]]) for c in described)
                + (stored_time(row["first_seen"]), stored_time(row["last_seen"])) for row in rows]


NEW_PAIRS = "host_pairs_new"
"""PostgreSQL: the temporary table of the pairs a transaction's merges inserted."""


def _count_new_pairs(new: str) -> str:
    """The statement adding the pairs of the relation `new` to host_pair_counts, in key order."""
    return (f"INSERT INTO {HostPairCount.__tablename__} (direction, host_reversed, pairs) "
            "SELECT direction, host_reversed, pairs FROM ("
            f"SELECT 'parents' AS direction, child_reversed AS host_reversed, count(*) AS pairs FROM {new} "
            "GROUP BY child_reversed UNION ALL "
            f"SELECT 'children', parent_reversed, count(*) FROM {new} GROUP BY parent_reversed) AS totals "
            "WHERE true ORDER BY direction, host_reversed "
            "ON CONFLICT (direction, host_reversed) DO UPDATE SET pairs = host_pair_counts.pairs + excluded.pairs")


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
