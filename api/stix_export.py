"""Exports as a STIX 2.1 bundle: the objects are the stix2 library's, the bundle around them is
written here as they stream, so memory stays flat.

- A host is a domain-name (an IP literal: ipv4-addr, ipv6-addr), an alert's URLs are url objects:
  observables, whose ids STIX derives from their value (UUIDv5), each written once, from the
  database's distinct values, before the objects that refer to them.
- A host pair is a relationship `related-to` from the parent's domain-name to the child's, its
  description naming the cause, start_time/stop_time its first/last seen.
- A resolution is a relationship `resolves-to` (STIX 2.1's, domain-name → address), times as above.
- A tracker is a note on its host's domain-name: abstract its type and ID, content them with the
  times. STIX has no tracker object, and a note needs no custom property: the bundle parses
  without allow_custom.
- An alert is an indicator `[domain-name:value = 'child']` (one an alert, each naming one child
  host), valid from when it was raised, labelled with its kind and severity, and a sighting of it
  by hostpairs whose observed-data holds the page's domain-name and URL and the child's URL.

STIX wants a stop_time later than the start_time: a record first and last seen in the same second
has a start_time only (its description gives both times). SDOs and SROs are created by hostpairs'
identity; `created`/`modified` are their first/last seen (an alert's: when it was raised); their
ids are UUIDv5 of what they describe. Times are whole seconds, as in the other formats."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy.orm import Session
from stix2 import v21

from hostpairs.api.exports import stable_uuid
from hostpairs.api.passivetotal import pt_time
from hostpairs.extractors.hosts import host_of, is_ip_address
from hostpairs.storage import exports
from hostpairs.storage.exports import Selection
from hostpairs.storage.models import Alert

IDENTITY = v21.Identity(id=f"identity--{stable_uuid('identity', 'hostpairs')}", name="hostpairs",
                        identity_class="system", created=datetime(2026, 1, 1), modified=datetime(2026, 1, 1),
                        description="The hostpairs crawler: what pages loaded, as it observed them.")
"""The creator of every SDO and SRO (the same object in every export)."""


def _object_id(kind: str, *described: str) -> str:
    return f"{kind}--{stable_uuid(kind, *described)}"


def _host_object(host: str) -> v21.DomainName | v21.IPv4Address | v21.IPv6Address:
    if is_ip_address(host):
        return v21.IPv6Address(value=host) if ":" in host else v21.IPv4Address(value=host)
    return v21.DomainName(value=host)


@lru_cache(maxsize=4096)
def _host_id(host: str) -> str:
    """The id of a host's observable (popular hosts are named by many records: kept, a few)."""
    return _host_object(host).id


def _seen(first: datetime, last: datetime) -> dict[str, Any]:
    """A record's first and last seen as an SRO's or SDO's times, by hostpairs."""
    first, last = first.replace(microsecond=0), last.replace(microsecond=0)
    return {"created": first, "modified": last, "created_by_ref": IDENTITY.id}


def _relationship_times(first: datetime, last: datetime) -> dict[str, Any]:
    """`_seen`, and the same as the relationship's start and stop time (see the module's note)."""
    times = _seen(first, last)
    start, stop = times["created"], times["modified"]
    return {"start_time": start, **({"stop_time": stop} if stop > start else {}), **times}


def _objects(objects: Iterable[Any]) -> str:
    """Objects as the bundle's next entries (the identity is its first)."""
    return "".join(",\n" + stix.serialize() for stix in objects)


def _pairs(session: Session, selection: Selection) -> Iterator[str]:
    for hosts in exports.pair_hosts(session, selection):
        yield _objects(map(_host_object, hosts))
    for batch in exports.pairs(session, selection):
        yield _objects(v21.Relationship(
            id=_object_id("relationship", "pair", parent, child, cause), relationship_type="related-to",
            source_ref=_host_id(parent), target_ref=_host_id(child),
            description=f"{cause}: {parent} references {child} (first seen {pt_time(first)}, "
                        f"last seen {pt_time(last)} UTC)", **_relationship_times(first, last))
            for parent, child, cause, first, last in batch)


