"""Read side: the look-ups analysts pivot with, as pages of rows (api/passivetotal.py shapes them).

Every look-up is a range of one index, ordered as that index is (the matched host reversed, then
the other key columns), so a page is read off the index in order however many rows match: the
first page of `parents of www.googletagmanager.com` costs what any first page costs. The order is
a total order on unique keys, so pages never overlap or skip rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Row, Select, and_, func, or_, select, tuple_
from sqlalchemy.orm import InstrumentedAttribute, Session

from hostpairs.storage.models import (
    Alert,
    Component,
    Cookie,
    Dependency,
    HostPair,
    HostPairCount,
    InventoryScript,
    IpResolutionSummary,
    KeptCapture,
    PairEvidence,
    Resolution,
    Screenshot,
    Tracker,
    Visit,
    reversed_host,
)

PAGE_SIZE = 2000
"""PassiveTotal's fixed page size (../shared/passivetotal-reference.md, Paging)."""


@dataclass(frozen=True)
class Paging:
    """Which page of a look-up: `page` counts from 0, `limit` rows per page."""

    page: int = 0
    limit: int = PAGE_SIZE


@dataclass(frozen=True)
class Page:
    """One page of a look-up's rows, and how many rows the whole look-up has."""

    rows: list[Row] | list[PairRow]
    total: int


@dataclass(frozen=True)
class Window:
    """When a record must have been seen: at or after `start` and at or before `end` (each
    optional): a record seen from first_seen to last_seen overlaps the window."""

    start: datetime | None = None
    end: datetime | None = None

    def __bool__(self) -> bool:
        return self.start is not None or self.end is not None

    def conditions(self, first_seen, last_seen) -> list:  # noqa: ANN001 (columns or aggregates)
        return ([last_seen >= self.start] if self.start else []) + ([first_seen <= self.end] if self.end else [])


@dataclass(frozen=True)
class Ordering:
    """PassiveTotal's `sort` (lastSeen or firstSeen) and `order` (desc or asc)."""

    sort: str = "lastSeen"
    order: str = "desc"

    def by(self, first_seen, last_seen, tie):  # noqa: ANN001, ANN201 (SQL expressions)
        column = last_seen if self.sort == "lastSeen" else first_seen
        return (column.desc() if self.order == "desc" else column.asc(), tie)


def host_filter(reversed_column: InstrumentedAttribute[str], query: str):  # noqa: ANN201 (SQL expression)
    """The host itself or any of its subdomains, as PassiveTotal matched: a range of the
    reversed-host column's index (`ch.misapor.` up to `ch.misapor/`, '/' following '.')."""
    start = reversed_host(query)
    return and_(reversed_column >= start, reversed_column < start[:-1] + "/")


def _paged(session: Session, statement: Select, paging: Paging, count: Select | int | None = None) -> Page:
    """`statement`'s rows on `paging`'s page, with the count of all its rows (`count`: the total,
    or a query of it; by default the statement's own conditions counted)."""
    connection = session.connection()  # Core rows: no ORM loading for plain columns
    if not isinstance(count, int):
        count = connection.execute(count if count is not None
                                   else statement.with_only_columns(func.count()).order_by(None)).scalar()
    rows = connection.execute(statement.offset(paging.page * paging.limit).limit(paging.limit)).all()
    return Page(rows, int(count or 0))  # (a sum comes back as a Decimal from PostgreSQL)


class PairRow(NamedTuple):
    """A host pair as look-ups return it (`visit_count`: only where a look-up reads it)."""

    parent: str
    child: str
    cause: str
    first_seen: datetime
    last_seen: datetime
    visit_count: int | None = None


RESOLUTION = (Resolution.hostname, Resolution.ip, Resolution.first_seen, Resolution.last_seen, Resolution.visit_count,
              Resolution.imported_from)
TRACKER = (Tracker.hostname, Tracker.attribute_type, Tracker.attribute_value, Tracker.first_seen, Tracker.last_seen)
COOKIE = (Cookie.hostname, Cookie.cookie_name, Cookie.cookie_domain, Cookie.third_party, Cookie.first_seen,
          Cookie.last_seen)
