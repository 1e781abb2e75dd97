"""Exports as a MISP event (MISP's JSON format, `{"Event": {...}}`): the objects are PyMISP's, made
from MISP's own object templates; the event around them is written here as they stream, so memory
stays flat.

- A resolution is a `domain-ip` object: domain and ip.
- A host pair: MISP has no object for one, and only objects carry references (attributes do not),
  so a pair is two `domain-ip` objects, one a host (its domain, or ip for an IP literal), the
  parent's referencing the child's as `parent-of`, the cause in the reference's and the objects'
  comments. A host is in as many objects as pairs: MISP correlates them by value.
- A tracker is a `tracking-id` object: id, tracker (its type), hostname.
- An alert is a `url` object of the child URL (url, host, text: kind, severity, signals), `found-on`
  a `url` object of the page.

Every object and attribute has first_seen/last_seen (an alert's: when it was raised), in whole
seconds. No attribute is marked for IDS (to_ids false): most hosts a crawl sees are no threat, an
analyst decides which are. UUIDs are UUIDv5 of what they describe (the event's: of what was
asked for), so exporting again gives the same UUIDs."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime

from pymisp import MISPEvent, MISPObject
from sqlalchemy.orm import Session

from hostpairs.api.exports import stable_uuid
from hostpairs.api.passivetotal import pt_time
from hostpairs.extractors.hosts import host_of, is_ip_address
from hostpairs.storage import exports
from hostpairs.storage.exports import Selection
from hostpairs.storage.times import aware, utcnow


def _object(template: str, key: tuple[str, ...], first: datetime, last: datetime, attributes: dict[str, str],
            comment: str = "") -> MISPObject:
    """An object of MISP's `template` holding `attributes` (object relation: value), all seen from
    `first` to `last`."""
    first, last = aware(first.replace(microsecond=0)), aware(last.replace(microsecond=0))
    misp_object = MISPObject(template, standalone=False)
    misp_object.uuid = stable_uuid(template, *key)
    misp_object.comment = comment
    misp_object.first_seen, misp_object.last_seen = first, last
    for relation, value in attributes.items():
        misp_object.add_attribute(relation, value=value, uuid=stable_uuid(misp_object.uuid, relation), to_ids=False,
                                  first_seen=first, last_seen=last)
    return misp_object


def _host(host: str, name: str = "domain") -> dict[str, str]:
    """A host as an object's attribute: `name`, or ip for an IP address."""
    return {"ip" if is_ip_address(host) else name: host}


def _pairs(session: Session, selection: Selection) -> Iterator[list[MISPObject]]:
    for batch in exports.pairs(session, selection):
        objects = []
        for parent, child, cause, first, last in batch:
            key = ("pair", parent, child, cause)
            parent_object = _object("domain-ip", (*key, "parent"), first, last, _host(parent),
                                    f"references {child} ({cause})")
            child_object = _object("domain-ip", (*key, "child"), first, last, _host(child),
                                   f"referenced by {parent} ({cause})")
            parent_object.add_reference(child_object.uuid, "parent-of", cause, uuid=stable_uuid(*key, "reference"))
            objects += (parent_object, child_object)
        yield objects


def _resolutions(session: Session, selection: Selection) -> Iterator[list[MISPObject]]:
    for batch in exports.resolutions(session, selection):
        yield [_object("domain-ip", ("resolution", hostname, ip), first, last, {**_host(hostname), "ip": ip})
               for hostname, ip, first, last in batch]


def _trackers(session: Session, selection: Selection) -> Iterator[list[MISPObject]]:
    for batch in exports.trackers(session, selection):
        yield [_object("tracking-id", ("tracker", hostname, kind, value), first, last,
                       {"id": value, "tracker": kind, "hostname": hostname})
               for hostname, kind, value, first, last in batch]


def _alerts(session: Session, selection: Selection) -> Iterator[list[MISPObject]]:
    for alerts in exports.alerts(session, selection):
        objects = []
        for alert in alerts:
            key = ("alert", alert.page_url, alert.kind, alert.child_url, alert.created_at.isoformat())
            raised = alert.created_at
            signals = ", ".join(json.loads(alert.signals))
            page_host = host_of(alert.page_url)
            page = _object("url", (*key, "page"), raised, raised,
                           {"url": alert.page_url, **(_host(page_host, "host") if page_host else {})})
            child = _object("url", (*key, "child"), raised, raised, {
                "url": alert.child_url, **_host(alert.child_host, "host"),
                "text": f"hostpairs alert {alert.id}: {alert.kind} ({alert.severity}) on {alert.page_url}"
                        + (f"; signals: {signals}" if signals else "")})
            child.add_reference(page.uuid, "found-on", alert.kind, uuid=stable_uuid(*key, "reference"))
            objects += (page, child)
        yield objects


OBJECTS: dict[str, Callable[[Session, Selection], Iterator[list[MISPObject]]]] = {
    "pairs": _pairs, "resolutions": _resolutions, "trackers": _trackers, "alerts": _alerts}


def _event_head(dataset: str, selection: Selection) -> str:
    """The event's own fields, up to its list of objects."""
    event = MISPEvent()
    event.info = (f"hostpairs {dataset}" + (f" of {selection.host}" if selection.host else "")
                  + (f" ({selection.direction})" if selection.host and dataset == "pairs" else "")
                  + (f" since {pt_time(selection.since)}" if selection.since else ""))
    event.uuid = stable_uuid("event", dataset, selection.host or "", selection.direction,
                             selection.since.isoformat() if selection.since else "")
    event.date = utcnow().date()
    event.threat_level_id = 4  # undefined
    event.analysis = 2  # completed
    event.distribution = 0  # this organisation only
    event.published = False
    return '{"Event": ' + json.dumps(event.to_dict())[:-1] + ', "Object": ['


def misp_chunks(session: Session, dataset: str, selection: Selection) -> Iterator[str]:
    """A MISP event holding the records' objects."""
    yield _event_head(dataset, selection)
    separator = "\n"
    for objects in OBJECTS[dataset](session, selection):
        if objects:
            yield separator + ",\n".join(misp_object.to_json() for misp_object in objects)
            separator = ",\n"
    yield "\n]}}\n"
