"""hostpairs' own API (`/api/v1`): what PassiveTotal lacked — alerts, visits and their evidence,
seed groups, and host pairs filtered by cause with cursor paging."""

from __future__ import annotations

import base64
import json
from typing import Annotated

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import JSONResponse

from hostpairs.api import parameters
from hostpairs.api.alert_events import alert_event
from hostpairs.api.passivetotal import pt_time
from hostpairs.api.pt_routes import DB
from hostpairs.extractors.records import SEVERITIES
from hostpairs.storage import alerts, queries, schedules
from hostpairs.storage.models import Visit
from hostpairs.storage.times import utcnow

router = APIRouter(prefix="/api/v1", tags=["hostpairs v1"])

Limit = Annotated[str | None, Query(description="Records a page (default 100, at most 10,000).")]
Cursor = Annotated[str | None, Query(description="The `next` of the previous page.")]


def _limit(value: str | None, default: int = 100) -> int:
    return parameters.paging(None, value or default).limit


def _id_cursor(value: str | None) -> int | None:
    if value in (None, ""):
        return None
    if not value.isdigit():
        raise parameters.InvalidQuery(f"cursor: not a cursor of this list: {value[:40]!r}")
    return int(value)


@router.get("/alerts", summary="Alerts, newest first")
def list_alerts(db: DB, since: Annotated[str | None, Query(description="Raised at or after this time.")] = None,
                severity: Annotated[str | None, Query(description="At least this severe (low, medium, high, critical).")] = None,
                open: Annotated[bool, Query(description="Only alerts not acknowledged yet.")] = False,  # noqa: A002
                seed_group: Annotated[str | None, Query(description="Only alerts of this seed group.")] = None,
                limit: Limit = None, cursor: Cursor = None) -> JSONResponse:
    if severity is not None and severity not in SEVERITIES:
        raise parameters.InvalidQuery(f"severity: not one of {', '.join(SEVERITIES)}: {severity!r}")
    size = _limit(limit)
    found = alerts.list_alerts(db, parameters.date(since, "since"), severity, not open, seed_group,
                               _id_cursor(cursor), size)
    return JSONResponse({"alerts": [alert_event(a) for a in found],
                         "next": str(found[-1].id) if len(found) == size else None})


@router.post("/alerts/acknowledge", summary="Acknowledge alerts (recorded with the API user's name)")
def acknowledge_alerts(db: DB, request: Request,
                       ids: Annotated[list[int], Body(embed=True, description="Alert IDs.")]) -> JSONResponse:
    now = utcnow()
    by = getattr(request.state, "user", None) or "API (no users)"
    missing = [alert_id for alert_id in ids if not alerts.acknowledge(db, alert_id, now, by)]
    if missing:
        db.rollback()
        return JSONResponse({"message": f"no alert with id {', '.join(map(str, missing))}"}, status_code=404)
    db.commit()
    return JSONResponse({"acknowledged": ids})


def visit_summary(visit: Visit) -> dict[str, object]:
    """A visit in a list of visits."""
    return {"id": visit.id, "requestedUrl": visit.requested_url, "finalUrl": visit.final_url, "mode": visit.mode,
            "started": pt_time(visit.started_at), "status": visit.status, "error": visit.error,
            "seedGroup": visit.seed_group}


@router.get("/visits", summary="Visits of a page or a host, newest first")
def list_visits(db: DB, url: Annotated[str | None, Query(description="A visited URL (as requested or as it ended up).")] = None,
                host: Annotated[str | None, Query(description="A visited host.")] = None,
                limit: Limit = None, cursor: Cursor = None) -> JSONResponse:
    if (url is None) == (host is None):
        raise parameters.InvalidQuery("give either url or host")
    size = _limit(limit)
    found = queries.visits(db, url, parameters.host(host).value if host else None, _id_cursor(cursor), size)
    return JSONResponse({"visits": [visit_summary(v) for v in found],
                         "next": str(found[-1].id) if len(found) == size else None})


@router.get("/seed-groups", summary="Seed groups: schedule, last and next run, the watcher's heartbeat")
def seed_groups(db: DB) -> JSONResponse:
    now = utcnow()
    heartbeat = schedules.watcher_heartbeat(db)
    groups = []
    for status in schedules.group_statuses(db, now):
        state, running = status.state, status.running
        groups.append({
            "name": state.seed_group,
            "lastStarted": state.last_started_at and pt_time(state.last_started_at),
            "lastFinished": state.last_finished_at and pt_time(state.last_finished_at),
            "nextRun": state.next_run_at and pt_time(state.next_run_at),
            "running": running is not None,
            "runningSince": running and pt_time(running.started_at),
        })
    return JSONResponse({"groups": groups, "watcher": heartbeat and {
        "seedsFile": heartbeat.seeds_file, "host": heartbeat.host, "lastBeat": pt_time(heartbeat.beat_at)}})


def _pair_cursor(value: str | None) -> tuple[str, str, str] | None:
    if value in (None, ""):
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(value.encode() + b"=" * (-len(value) % 4)))
        if isinstance(key, list) and len(key) == 3 and all(isinstance(part, str) for part in key):
            return (key[0], key[1], key[2])
    except ValueError:
        pass
    raise parameters.InvalidQuery(f"cursor: not a cursor of this list: {value[:40]!r}")


@router.get("/pairs", summary="Host pairs of a host, filtered by cause, with cursor paging")
def pairs(db: DB, host: Annotated[str, Query(description="Host name (subdomains too) or IP address.")],
          direction: Annotated[str, Query(description="children (what it references) or parents (who references it).")],
          cause: Annotated[list[str], Query(description="Only these causes (repeatable).")] = [],  # noqa: B006 (FastAPI reads it)
          start: Annotated[str | None, Query(description="Seen on or after this date.")] = None,
          end: Annotated[str | None, Query(description="Seen on or before this date (a date: that whole day).")] = None,
          limit: Limit = None, cursor: Cursor = None) -> JSONResponse:
    chosen = parameters.direction(direction)
    causes = tuple(parameters.cause(c) or "" for c in cause)
    size = _limit(limit, queries.PAGE_SIZE)
    found = queries.pairs_after(db, parameters.host(host).value, chosen, causes,
                                queries.Window(parameters.date(start, "start"), parameters.end_date(end)),
                                _pair_cursor(cursor), size)
    following = None
    if len(found) == size:
        following = base64.urlsafe_b64encode(json.dumps(queries.pair_key(found[-1], chosen)).encode()).decode().rstrip("=")
    return JSONResponse({
        "pairs": [{"parent": p.parent, "child": p.child, "cause": p.cause, "firstSeen": pt_time(p.first_seen),
                   "lastSeen": pt_time(p.last_seen), "visitCount": p.visit_count} for p in found],
        "next": following})