COMPONENT = (Component.hostname, Component.category, Component.label, Component.version, Component.first_seen,
             Component.last_seen)
"""The columns each look-up returns: rows with these attributes (cheaper than ORM objects by far
on a page of 2,000)."""


def unreversed(reversed_: str) -> str:
    """`ch.misapor.sap.` back to `sap.misapor.ch`."""
    return ".".join(reversed(reversed_[:-1].split(".")))


def pairs(session: Session, host: str, direction: str, cause: str | None = None,
          window: Window = Window(), paging: Paging = Paging()) -> Page:
    """Host pairs whose parent (direction=children) or child (direction=parents) is `host` or below
    it, optionally only those seen between `start` and `end`; by the matched host, then the other.
    Without a cause or a time window, the total is summed from host_pair_counts."""
    children = direction == "children"
    matched, other = (HostPair.parent_reversed, HostPair.child) if children else (HostPair.child_reversed, HostPair.parent)
    statement = select(matched, other, HostPair.cause, HostPair.first_seen, HostPair.last_seen).where(
        host_filter(matched, host))  # all of them in the index: a page never reads the table
    if cause:
        statement = statement.where(HostPair.cause == cause)
    statement = statement.where(*window.conditions(HostPair.first_seen, HostPair.last_seen))
    total = None if cause or window else (
        select(func.coalesce(func.sum(HostPairCount.pairs), 0))
        .where(HostPairCount.direction == direction, host_filter(HostPairCount.host_reversed, host)))
    page = _paged(session, statement.order_by(matched, other, HostPair.cause), paging, total)
    return Page([PairRow(unreversed(m), o, k, f, l) if children else PairRow(o, unreversed(m), k, f, l)
                 for m, o, k, f, l in page.rows], page.total)


def pairs_after(session: Session, host: str, direction: str, causes: tuple[str, ...] = (),
                window: Window = Window(), after: tuple[str, str, str] | None = None,
                limit: int = PAGE_SIZE) -> list[PairRow]:
    """Host pairs of `host` as `pairs` orders them, from the one after the key `after` (matched
    host reversed, other host, cause: the last key of the previous page) on: cursor paging, as
    cheap on the thousandth page as on the first."""
    children = direction == "children"
    matched, other = (HostPair.parent_reversed, HostPair.child) if children else (HostPair.child_reversed, HostPair.parent)
    statement = select(matched, other, HostPair.cause, HostPair.first_seen, HostPair.last_seen,
                       HostPair.visit_count).where(
        host_filter(matched, host), *window.conditions(HostPair.first_seen, HostPair.last_seen))
    if causes:
        statement = statement.where(HostPair.cause.in_(causes))
    if after is not None:
        statement = statement.where(tuple_(matched, other, HostPair.cause) > tuple_(*after))
    rows = session.connection().execute(statement.order_by(matched, other, HostPair.cause).limit(limit)).all()
    return [PairRow(unreversed(m), o, k, f, l, n) if children else PairRow(o, unreversed(m), k, f, l, n)
            for m, o, k, f, l, n in rows]


def pair_key(pair: PairRow, direction: str) -> tuple[str, str, str]:
    """The key `pairs_after` continues from."""
    return ((reversed_host(pair.parent), pair.child, pair.cause) if direction == "children"
            else (reversed_host(pair.child), pair.parent, pair.cause))


def visits(session: Session, url: str | None = None, host: str | None = None, before_id: int | None = None,
           limit: int = 100) -> list[Visit]:
    """Visits of a page (as requested or as it ended up) or of a host and its subdomains, newest
    first, older than visit `before_id` (a subdomain is matched by a suffix, not an index: the
    newest visits are read until `limit` match)."""
    statement = select(Visit).order_by(Visit.id.desc()).limit(limit)
    if url is not None:
        statement = statement.where(or_(Visit.requested_url == url, Visit.final_url == url))
    if host is not None:
        statement = statement.where(or_(Visit.host == host, Visit.host.like("%." + host)))
    if before_id is not None:
        statement = statement.where(Visit.id < before_id)
    return list(session.scalars(statement))


@dataclass(frozen=True)
class ResolutionsPage(Page):
    """A page of resolutions, with when any of all of them was first and last seen."""

    first_seen: datetime | None = None
    last_seen: datetime | None = None


