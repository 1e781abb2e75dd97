"""Read side: the look-ups analysts pivot with, as rows (api/passivetotal.py shapes them)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from hostpairs.storage.models import Component, Cookie, HostPair, Resolution, Tracker, Visit, reversed_host


def host_filter(reversed_column: InstrumentedAttribute[str], query: str):  # noqa: ANN201 (SQL expression)
    """The host itself or any of its subdomains, as PassiveTotal matched: a range of the
    reversed-host column's index (`ch.misapor.` up to `ch.misapor/`, '/' following '.')."""
    start = reversed_host(query)
    return and_(reversed_column >= start, reversed_column < start[:-1] + "/")


def pairs(session: Session, host: str, direction: str, cause: str | None = None,
          start: datetime | None = None, end: datetime | None = None) -> list[HostPair]:
    """Host pairs whose parent (direction=children) or child (direction=parents) is `host` or below
    it, optionally only those seen between `start` and `end`; latest first."""
    column = HostPair.parent_reversed if direction == "children" else HostPair.child_reversed
    statement = select(HostPair).where(host_filter(column, host))
    if cause:
        statement = statement.where(HostPair.cause == cause)
    if start:
        statement = statement.where(HostPair.last_seen >= start)
    if end:
        statement = statement.where(HostPair.first_seen <= end)
    statement = statement.order_by(HostPair.last_seen.desc(), HostPair.parent, HostPair.child, HostPair.cause)
    return list(session.scalars(statement))


def resolutions(session: Session, query: str, is_ip: bool) -> list[Resolution]:
    """Resolutions of a host and its subdomains, or of an IP address; latest first."""
    condition = Resolution.ip == query if is_ip else host_filter(Resolution.hostname_reversed, query)
    return list(session.scalars(select(Resolution).where(condition)
                                .order_by(Resolution.last_seen.desc(), Resolution.hostname, Resolution.ip)))


def latest_visit(session: Session, page_url: str) -> Visit | None:
    """The latest visit of `page_url` (as requested, or as it ended up after redirects)."""
    return session.scalar(
        select(Visit).where(or_(Visit.requested_url == page_url, Visit.final_url == page_url))
        .order_by(Visit.started_at.desc(), Visit.id.desc()).limit(1)
    )


def host_trackers(session: Session, host: str) -> list[Tracker]:
    """Tracker IDs seen on `host` and its subdomains."""
    return list(session.scalars(
        select(Tracker).where(host_filter(Tracker.hostname_reversed, host))
        .order_by(Tracker.hostname, Tracker.attribute_type, Tracker.attribute_value)
    ))


def tracker_hosts(session: Session, value: str, attribute_type: str | None = None) -> list[tuple[str, datetime, datetime]]:
    """Every host seen with tracker `value` (the pivot): (hostname, first seen, last seen)."""
    statement = (
        select(Tracker.hostname, func.min(Tracker.first_seen), func.max(Tracker.last_seen))
        .where(func.lower(Tracker.attribute_value) == value.lower())
        .group_by(Tracker.hostname)
        .order_by(Tracker.hostname)
    )
    if attribute_type:
        statement = statement.where(Tracker.attribute_type == attribute_type)
    return [(hostname, first, last) for hostname, first, last in session.execute(statement)]


def cookies(session: Session, host: str | None = None, name: str | None = None,
            domain: str | None = None) -> list[Cookie]:
    """Cookies by host (and subdomains), by cookie name, or by cookie domain (and subdomains)."""
    statement = select(Cookie).order_by(Cookie.hostname, Cookie.cookie_domain, Cookie.cookie_name)
    if host:
        statement = statement.where(host_filter(Cookie.hostname_reversed, host))
    if name:
        statement = statement.where(Cookie.cookie_name == name)
    if domain:
        statement = statement.where(host_filter(Cookie.cookie_domain_reversed, domain))
    return list(session.scalars(statement))


def host_components(session: Session, host: str) -> list[Component]:
    """Web technologies seen on `host` and its subdomains."""
    return list(session.scalars(
        select(Component).where(host_filter(Component.hostname_reversed, host))
        .order_by(Component.hostname, Component.category, Component.label)
    ))


def job_visits(session: Session, job: str) -> set[tuple[str, str | None]]:
    """(requested URL, seed group) of every visit the crawl job `job` stored."""
    return {(url, group) for url, group in session.execute(select(Visit.requested_url, Visit.seed_group)
                                                              .where(Visit.job == job))}
