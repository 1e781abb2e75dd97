"""Read side: the look-ups analysts pivot with, as pages of rows (api/passivetotal.py shapes them).

Every look-up is a range of one index, ordered as that index is (the matched host reversed, then
the other key columns), so a page is read off the index in order however many rows match: the
first page of `parents of www.googletagmanager.com` costs what any first page costs. The order is
a total order on unique keys, so pages never overlap or skip rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Row, Select, and_, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from hostpairs.storage.models import (
    Component,
    Cookie,
    HostPair,
    HostPairCount,
    IpResolutionSummary,
    Resolution,
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
    """A host pair as look-ups return it."""

    parent: str
    child: str
    cause: str
    first_seen: datetime
    last_seen: datetime


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
          start: datetime | None = None, end: datetime | None = None, paging: Paging = Paging()) -> Page:
    """Host pairs whose parent (direction=children) or child (direction=parents) is `host` or below
    it, optionally only those seen between `start` and `end`; by the matched host, then the other.
    Without a cause or a time window, the total is summed from host_pair_counts."""
    children = direction == "children"
    matched, other = (HostPair.parent_reversed, HostPair.child) if children else (HostPair.child_reversed, HostPair.parent)
    statement = select(matched, other, HostPair.cause, HostPair.first_seen, HostPair.last_seen).where(
        host_filter(matched, host))  # all of them in the index: a page never reads the table
    if cause:
        statement = statement.where(HostPair.cause == cause)
    if start:
        statement = statement.where(HostPair.last_seen >= start)
    if end:
        statement = statement.where(HostPair.first_seen <= end)
    total = None if cause or start or end else (
        select(func.coalesce(func.sum(HostPairCount.pairs), 0))
        .where(HostPairCount.direction == direction, host_filter(HostPairCount.host_reversed, host)))
    page = _paged(session, statement.order_by(matched, other, HostPair.cause), paging, total)
    return Page([PairRow(unreversed(m), o, k, f, l) if children else PairRow(o, unreversed(m), k, f, l)
                 for m, o, k, f, l in page.rows], page.total)


@dataclass(frozen=True)
class ResolutionsPage(Page):
    """A page of resolutions, with when any of all of them was first and last seen."""

    first_seen: datetime | None = None
    last_seen: datetime | None = None


def _resolved(query: str, is_ip: bool):  # noqa: ANN202 (SQL expression)
    return Resolution.ip == query if is_ip else host_filter(Resolution.hostname_reversed, query)


def resolutions(session: Session, query: str, is_ip: bool, paging: Paging = Paging()) -> ResolutionsPage:
    """Resolutions of a host and its subdomains (by host, then IP), or of an IP address (by host);
    an IP's total and first/last seen come from its summary row, not from all its resolutions."""
    condition = _resolved(query, is_ip)
    order = (Resolution.ip, Resolution.hostname) if is_ip else (Resolution.hostname_reversed, Resolution.ip)
    summary = (select(IpResolutionSummary.hostnames, IpResolutionSummary.first_seen, IpResolutionSummary.last_seen)
               .where(IpResolutionSummary.ip == query) if is_ip else
               select(func.count(), func.min(Resolution.first_seen), func.max(Resolution.last_seen)).where(condition))
    total, first, last = session.connection().execute(summary).one_or_none() or (0, None, None)
    page = _paged(session, select(*RESOLUTION).where(condition).order_by(*order), paging, total)
    return ResolutionsPage(page.rows, page.total, first, last)


def unique_resolutions(session: Session, query: str, is_ip: bool,
                       paging: Paging = Paging()) -> Page:
    """The distinct answers for a host (its IPs) or an IP (its hosts) with how many visits saw
    each, most seen first."""
    answer = Resolution.hostname if is_ip else Resolution.ip
    condition = _resolved(query, is_ip)
    statement = (select(answer, func.sum(Resolution.visit_count)).where(condition).group_by(answer)
                 .order_by(func.sum(Resolution.visit_count).desc(), answer))
    return _paged(session, statement, paging, select(func.count(answer.distinct())).where(condition))


def latest_visit(session: Session, page_url: str) -> Visit | None:
    """The latest visit of `page_url` (as requested, or as it ended up after redirects)."""
    return session.scalar(
        select(Visit).where(or_(Visit.requested_url == page_url, Visit.final_url == page_url))
        .order_by(Visit.started_at.desc(), Visit.id.desc()).limit(1)
    )


def host_trackers(session: Session, host: str, paging: Paging = Paging()) -> Page:
    """Tracker IDs seen on `host` and its subdomains."""
    return _paged(session, select(*TRACKER).where(host_filter(Tracker.hostname_reversed, host))
                  .order_by(Tracker.hostname_reversed, Tracker.attribute_type, Tracker.attribute_value), paging)


def tracker_hosts(session: Session, value: str, attribute_type: str | None = None,
                  paging: Paging = Paging()) -> Page:
    """Every host seen with tracker `value`, any case (the pivot): (hostname, first seen, last seen)."""
    condition = func.lower(Tracker.attribute_value) == value.lower()
    if attribute_type:
        condition = and_(condition, Tracker.attribute_type == attribute_type)
    statement = (select(Tracker.hostname, func.min(Tracker.first_seen), func.max(Tracker.last_seen))
                 .where(condition).group_by(Tracker.hostname).order_by(Tracker.hostname))
    return _paged(session, statement, paging, select(func.count(Tracker.hostname.distinct())).where(condition))


def cookies(session: Session, host: str | None = None, name: str | None = None,
            domain: str | None = None, paging: Paging = Paging()) -> Page:
    """Cookies by host (and subdomains), by cookie name, or by cookie domain (and subdomains),
    in the order of the index the first of them given uses."""
    statement = select(*COOKIE)
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


def host_components(session: Session, host: str, paging: Paging = Paging()) -> Page:
    """Web technologies seen on `host` and its subdomains."""
    return _paged(session, select(*COMPONENT).where(host_filter(Component.hostname_reversed, host))
                  .order_by(Component.hostname_reversed, Component.category, Component.label, Component.version),
                  paging)


def job_visits(session: Session, job: str) -> set[tuple[str, str | None]]:
    """(requested URL, seed group) of every visit the crawl job `job` stored."""
    return {(url, group) for url, group in session.execute(select(Visit.requested_url, Visit.seed_group)
                                                              .where(Visit.job == job))}