def _resolved(query: str, is_ip: bool):  # noqa: ANN202 (SQL expression)
    return Resolution.ip == query if is_ip else host_filter(Resolution.hostname_reversed, query)


def resolutions(session: Session, query: str, is_ip: bool, window: Window = Window(),
                paging: Paging = Paging()) -> ResolutionsPage:
    """Resolutions of a host and its subdomains (by host, then IP), or of an IP address (by host);
    an IP's total and first/last seen come from its summary row, not from all its resolutions
    (unless a window leaves some out)."""
    condition = and_(_resolved(query, is_ip), *window.conditions(Resolution.first_seen, Resolution.last_seen))
    order = (Resolution.ip, Resolution.hostname) if is_ip else (Resolution.hostname_reversed, Resolution.ip)
    summary = (select(IpResolutionSummary.hostnames, IpResolutionSummary.first_seen, IpResolutionSummary.last_seen)
               .where(IpResolutionSummary.ip == query) if is_ip and not window else
               select(func.count(), func.min(Resolution.first_seen), func.max(Resolution.last_seen)).where(condition))
    total, first, last = session.connection().execute(summary).one_or_none() or (0, None, None)
    page = _paged(session, select(*RESOLUTION).where(condition).order_by(*order), paging, total)
    return ResolutionsPage(page.rows, page.total, first, last)


def unique_resolutions(session: Session, query: str, is_ip: bool, window: Window = Window(),
                       paging: Paging = Paging()) -> Page:
    """The distinct answers for a host (its IPs) or an IP (its hosts) with how many visits saw
    each, most seen first."""
    answer = Resolution.hostname if is_ip else Resolution.ip
    condition = and_(_resolved(query, is_ip), *window.conditions(Resolution.first_seen, Resolution.last_seen))
    statement = (select(answer, func.sum(Resolution.visit_count)).where(condition).group_by(answer)
                 .order_by(func.sum(Resolution.visit_count).desc(), answer))
    return _paged(session, statement, paging, select(func.count(answer.distinct())).where(condition))


def latest_visit(session: Session, page_url: str) -> Visit | None:
    """The latest visit of `page_url` (as requested, or as it ended up after redirects)."""
    return session.scalar(
        select(Visit).where(or_(Visit.requested_url == page_url, Visit.final_url == page_url))
        .order_by(Visit.started_at.desc(), Visit.id.desc()).limit(1)
    )


def host_trackers(session: Session, host: str, window: Window = Window(), paging: Paging = Paging()) -> Page:
    """Tracker IDs seen on `host` and its subdomains."""
    return _paged(session, select(*TRACKER).where(host_filter(Tracker.hostname_reversed, host),
                                                  *window.conditions(Tracker.first_seen, Tracker.last_seen))
                  .order_by(Tracker.hostname_reversed, Tracker.attribute_type, Tracker.attribute_value), paging)


def _tracker_condition(value: str, attribute_type: str | None):  # noqa: ANN202 (SQL expression)
    condition = func.lower(Tracker.attribute_value) == value.lower()
    return and_(condition, Tracker.attribute_type == attribute_type) if attribute_type else condition


def _sharing(session: Session, hostname, first_seen, last_seen, condition, addresses: bool,  # noqa: ANN001
             window: Window, ordering: Ordering | None, paging: Paging) -> Page:
    """The hosts matching `condition` (with first and last seen over their matching records) or,
    with `addresses`, the IPs those hosts resolved to (first and last seen of the resolutions);
    rows (entity, first seen, last seen), by `ordering` or else by entity."""
    if addresses:
        hosts = select(hostname).where(condition, *window.conditions(first_seen, last_seen))
        entity, first_seen, last_seen = Resolution.ip, Resolution.first_seen, Resolution.last_seen
        condition = Resolution.hostname.in_(hosts)
    else:
        entity = hostname
    condition = and_(condition, *window.conditions(first_seen, last_seen))
    first, last = func.min(first_seen), func.max(last_seen)
    statement = (select(entity, first, last).where(condition).group_by(entity)
                 .order_by(*(ordering.by(first, last, entity) if ordering else (entity,))))
    return _paged(session, statement, paging, select(func.count(entity.distinct())).where(condition))