def _resolutions(session: Session, selection: Selection) -> Iterator[str]:
    for values in exports.resolution_values(session, selection):
        yield _objects(map(_host_object, values))
    for batch in exports.resolutions(session, selection):
        yield _objects(v21.Relationship(
            id=_object_id("relationship", "resolution", hostname, ip), relationship_type="resolves-to",
            source_ref=_host_id(hostname), target_ref=_host_id(ip),
            description=f"{hostname} resolved to {ip} (first seen {pt_time(first)}, last seen {pt_time(last)} UTC)",
            **_relationship_times(first, last))
            for hostname, ip, first, last in batch)


def _trackers(session: Session, selection: Selection) -> Iterator[str]:
    for hosts in exports.tracker_hosts(session, selection):
        yield _objects(map(_host_object, hosts))
    for batch in exports.trackers(session, selection):
        yield _objects(v21.Note(
            id=_object_id("note", "tracker", hostname, kind, value), abstract=f"{kind} {value}",
            content=f"Tracker {kind} {value} on {hostname}: first seen {pt_time(first)}, "
                    f"last seen {pt_time(last)} UTC.",
            object_refs=[_host_id(hostname)], authors=["hostpairs"], **_seen(first, last))
            for hostname, kind, value, first, last in batch)


def _alert_objects(alert: Alert) -> tuple[v21.Indicator, v21.ObservedData, v21.Sighting]:
    """An alert's indicator, and the sighting of it on the page."""
    key = ("alert", alert.page_url, alert.kind, alert.child_url, alert.created_at.isoformat())
    page_host = host_of(alert.page_url)
    child = _host_object(alert.child_host)
    value = alert.child_host.replace("\\", "\\\\").replace("'", "\\'")
    signals = ", ".join(json.loads(alert.signals))
    times = _seen(alert.created_at, alert.created_at)
    raised = times["created"]
    indicator = v21.Indicator(
        id=_object_id("indicator", *key), name=f"{alert.kind}: {alert.child_host} on {page_host or alert.page_url}",
        description=f"hostpairs alert {alert.id}: {alert.kind} ({alert.severity}) on {alert.page_url}: "
                    f"{alert.child_url}" + (f"; signals: {signals}" if signals else ""),
        indicator_types=["anomalous-activity"], labels=[alert.kind, alert.severity],
        pattern=f"[{child['type']}:value = '{value}']", pattern_type="stix", valid_from=raised, **times)
    observed = v21.ObservedData(
        id=_object_id("observed-data", *key), first_observed=raised, last_observed=raised, number_observed=1,
        object_refs=[*([_host_id(page_host)] if page_host else []), v21.URL(value=alert.page_url).id,
                     v21.URL(value=alert.child_url).id, child.id], **times)
    sighting = v21.Sighting(
        id=_object_id("sighting", *key), sighting_of_ref=indicator.id, observed_data_refs=[observed.id],
        where_sighted_refs=[IDENTITY.id], first_seen=raised, last_seen=raised, count=1,
        description=f"{alert.child_url} on {alert.page_url}", **times)
    return indicator, observed, sighting


def _alerts(session: Session, selection: Selection) -> Iterator[str]:
    """The alerts' hosts once each: the child hosts are distinct in the database, the pages' hosts
    (taken from their URLs) are held while they are written — the watched sites, a few."""
    page_hosts = sorted({host for urls in exports.alert_page_urls(session, selection) for url in urls
                         if (host := host_of(url))})
    yield _objects(map(_host_object, page_hosts))
    written = frozenset(page_hosts)
    for hosts in exports.alert_child_hosts(session, selection):
        yield _objects(_host_object(host) for host in hosts if host not in written)
    for urls in exports.alert_urls(session, selection):
        yield _objects(v21.URL(value=url) for url in urls)
    for alerts in exports.alerts(session, selection):
        yield _objects(stix for alert in alerts for stix in _alert_objects(alert))


OBJECTS: dict[str, Callable[[Session, Selection], Iterator[str]]] = {
    "pairs": _pairs, "resolutions": _resolutions, "trackers": _trackers, "alerts": _alerts}


def stix_chunks(session: Session, dataset: str, selection: Selection) -> Iterator[str]:
    """A STIX 2.1 bundle: hostpairs' identity, the observables, then the objects about them."""
    yield f'{{"type": "bundle", "id": "bundle--{uuid.uuid4()}", "objects": [\n{IDENTITY.serialize()}'
    yield from OBJECTS[dataset](session, selection)
    yield "\n]}\n"
