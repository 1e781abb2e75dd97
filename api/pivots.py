"""The web app's pivots (`/api/v1`): what a typed indicator is, everything known of a host in one
answer, its day-by-day timeline, a visit's screenshot, HAR and what changed since the visit before."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from fastapi.responses import JSONResponse

from hostpairs.api import parameters
from hostpairs.api.alert_events import alert_event
from hostpairs.api.har_export import har_log
from hostpairs.api.native import visit_summary
from hostpairs.api.passivetotal import pt_time
from hostpairs.api.pt_routes import DB
from hostpairs.api.visit_report import visit_report
from hostpairs.extractors.hosts import registrable_domain
from hostpairs.storage import queries, timeline
from hostpairs.storage.captures import kept_capture
from hostpairs.storage.models import Screenshot, Visit
from hostpairs.storage.times import utcnow

router = APIRouter(prefix="/api/v1", tags=["hostpairs v1"])

VisitId = Annotated[int, Path(ge=1, le=2**63 - 1, description="A visit's id.")]

FACTS_LIMIT = 200
"""Rows of each kind a host's page shows (the full lists are the v2 look-ups, paged)."""


@router.get("/search", summary="What a typed indicator is: host, domain, IP, tracker ID or cookie name")
def search(db: DB, q: Annotated[str, Query(description="What the analyst typed.")]) -> JSONResponse:
    text = q.strip()
    if not text:
        raise parameters.InvalidQuery("q: type a host, domain, IP address, tracker ID or cookie name")
    choices = []
    try:
        host = parameters.host(text)
    except parameters.InvalidQuery:
        host = None
    if host is not None and host.is_ip:
        choices.append({"kind": "ip", "value": host.value, "label": "IP address"})
    elif host is not None and "." in text and " " not in text:
        kind = "domain" if registrable_domain(host.value) == host.value else "host"
        choices.append({"kind": kind, "value": host.value, "label": kind.capitalize()})
    for value in queries.tracker_values(db, text):
        choices.append({"kind": "tracker", "value": value, "label": "Tracker ID"})
    if queries.cookie_name_exists(db, text):
        choices.append({"kind": "cookie", "value": text, "label": "Cookie name"})
    return JSONResponse({"query": q, "choices": choices})


def _seen(row: object) -> dict[str, str]:
    return {"firstSeen": pt_time(row.first_seen), "lastSeen": pt_time(row.last_seen)}  # type: ignore[attr-defined]


@router.get("/hosts/{host}", summary="Everything known of a host and its subdomains, for one page")
def host_facts(db: DB, host: str) -> JSONResponse:
    query = parameters.host(host)
    first = queries.Paging(0, FACTS_LIMIT)
    resolutions = queries.resolutions(db, query.value, query.is_ip, paging=first).rows
    trackers = queries.host_trackers(db, query.value, paging=first).rows
    sharing = queries.tracker_host_counts(db, {t.attribute_value for t in trackers})
    return JSONResponse({
        "host": query.value,
        "resolutions": [{"hostname": r.hostname, "ip": r.ip, **_seen(r)} for r in resolutions],
        "trackers": [{"hostname": t.hostname, "attributeType": t.attribute_type, "attributeValue": t.attribute_value,
                      "otherHosts": max(0, sharing.get(t.attribute_value.lower(), 1) - 1), **_seen(t)}
                     for t in trackers],
        "components": [{"hostname": c.hostname, "category": c.category, "label": c.label, "version": c.version or None,
                        **_seen(c)} for c in queries.host_components(db, query.value, paging=first).rows],
        "cookies": [{"hostname": c.hostname, "cookieName": c.cookie_name, "cookieDomain": c.cookie_domain,
                     "thirdParty": c.third_party, **_seen(c)}
                    for c in queries.cookies(db, query.value, paging=first).rows],
        "alerts": [alert_event(a) for a in queries.host_alerts(db, query.value, FACTS_LIMIT)],
        "visits": [visit_summary(v) for v in queries.visits(db, host=query.value, limit=50)],
    })


@router.get("/hosts/{host}/timeline", summary="Day by day, when each host pair and resolution of a host was seen")
def host_timeline(db: DB, host: str,
                  days: Annotated[int, Query(ge=1, le=366, description="Days up to today (UTC).")] = 30) -> JSONResponse:
    query = parameters.host(host)
    found = timeline.host_timeline(db, query.value, days, utcnow())
    return JSONResponse({"host": query.value, "days": [d.isoformat() for d in found.days],
                         "rows": [{"kind": r.kind, "label": r.label, "seen": list(r.seen)} for r in found.rows]})


@router.get("/visits/{visit_id}", summary="One visit's evidence: frame tree, dependencies, screenshot, changes since the visit before")
def one_visit(db: DB, visit_id: VisitId) -> JSONResponse:
    visit = db.get(Visit, visit_id)
    if visit is None:
        return JSONResponse({"message": f"no visit with id {visit_id}"}, status_code=404)
    previous = queries.previous_visit(db, visit)
    changes = None
    if previous is not None:
        now_hosts, then_hosts = queries.visit_hosts(db, visit.id), queries.visit_hosts(db, previous.id)
        changes = {"added": sorted(now_hosts - then_hosts), "removed": sorted(then_hosts - now_hosts)}
    return JSONResponse({
        **visit_report(db, visit),
        "screenshot": f"/api/v1/visits/{visit.id}/screenshot" if queries.has_screenshot(db, visit.id) else None,
        "har": f"/api/v1/visits/{visit.id}/har" if queries.has_complete_capture(db, visit.id) else None,
        "scriptInventory": queries.has_inventory(db, visit.requested_url),
        "previousVisit": previous.id if previous is not None else None,
        "changes": changes,
    })


@router.get("/visits/{visit_id}/screenshot", summary="The viewport after the visit's user simulation (JPEG)",
            response_class=Response, responses={200: {"content": {"image/jpeg": {}}}})
def screenshot(db: DB, visit_id: VisitId) -> Response:
    shot = db.get(Screenshot, visit_id)
    if shot is None:
        return JSONResponse({"message": f"no screenshot of visit {visit_id}"}, status_code=404)
    return Response(shot.image, media_type=shot.media_type, headers={"Cache-Control": "private, max-age=86400"})


@router.get("/visits/{visit_id}/har", summary="The visit as a HAR 1.2 log, from its kept capture",
            responses={200: {"content": {"application/json": {}}}})
def har(db: DB, visit_id: VisitId) -> JSONResponse:
    capture = kept_capture(db, visit_id)
    if capture is None:
        return JSONResponse({"message": f"no complete kept capture of visit {visit_id}"}, status_code=404)
    return JSONResponse(har_log(capture), headers={
        "Content-Disposition": f'attachment; filename="visit-{visit_id}.har"'})
