"""Read side of exports: a data set's records (all of them, or one host's), streamed in batches,
and the distinct hosts, IP addresses and URLs they name, deduplicated by the database, so an
export that lists each observable once (STIX) holds no set of them in memory."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, select, union
from sqlalchemy.orm import Session

from hostpairs.storage.models import Alert, HostPair, Resolution, Tracker
from hostpairs.storage.queries import Window, host_filter
from hostpairs.storage.upserts import dialect_name

BATCH = 1000
"""Rows fetched at a time (through a server-side cursor on PostgreSQL) and written as one chunk."""


@dataclass(frozen=True)
class Selection:
    """Which records an export takes: those of `host` (and its subdomains) or of an IP address
    (`is_ip`), matched as parent (direction children) or child (parents) of a host pair; those
    last seen at or after `since` (alerts: raised); every record when neither is given."""

    host: str | None = None
    is_ip: bool = False
    direction: str = "children"
    since: datetime | None = None


def snapshot(session: Session) -> None:
    """Make every read of `session` see the database as its first read did: an export reads the
    hosts first and the records naming them after, and a crawl storing pairs in between must not
    leave a record whose host was not exported. Call it before anything else uses `session`."""
    if dialect_name(session) == "postgresql":
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    else:  # pysqlite begins no transaction for reads: each statement would have its own snapshot
        session.connection().exec_driver_sql("BEGIN")


def _batches(session: Session, statement: Select[Any]) -> Iterator[Sequence[Any]]:
    """`statement`'s rows, BATCH at a time (on PostgreSQL from a server-side cursor, which a
    plain execute would fetch whole)."""
    result = session.connection().execution_options(yield_per=BATCH).execute(statement)
    yield from result.partitions()


def _distinct(session: Session, *statements: Select[Any]) -> Iterator[list[str]]:
    """The distinct values of one-column statements, sorted, in batches."""
    values = union(*statements).subquery() if len(statements) > 1 else statements[0].distinct().subquery()
    column = values.c[0]
    for batch in _batches(session, select(column).order_by(column)):
        yield [value for value, in batch]


def _pair_conditions(selection: Selection) -> list[ColumnElement[bool]]:
    matched = HostPair.parent_reversed if selection.direction == "children" else HostPair.child_reversed
    return ([host_filter(matched, selection.host)] if selection.host else []) + Window(selection.since).conditions(
        HostPair.first_seen, HostPair.last_seen)


def pairs(session: Session, selection: Selection) -> Iterator[Sequence[Any]]:
    """Host pairs (parent, child, cause, first_seen, last_seen): a host's in its look-up's order,
    all of them in the order stored."""
    matched, other = ((HostPair.parent_reversed, HostPair.child) if selection.direction == "children"
                      else (HostPair.child_reversed, HostPair.parent))
    order = (matched, other, HostPair.cause) if selection.host else (HostPair.id,)
    return _batches(session, select(HostPair.parent, HostPair.child, HostPair.cause, HostPair.first_seen,
                                    HostPair.last_seen).where(*_pair_conditions(selection)).order_by(*order))


def pair_hosts(session: Session, selection: Selection) -> Iterator[list[str]]:
    """Every host that is a parent or a child of the pairs `pairs` reads, once."""
    conditions = _pair_conditions(selection)
    return _distinct(session, select(HostPair.parent.label("host")).where(*conditions),
                     select(HostPair.child.label("host")).where(*conditions))


def _resolution_conditions(selection: Selection) -> list[ColumnElement[bool]]:
    matched = []
    if selection.host:
        matched = [Resolution.ip == selection.host if selection.is_ip
                   else host_filter(Resolution.hostname_reversed, selection.host)]
    return matched + Window(selection.since).conditions(Resolution.first_seen, Resolution.last_seen)


def resolutions(session: Session, selection: Selection) -> Iterator[Sequence[Any]]:
    """Resolutions (hostname, ip, first_seen, last_seen) of a host and its subdomains, of an IP, or
    all of them."""
    order = (Resolution.hostname_reversed, Resolution.ip) if selection.host else (Resolution.id,)
    return _batches(session, select(Resolution.hostname, Resolution.ip, Resolution.first_seen, Resolution.last_seen)
                    .where(*_resolution_conditions(selection)).order_by(*order))


def resolution_values(session: Session, selection: Selection) -> Iterator[list[str]]:
    """The hostnames and IP addresses of the resolutions `resolutions` reads, each once (a visited
    IP address is a hostname and an IP of its own)."""
    conditions = _resolution_conditions(selection)
    return _distinct(session, select(Resolution.hostname.label("value")).where(*conditions),
                     select(Resolution.ip.label("value")).where(*conditions))


def _tracker_conditions(selection: Selection) -> list[ColumnElement[bool]]:
    return ([host_filter(Tracker.hostname_reversed, selection.host)] if selection.host else []) + Window(
        selection.since).conditions(Tracker.first_seen, Tracker.last_seen)


def trackers(session: Session, selection: Selection) -> Iterator[Sequence[Any]]:
    """Trackers (hostname, attribute_type, attribute_value, first_seen, last_seen) of a host and its
    subdomains, or all of them."""
    order = ((Tracker.hostname_reversed, Tracker.attribute_type, Tracker.attribute_value) if selection.host
             else (Tracker.id,))
    return _batches(session, select(Tracker.hostname, Tracker.attribute_type, Tracker.attribute_value,
                                    Tracker.first_seen, Tracker.last_seen)
                    .where(*_tracker_conditions(selection)).order_by(*order))


def tracker_hosts(session: Session, selection: Selection) -> Iterator[list[str]]:
    """The hostnames of the trackers `trackers` reads, once."""
    return _distinct(session, select(Tracker.hostname).where(*_tracker_conditions(selection)))


def _alert_conditions(selection: Selection) -> list[ColumnElement[bool]]:
    return [Alert.created_at >= selection.since] if selection.since else []


def alerts(session: Session, selection: Selection) -> Iterator[Sequence[Alert]]:
    """Alerts raised at or after `since` (or all), oldest first."""
    statement = select(Alert).where(*_alert_conditions(selection)).order_by(Alert.id)
    return session.execute(statement.execution_options(yield_per=BATCH)).scalars().partitions()


def alert_child_hosts(session: Session, selection: Selection) -> Iterator[list[str]]:
    """The child hosts of the alerts `alerts` reads, once."""
    return _distinct(session, select(Alert.child_host).where(*_alert_conditions(selection)))


def alert_page_urls(session: Session, selection: Selection) -> Iterator[list[str]]:
    """The pages of the alerts `alerts` reads, once."""
    return _distinct(session, select(Alert.page_url).where(*_alert_conditions(selection)))


def alert_urls(session: Session, selection: Selection) -> Iterator[list[str]]:
    """Every page and child URL of the alerts `alerts` reads, once."""
    conditions = _alert_conditions(selection)
    return _distinct(session, select(Alert.page_url.label("url")).where(*conditions),
                     select(Alert.child_url.label("url")).where(*conditions))