def tracker_hosts(session: Session, value: str, attribute_type: str | None = None, addresses: bool = False,
                  window: Window = Window(), ordering: Ordering | None = None, paging: Paging = Paging()) -> Page:
    """Every host seen with tracker `value`, any case (the pivot), or with `addresses` the IPs
    those hosts resolved to: rows (entity, first seen, last seen)."""
    return _sharing(session, Tracker.hostname, Tracker.first_seen, Tracker.last_seen,
                    _tracker_condition(value, attribute_type), addresses, window, ordering, paging)


def cookie_hosts(session: Session, name: str | None = None, domain: str | None = None, addresses: bool = False,
                 window: Window = Window(), ordering: Ordering | None = None, paging: Paging = Paging()) -> Page:
    """Every host seen setting a cookie of `name`, or of `domain` (and its subdomains), or with
    `addresses` the IPs those hosts resolved to: rows (entity, first seen, last seen)."""
    condition = Cookie.cookie_name == name if name is not None else host_filter(Cookie.cookie_domain_reversed, domain)
    return _sharing(session, Cookie.hostname, Cookie.first_seen, Cookie.last_seen, condition, addresses, window,
                    ordering, paging)


def cookies(session: Session, host: str | None = None, name: str | None = None,
            domain: str | None = None, window: Window = Window(), paging: Paging = Paging()) -> Page:
    """Cookies by host (and subdomains), by cookie name, or by cookie domain (and subdomains),
    in the order of the index the first of them given uses."""
    statement = select(*COOKIE).where(*window.conditions(Cookie.first_seen, Cookie.last_seen))
    if host:
        statement = statement.where(host_filter(Cookie.hostname_reversed, host))
    if name:
        statement = statement.where(Cookie.cookie_name == name)
    if domain:
        statement = statement.where(host_filter(Cookie.cookie_domain_reversed, domain))
    if host:
        order = (Cookie.hostname_reversed, Cookie.cookie_domain, Cookie.cookie_name)
    elif name:
        order = (Cookie.cookie_name, Cookie.hostname, Cookie.cookie_domain)
    else:
        order = (Cookie.cookie_domain_reversed, Cookie.hostname, Cookie.cookie_name)
    return _paged(session, statement.order_by(*order), paging)


def host_components(session: Session, host: str, window: Window = Window(), paging: Paging = Paging()) -> Page:
    """Web technologies seen on `host` and its subdomains."""
    return _paged(session, select(*COMPONENT).where(host_filter(Component.hostname_reversed, host),
                                                    *window.conditions(Component.first_seen, Component.last_seen))
                  .order_by(Component.hostname_reversed, Component.category, Component.label, Component.version),
                  paging)


def tracker_values(session: Session, text: str) -> list[str]:
    """The tracker values stored that are `text`, any case (as stored)."""
    return list(session.execute(select(Tracker.attribute_value).where(
        func.lower(Tracker.attribute_value) == text.lower()).distinct().limit(10)).scalars())


def tracker_host_counts(session: Session, values: set[str]) -> dict[str, int]:
    """How many hosts share each tracker value (by its lower-case form)."""
    if not values:
        return {}
    value = func.lower(Tracker.attribute_value)
    return dict(session.execute(select(value, func.count(Tracker.hostname.distinct()))
                                .where(value.in_({v.lower() for v in values})).group_by(value)).all())


def cookie_name_exists(session: Session, name: str) -> bool:
    """Whether any visit ended with a cookie of this name."""
    return session.execute(select(Cookie.id).where(Cookie.cookie_name == name).limit(1)).first() is not None


def host_alerts(session: Session, host: str, limit: int) -> list[Alert]:
    """Alerts whose page or new child is `host` or one of its subdomains, newest first."""
    below = "%." + host
    return list(session.scalars(
        select(Alert).join(Visit, Visit.id == Alert.visit_id)
        .where(or_(Alert.child_host == host, Alert.child_host.like(below), Visit.host == host, Visit.host.like(below)))
        .order_by(Alert.id.desc()).limit(limit)))


