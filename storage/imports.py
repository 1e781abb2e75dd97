"""Merging imported records into the aggregates, set-based: a batch is copied into a staging table
(COPY on PostgreSQL, one executemany on SQLite) and merged by one INSERT … SELECT … ON CONFLICT.

Merging widens first/last seen and never narrows them, counts no visit (an imported record was
seen by someone else's crawler: `visit_count` stays what hostpairs' own visits counted) and names
the import's source in `imported_from` (the first source to bring a record keeps it), counts
new host pairs into host_pair_counts and folds resolutions into ip_resolution_summaries. A row that would not change is not written, so importing a
file again changes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, DateTime, Dialect, Index

from hostpairs.storage.models import (
    Component,
    Cookie,
    HostPair,
    HostPairCount,
    IpResolutionSummary,
    Resolution,
    Tracker,
    reversed_host,
)


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

_TABLES = {model.__tablename__: model.__table__ for model in (HostPair, Resolution, Tracker, Component, Cookie)}


def bulk_load(connection: Connection) -> None:
    """Set a connection up for merging large imports: on SQLite a page cache of 1 GiB, as a bulk
    load touches index pages all over the B-trees, checkpoints of the WAL every 100 MB rather
    than 4, and commits that do not wait for the disk (in WAL mode a crash still loses no
    committed batch, a power cut may lose the last ones: import again). PostgreSQL's cache and
    checkpoints are the server's."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("SET work_mem = '256MB'")
        connection.exec_driver_sql("SET maintenance_work_mem = '1GB'")  # index builds (Importer's bulk mode)
        connection.exec_driver_sql("SET synchronous_commit = off")
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("PRAGMA cache_size = -1048576")
        connection.exec_driver_sql("PRAGMA synchronous = NORMAL")
        connection.exec_driver_sql("PRAGMA wal_autocheckpoint = 25000")


class Importer:
    """One import's merges on one connection: `merge` staged batches, and `count_pairs` before each
    commit. New host pairs are counted into host_pair_counts once per transaction, not per batch
    (a popular host's count row is then written once per commit)."""

    def __init__(self, connection: Connection, bulk: bool = False):
        self.connection = connection
        self.dialect = connection.dialect
        self.bulk = bulk
        """Bulk mode: a table's look-up indexes are dropped before its first merge and built again by
        `build_indexes`, in the same transaction (a first import of a large history: one sort per
        index instead of millions of random B-tree inserts)."""
        self._dropped: dict[str, list[Index]] = {}
        self._last_pair_id: int | None = None
        """SQLite: the largest host_pairs id before this transaction's first pair batch."""
        self._pairs_pending = False

    def merge(self, batch: StagedBatch, source: str) -> int:
        """Merge a staged batch into its dataset's table; returns how many records it wrote (new, or
        widened, or newly marked imported)."""
        if not batch.rows:
            return 0
        connection, dialect, dataset = self.connection, self.dialect, batch.dataset
        if self.bulk and dataset.table not in self._dropped:
            _write_lock(connection)  # (on SQLite, so that the DROP is inside the transaction)
            self._dropped[dataset.table] = [index for index in _TABLES[dataset.table].indexes if not index.unique]
            for index in self._dropped[dataset.table]:
                index.drop(connection)
        _stage(connection, dataset, batch.rows)
        keys, listed = ", ".join(dataset.keys), ", ".join(dataset.columns)
        table, stage = dataset.table, dataset.stage
        merged = (  # the batch holds each key once; in key order, overlapping writers lock rows in one order
            f"INSERT INTO {table} ({listed}, visit_count, imported_from) "
            f"SELECT {listed}, 0, {_placeholder(dialect.name)} FROM {stage} WHERE true ORDER BY {keys} "
            f"ON CONFLICT ({keys}) DO UPDATE SET "
            f"first_seen = CASE WHEN excluded.first_seen < {table}.first_seen THEN excluded.first_seen "
            f"ELSE {table}.first_seen END, "
            f"last_seen = CASE WHEN excluded.last_seen > {table}.last_seen THEN excluded.last_seen "
            f"ELSE {table}.last_seen END, "
            f"imported_from = COALESCE({table}.imported_from, excluded.imported_from) "
            f"WHERE excluded.first_seen < {table}.first_seen OR excluded.last_seen > {table}.last_seen "
            f"OR {table}.imported_from IS NULL")
        if table == Resolution.__tablename__:
            written = self._merge_resolutions(merged, source)
        elif table != HostPair.__tablename__:
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
                _write_lock(connection)
                self._last_pair_id = connection.exec_driver_sql(f"SELECT coalesce(max(id), 0) FROM {table}").scalar()
            written = connection.exec_driver_sql(merged, (source,)).rowcount
        self._pairs_pending = self._pairs_pending or table == HostPair.__tablename__
        connection.exec_driver_sql(f"DELETE FROM {stage}")
        return written

    def _merge_resolutions(self, merged: str, source: str) -> int:
        """Run the merge of a staged batch of resolutions and fold the batch into the IPs'
        summaries (new hostnames counted, times widened); returns how many records it wrote."""
        connection, stage = self.connection, DATASETS["resolutions"].stage
        if self.dialect.name == "postgresql":
            return connection.exec_driver_sql(
                f"WITH written AS ({merged} RETURNING ip, (xmax = 0) AS inserted), "
                f"summed AS ({_summarize_ips(stage, 'SELECT ip, count(*) AS hostnames FROM written WHERE inserted GROUP BY ip')}) "
                "SELECT count(*) FROM written", (source,)).scalar()
        _write_lock(connection)  # SQLite: the new resolutions are the rows past the last id
        last = connection.exec_driver_sql(f"SELECT coalesce(max(id), 0) FROM {Resolution.__tablename__}").scalar()
        written = connection.exec_driver_sql(merged, (source,)).rowcount
        connection.exec_driver_sql(_summarize_ips(stage, f"SELECT ip, count(*) AS hostnames FROM {Resolution.__tablename__} "
                                                         f"WHERE id > {int(last)} GROUP BY ip"))
        return written

    def build_indexes(self) -> None:
        """Bulk mode: build the indexes dropped before the merges (call it before the commit)."""
        for indexes in self._dropped.values():
            for index in indexes:
                index.create(self.connection)
        self._dropped.clear()

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


