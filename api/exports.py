"""Exports of a data set, whole or one host's (`hostpairs export`, `GET /api/v1/export/{dataset}`):
what to export, checked once for the CLI and the API, and the export as text chunks: CSV or JSON
lines in PassiveTotal's field names here, a STIX 2.1 bundle (api/stix_export.py) or a MISP event
(api/misp_export.py). Rows are read in batches and each batch is written as it comes, so memory
stays flat however large the export."""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from hostpairs.api import parameters
from hostpairs.api.alert_events import alert_event
from hostpairs.api.passivetotal import pt_time
from hostpairs.storage import exports
from hostpairs.storage.exports import Selection

DATASETS = ("pairs", "resolutions", "trackers", "alerts")
FORMATS = ("csv", "jsonl", "stix", "misp")
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson",
               "stix": "application/stix+json;version=2.1", "misp": "application/json"}
SUFFIXES = {"csv": "csv", "jsonl": "jsonl", "stix": "json", "misp": "json"}
FIELDS = {
    "pairs": ("parent", "child", "cause", "firstSeen", "lastSeen"),
    "resolutions": ("hostname", "ip", "firstSeen", "lastSeen"),
    "trackers": ("hostname", "attributeType", "attributeValue", "firstSeen", "lastSeen"),
    "alerts": ("source", "id", "timestamp", "kind", "severity", "page_url", "page_host", "child_host", "child_url",
               "cause", "signals", "seed_group", "visit_id", "acknowledged", "evidence"),
}
"""Each data set's records: PassiveTotal's field names; alerts as `alert_event` shapes them."""
NAMESPACE = uuid.UUID("5d72317a-4492-469c-839c-a1a87dd71088")
"""Of the UUIDv5 of exported objects (changed, every exported id would change)."""


def stable_uuid(*parts: str) -> str:
    """A UUIDv5 of what an exported object describes: exported again, it keeps its id."""
    return str(uuid.uuid5(NAMESPACE, "|".join(parts)))


@dataclass(frozen=True)
class Export:
    """A data set, the records of it to take, and the format to write them in."""

    dataset: str
    format: str
    selection: Selection


def export_request(dataset: str, export_format: str, query: str | None, direction: str | None,
                   since: str | None) -> Export:
    """An export as asked for (CLI options or API parameters, as typed), or InvalidQuery."""
    if dataset not in DATASETS:
        raise parameters.InvalidQuery(f"no data set {dataset!r} (one of: {', '.join(DATASETS)})")
    if export_format not in FORMATS:
        raise parameters.InvalidQuery(f"format: not one of {', '.join(FORMATS)}: {export_format!r}")
    if query and dataset == "alerts":
        raise parameters.InvalidQuery("query: alerts are exported whole (since limits them)")
    if direction is not None and not (query and dataset == "pairs"):
        raise parameters.InvalidQuery("direction: only for pairs with a query")
    host = parameters.host(query) if query else None
    chosen = parameters.direction("children" if direction is None else direction)
    return Export(dataset, export_format, Selection(host.value if host else None, bool(host and host.is_ip), chosen,
                                                    parameters.date(since, "since")))


def records(session: Session, dataset: str, selection: Selection) -> Iterator[list[dict[str, Any]]]:
    """The records of `dataset` in batches, shaped as FIELDS name them."""
    if dataset == "pairs":
        for batch in exports.pairs(session, selection):
            yield [{"parent": parent, "child": child, "cause": cause, "firstSeen": pt_time(first),
                    "lastSeen": pt_time(last)} for parent, child, cause, first, last in batch]
    elif dataset == "resolutions":
        for batch in exports.resolutions(session, selection):
            yield [{"hostname": hostname, "ip": ip, "firstSeen": pt_time(first), "lastSeen": pt_time(last)}
                   for hostname, ip, first, last in batch]
    elif dataset == "trackers":
        for batch in exports.trackers(session, selection):
            yield [{"hostname": hostname, "attributeType": kind, "attributeValue": value, "firstSeen": pt_time(first),
                    "lastSeen": pt_time(last)} for hostname, kind, value, first, last in batch]
    else:
        for alerts in exports.alerts(session, selection):
            yield [alert_event(alert) for alert in alerts]


def _csv_value(value: Any) -> Any:
    """A field as a CSV cell: lists, objects and booleans as JSON, None as nothing."""
    return json.dumps(value) if isinstance(value, (list, dict, bool)) else value


def csv_chunks(session: Session, dataset: str, selection: Selection) -> Iterator[str]:
    """A header row of FIELDS, then a row a record."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, FIELDS[dataset])
    writer.writeheader()
    yield buffer.getvalue()
    for batch in records(session, dataset, selection):
        buffer.seek(0)
        buffer.truncate()
        writer.writerows({name: _csv_value(value) for name, value in record.items()} for record in batch)
        yield buffer.getvalue()


def jsonl_chunks(session: Session, dataset: str, selection: Selection) -> Iterator[str]:
    """A JSON object a line."""
    for batch in records(session, dataset, selection):
        yield "".join(json.dumps(record) + "\n" for record in batch)


def export_chunks(sessions: sessionmaker[Session], export: Export) -> Iterator[str]:
    """The export as text, a chunk a batch of records, read from one snapshot of the database."""
    write: Callable[[Session, str, Selection], Iterator[str]]
    if export.format == "stix":
        from hostpairs.api.stix_export import stix_chunks as write
    elif export.format == "misp":
        from hostpairs.api.misp_export import misp_chunks as write
    else:
        write = csv_chunks if export.format == "csv" else jsonl_chunks
    with sessions() as session:
        exports.snapshot(session)
        yield from write(session, export.dataset, export.selection)
