"""Keeping host_pair_counts (see HostPairCount) as pairs are first stored, by a crawl or an import."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from sqlalchemy import Connection, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from hostpairs.storage.models import HostPair, HostPairCount

CHUNK = 5000


def _dialect(connection: Connection | Session) -> str:
    return (connection.get_bind() if isinstance(connection, Session) else connection).dialect.name


def inserted_marker(connection: Connection | Session) -> str:
    """A SQL expression, for a RETURNING clause of a statement upserting host_pairs, true for the
    rows it inserted (not updated): PostgreSQL's `xmax = 0`; on SQLite, ids above the largest
    before the statement, read here (call it under the write lock, which SQLite holds until
    commit, so no other writer adds rows in between)."""
    if _dialect(connection) == "postgresql":
        return "(xmax = 0)"
    last = connection.execute(select(func.coalesce(func.max(HostPair.id), 0))).scalar()
    return f"(id > {int(last or 0)})"


def count_new(connection: Connection | Session, new_pairs: Iterable[tuple[str, str]]) -> None:
    """Add pairs stored for the first time, as (parent_reversed, child_reversed), to the totals.
    Rows are upserted in key order, so concurrent writers lock them in one order."""
    deltas: Counter[tuple[str, str]] = Counter()
    for parent_reversed, child_reversed in new_pairs:
        deltas["children", parent_reversed] += 1
        deltas["parents", child_reversed] += 1
    insert = postgresql.insert if _dialect(connection) == "postgresql" else sqlite.insert
    rows = [{"direction": d, "host_reversed": h, "pairs": n} for (d, h), n in sorted(deltas.items())]
    for start in range(0, len(rows), CHUNK):
        statement = insert(HostPairCount).values(rows[start:start + CHUNK])
        connection.execute(statement.on_conflict_do_update(
            index_elements=[HostPairCount.direction, HostPairCount.host_reversed],
            set_={"pairs": HostPairCount.pairs + statement.excluded.pairs}))
