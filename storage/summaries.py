"""Keeping the summary tables as records are stored, by a crawl or an import: host_pair_counts (see
HostPairCount) and ip_resolution_summaries (see IpResolutionSummary)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Connection, case, func, select
from sqlalchemy.orm import Session

from hostpairs.storage.models import HostPairCount, IpResolutionSummary
from hostpairs.storage.upserts import dialect_insert, dialect_name

CHUNK = 5000


def inserted_marker(connection: Connection | Session, model: type) -> str:
    """A SQL expression, for a RETURNING clause of a statement upserting `model`'s table, true for
    the rows it inserted (not updated): PostgreSQL's `xmax = 0`; on SQLite, ids above the largest
    before the statement, read here (call it under the write lock, which SQLite holds until
    commit, so no other writer adds rows in between)."""
    if dialect_name(connection) == "postgresql":
        return "(xmax = 0)"
    last = connection.execute(select(func.coalesce(func.max(model.id), 0))).scalar()
    return f"(id > {int(last or 0)})"


def count_new(connection: Connection | Session, new_pairs: Iterable[tuple[str, str]], step: int = 1) -> None:
    """Add pairs stored for the first time, as (parent_reversed, child_reversed), to the totals
    (`step` -1: take deleted pairs off them). Rows are upserted in key order, so concurrent
    writers lock them in one order."""
    deltas: Counter[tuple[str, str]] = Counter()
    for parent_reversed, child_reversed in new_pairs:
        deltas["children", parent_reversed] += step
        deltas["parents", child_reversed] += step
    insert = dialect_insert(connection)
    rows = [{"direction": d, "host_reversed": h, "pairs": n} for (d, h), n in sorted(deltas.items())]
    for start in range(0, len(rows), CHUNK):
        statement = insert(HostPairCount).values(rows[start:start + CHUNK])
        connection.execute(statement.on_conflict_do_update(
            index_elements=[HostPairCount.direction, HostPairCount.host_reversed],
            set_={"pairs": HostPairCount.pairs + statement.excluded.pairs}))


def summarize_resolutions(connection: Connection | Session, resolved: Iterable[tuple[str, bool]],
                          seen: datetime) -> None:
    """Fold resolutions stored at `seen`, as (ip, stored for the first time), into their IPs'
    summaries: new hostnames counted, first/last seen widened. In IP order, as count_new."""
    new: Counter[str] = Counter()
    for ip, is_new in resolved:
        new[ip] += is_new
    if not new:
        return
    insert = dialect_insert(connection)
    summary = IpResolutionSummary
    statement = insert(summary).values([{"ip": ip, "hostnames": n, "first_seen": seen, "last_seen": seen}
                                        for ip, n in sorted(new.items())])
    excluded = statement.excluded
    connection.execute(statement.on_conflict_do_update(index_elements=[summary.ip], set_={
        "hostnames": summary.hostnames + excluded.hostnames,
        "first_seen": case((excluded.first_seen < summary.first_seen, excluded.first_seen), else_=summary.first_seen),
        "last_seen": case((excluded.last_seen > summary.last_seen, excluded.last_seen), else_=summary.last_seen)}))