@dataclass(frozen=True)
class StagedBatch:
    """A batch of records as its staging table takes them: one row per record key, in key order."""

    dataset: Dataset
    rows: list[tuple[Any, ...]]
    """Values of `dataset.columns`, times in the database's stored form."""


def staged(dialect: Dialect, dataset: Dataset, rows: list[dict[str, Any]]) -> StagedBatch:
    """`rows` (the dataset's keys and extra columns, first_seen and last_seen as naive UTC datetimes)
    as staged: records of one key merged into one (the earliest first seen, the latest last seen,
    the first record's extras), reversed hosts computed, in key order. Pure Python, no database:
    an import prepares the next batch while the database merges the last one."""
    to_stored_time = DateTime().dialect_impl(dialect).bind_processor(dialect) or (lambda value: value)
    key_of = itemgetter(*dataset.keys)
    merged: dict[tuple[Any, ...], list[Any]] = {}
    for row in rows:
        key, first, last = key_of(row), row["first_seen"], row["last_seen"]
        if (same := merged.get(key)) is None:
            merged[key] = [row, first, last]
        else:
            if first < same[1]:
                same[1] = first
            if last > same[2]:
                same[2] = last
    reversed_hosts: dict[str, str] = {}
    following = [(dataset.reversed[c], True) for c in dataset.reversed] + [(c, False) for c in dataset.extra]
    staged_rows = []
    for key in sorted(merged):
        row, first, last = merged[key]
        values = list(key)
        for column, is_reversed in following:
            value = row[column]
            if is_reversed:
                if (reversed_ := reversed_hosts.get(value)) is None:
                    reversed_ = reversed_hosts[value] = reversed_host(value)
                value = reversed_
            values.append(value)
        values.append(to_stored_time(first))
        values.append(to_stored_time(last))
        staged_rows.append(tuple(values))
    return StagedBatch(dataset, staged_rows)


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


def _summarize_ips(stage: str, new: str) -> str:
    """The statement folding the staged resolutions into ip_resolution_summaries: `new` is a query
    of (ip, hostnames) counting the resolutions the merge inserted. An IP whose summary would not
    change is not written."""
    summary = IpResolutionSummary.__tablename__
    return (f"INSERT INTO {summary} (ip, hostnames, first_seen, last_seen) "
            "SELECT batch.ip, COALESCE(new.hostnames, 0), batch.first_seen, batch.last_seen "
            f"FROM (SELECT ip, min(first_seen) AS first_seen, max(last_seen) AS last_seen FROM {stage} GROUP BY ip) "
            f"AS batch LEFT JOIN ({new}) AS new ON new.ip = batch.ip WHERE true ORDER BY batch.ip "
            f"ON CONFLICT (ip) DO UPDATE SET hostnames = {summary}.hostnames + excluded.hostnames, "
            f"first_seen = CASE WHEN excluded.first_seen < {summary}.first_seen THEN excluded.first_seen "
            f"ELSE {summary}.first_seen END, "
            f"last_seen = CASE WHEN excluded.last_seen > {summary}.last_seen THEN excluded.last_seen "
            f"ELSE {summary}.last_seen END "
            f"WHERE excluded.hostnames > 0 OR excluded.first_seen < {summary}.first_seen "
            f"OR excluded.last_seen > {summary}.last_seen")


def _write_lock(connection: Connection) -> None:
    """SQLite: open the transaction with a write, taking the database's write lock (Python's sqlite3
    begins a transaction only before a write; DDL before it would be committed on its own)."""
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql(f"DELETE FROM {HostPairCount.__tablename__} WHERE 0")


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