def previous_visit(session: Session, visit: Visit) -> Visit | None:
    """The visit of the same URL before `visit`."""
    return session.scalar(select(Visit).where(Visit.requested_url == visit.requested_url, Visit.id < visit.id)
                          .order_by(Visit.id.desc()).limit(1))


def visit_hosts(session: Session, visit_id: int) -> set[str]:
    """The hosts a visit's page loaded anything from."""
    return set(session.execute(select(Dependency.host).where(Dependency.visit_id == visit_id,
                                                             Dependency.host.is_not(None)).distinct()).scalars())


def has_screenshot(session: Session, visit_id: int) -> bool:
    """Whether the visit's screenshot is stored (without reading it)."""
    return session.execute(select(Screenshot.visit_id).where(Screenshot.visit_id == visit_id)).first() is not None


def has_complete_capture(session: Session, visit_id: int) -> bool:
    """Whether the visit's capture is kept whole (without reading it)."""
    return session.execute(select(KeptCapture.visit_id).where(
        KeptCapture.visit_id == visit_id, KeptCapture.complete.is_(True))).first() is not None


def has_inventory(session: Session, page_url: str) -> bool:
    """Whether the page's scripts are inventoried (its seed group is tagged payment or inventory = true)."""
    return session.execute(select(InventoryScript.id).where(InventoryScript.page_url == page_url).limit(1)).first() is not None


def marked_references(session: Session, visit_id: int) -> list[tuple[str, str, str, str, str | None, str | None]]:
    """A visit's references marked in their evidence — resource hints, scripts parked under a
    type that is not JavaScript — as (URL, cause, parent, child, hint, declared type)."""
    return [tuple(row) for row in session.execute(
        select(PairEvidence.child_url, HostPair.cause, HostPair.parent, HostPair.child, PairEvidence.hint,
               PairEvidence.declared_type).join(HostPair, HostPair.id == PairEvidence.host_pair_id)
        .where(PairEvidence.visit_id == visit_id,
               or_(PairEvidence.hint.is_not(None), PairEvidence.declared_type.is_not(None)))
        .order_by(PairEvidence.id))]


MAX_SUBDOMAINS = 10_000


def subdomains(session: Session, domain: str) -> list[str]:
    """The subdomains of `domain` the crawler saw (resolved, or in a host pair), as the labels
    before it (`www` for www.example.com), sorted; at most MAX_SUBDOMAINS."""
    below = reversed_host(domain)
    found: set[str] = set()
    for column in (Resolution.hostname_reversed, HostPair.parent_reversed, HostPair.child_reversed):
        statement = (select(column).where(column > below, column < below[:-1] + "/").distinct()
                     .order_by(column).limit(MAX_SUBDOMAINS))
        found.update(unreversed(host)[:-len(domain) - 1] for host in session.execute(statement).scalars())
    return sorted(found)[:MAX_SUBDOMAINS]


def dataset_counts(session: Session, query: str, is_ip: bool) -> dict[str, int]:
    """How many records each data set holds for a host (and its subdomains) or an IP; host pairs
    counted as look-ups in both directions count them (a pair within the domain counts twice)."""
    def count(statement: Select) -> int:
        return int(session.execute(statement).scalar() or 0)

    pairs = select(func.coalesce(func.sum(HostPairCount.pairs), 0)).where(
        host_filter(HostPairCount.host_reversed, query))
    return {
        "resolutions": count(select(IpResolutionSummary.hostnames).where(IpResolutionSummary.ip == query)) if is_ip
        else count(select(func.count()).where(_resolved(query, is_ip))),
        "host_pairs": count(pairs),
        "trackers": count(select(func.count()).where(host_filter(Tracker.hostname_reversed, query))),
        "components": count(select(func.count()).where(host_filter(Component.hostname_reversed, query))),
        "cookies": count(select(func.count()).where(host_filter(Cookie.hostname_reversed, query))),
    }


def job_visits(session: Session, job: str) -> set[tuple[str, str | None]]:
    """(requested URL, seed group) of every visit the crawl job `job` stored."""
    return {(url, group) for url, group in session.execute(select(Visit.requested_url, Visit.seed_group)
                                                              .where(Visit.job == job))}
