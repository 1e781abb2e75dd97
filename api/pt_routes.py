"""The PassiveTotal v2 endpoints the clients call (../shared/passivetotal-reference.md), in its
shapes: every list paged by `page` (from 0) and `limit` (default 2,000) with an exact
`totalRecords`, every data set filtered by `start`/`end`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from hostpairs.api import parameters, passivetotal
from hostpairs.extractors.trackers import TRACKER_TYPES
from hostpairs.storage import queries

router = APIRouter(prefix="/v2", tags=["PassiveTotal v2"])


def database(request: Request):  # noqa: ANN201 (a FastAPI dependency: yields the request's session)
    """One session per request."""
    with request.app.state.sessions() as session:
        yield session


DB = Annotated[Session, Depends(database)]
QueryParam = Annotated[str, Query(description="Host name (its subdomains match too) or IP address.")]


@dataclass(frozen=True)
class Listing:
    """A list's page and time window."""

    paging: queries.Paging
    window: queries.Window


def listing(
    page: Annotated[str | None, Query(description="Page number, from 0.")] = None,
    limit: Annotated[str | None, Query(description="Records a page (default 2,000, at most 10,000).")] = None,
    start: Annotated[str | None, Query(description="Only records seen on or after this date (UTC unless an offset is given).")] = None,
    end: Annotated[str | None, Query(description="Only records seen on or before this date (a date: that whole day).")] = None,
) -> Listing:
    return Listing(parameters.paging(page, limit), queries.Window(parameters.date(start, "start"), parameters.end_date(end)))


def ordering(
    sort: Annotated[str | None, Query(description="lastSeen (default) or firstSeen.")] = None,
    order: Annotated[str | None, Query(description="desc (default) or asc.")] = None,
) -> queries.Ordering:
    return queries.Ordering(parameters.sort(sort), parameters.order(order))


Listed = Annotated[Listing, Depends(listing)]
Ordered = Annotated[queries.Ordering, Depends(ordering)]


# --- host attributes ----------------------------------------------------------------------------

@router.get("/host-attributes/pairs", summary="Host pairs of a host: what it references, or who references it")
def host_pairs(db: DB, listed: Listed, query: QueryParam,
               direction: Annotated[str, Query(description="children or parents.")]) -> JSONResponse:
    host = parameters.host(query)
    return JSONResponse(passivetotal.pairs_response(queries.pairs(
        db, host.value, parameters.direction(direction), None, listed.window, listed.paging)))


@router.get("/host-attributes/trackers", summary="Tracker IDs seen on a host")
def host_trackers(db: DB, listed: Listed, query: QueryParam) -> JSONResponse:
    host = parameters.host(query)
    return JSONResponse(passivetotal.trackers_response(
        queries.host_trackers(db, host.value, listed.window, listed.paging), host.is_ip))


@router.get("/host-attributes/components", summary="Web technologies seen on a host")
def host_components(db: DB, listed: Listed, query: QueryParam) -> JSONResponse:
    host = parameters.host(query)
    return JSONResponse(passivetotal.components_response(
        queries.host_components(db, host.value, listed.window, listed.paging), host.is_ip))


@router.get("/host-attributes/cookies", summary="Cookies a visit of a host ended with")
def host_cookies(db: DB, listed: Listed, query: QueryParam) -> JSONResponse:
    host = parameters.host(query)
    return JSONResponse(passivetotal.cookies_response(
        queries.cookies(db, host.value, window=listed.window, paging=listed.paging), is_ip=host.is_ip))


# --- trackers and cookies shared between hosts ------------------------------------------------------

ResultType = Annotated[str, Path(description="hosts or addresses (the IPs the hosts resolved to).",
                                 pattern="^(hosts|addresses)$")]


def _tracker_entities(db: Session, value: str, tracker_type: str | None, addresses: bool, listed: Listing,
                      order: queries.Ordering | None) -> JSONResponse:
    if tracker_type is not None and tracker_type not in TRACKER_TYPES:  # a type hostpairs never records
        return JSONResponse(passivetotal.entities_response(queries.Page([], 0)))
    return JSONResponse(passivetotal.entities_response(queries.tracker_hosts(
        db, parameters.tracker_value(value), tracker_type, addresses, listed.window, order, listed.paging)))


@router.get("/trackers/search", summary="Hosts (or addresses) seen with a tracker value")
def tracker_search(db: DB, listed: Listed,
                   query: Annotated[str, Query(description="The tracker value, e.g. UA-12345-1.")],
                   type: Annotated[str | None, Query(description="Tracker type; one hostpairs does not record is a 404.")] = None,  # noqa: A002
                   searchType: Annotated[str | None, Query(description="hosts (default) or addresses.")] = None,  # noqa: N803
                   ) -> JSONResponse:
    if searchType not in (None, "", "hosts", "addresses"):
        raise parameters.InvalidQuery(f"searchType: not hosts or addresses: {searchType!r}")
    if type and type not in TRACKER_TYPES:
        # A 404, not an empty 200: the analyzer's `tracker_references` asks for types such as
        # DocumentBaseHost and skips a 404, while any 200 crashes it (a bug of passivetotal 2.5.9).
        return JSONResponse({"message": f"hostpairs records no trackers of type {type!r}"}, status_code=404)
    return _tracker_entities(db, query, type or None, searchType == "addresses", listed, None)


@router.get("/trackers/{value}/{result_type}", summary="Hosts or addresses seen with a tracker value")
def tracker_entities(db: DB, listed: Listed, order: Ordered, value: str, result_type: ResultType,
                     type: Annotated[str | None, Query(description="Tracker type (GoogleAnalyticsTrackingId, ...).")] = None,  # noqa: A002
                     ) -> JSONResponse:
    return _tracker_entities(db, value, type or None, result_type == "addresses", listed, order)


@router.get("/cookies/name/{name}/{result_type}", summary="Hosts (or addresses) that set a cookie of this name")
def cookie_name_entities(db: DB, listed: Listed, order: Ordered, name: str, result_type: ResultType) -> JSONResponse:
    return JSONResponse(passivetotal.entities_response(queries.cookie_hosts(
        db, name=name, addresses=result_type == "addresses", window=listed.window, ordering=order,
        paging=listed.paging)))


@router.get("/cookies/domain/{domain}/{result_type}",
            summary="Hosts (or addresses) that set cookies for this domain (and its subdomains)")
def cookie_domain_entities(db: DB, listed: Listed, order: Ordered, domain: str, result_type: ResultType) -> JSONResponse:
    return JSONResponse(passivetotal.entities_response(queries.cookie_hosts(
        db, domain=parameters.host(domain).value, addresses=result_type == "addresses", window=listed.window,
        ordering=order, paging=listed.paging)))


# --- passive DNS ---------------------------------------------------------------------------------

@router.get("/dns/passive", summary="Resolutions the crawler observed for a host (and subdomains) or an IP")
def passive_dns(db: DB, listed: Listed, query: QueryParam) -> JSONResponse:
    host = parameters.host(query)
    return JSONResponse(passivetotal.passive_dns_response(host.value, host.is_ip, queries.resolutions(
        db, host.value, host.is_ip, listed.window, listed.paging)))


@router.get("/dns/passive/unique", summary="The distinct answers of passive DNS, with how often each was seen")
def passive_dns_unique(db: DB, listed: Listed, query: QueryParam) -> JSONResponse:
    host = parameters.host(query)
    return JSONResponse(passivetotal.unique_resolutions_response(host.value, host.is_ip, queries.unique_resolutions(
        db, host.value, host.is_ip, listed.window, listed.paging)))


# --- enrichment, account, summary -------------------------------------------------------------------

@router.get("/enrichment/subdomains", summary="Subdomains of a domain that hostpairs observed")
def subdomains(db: DB, query: QueryParam) -> JSONResponse:
    host = parameters.host(query.removeprefix("*."))
    if host.is_ip:
        raise parameters.InvalidQuery(f"not a domain: {query!r}")
    return JSONResponse({"success": True, "queryValue": query, "primaryDomain": host.value,
                   "subdomains": queries.subdomains(db, host.value)})


@router.get("/account", summary="The account the API key belongs to (clients test their credentials with it)")
def account(request: Request) -> JSONResponse:
    user = request.scope.get("state", {}).get("user")
    return JSONResponse({"success": True, "username": user or "anonymous", "firstName": None, "lastName": None,
                   "organization": "hostpairs", "accountType": "hostpairs", "searchApiQuota": None})


@router.get("/cards/summary", summary="How many records each data set holds for a host or IP")
def summary(db: DB, query: QueryParam) -> JSONResponse:
    host = parameters.host(query)
    counts = queries.dataset_counts(db, host.value, host.is_ip)
    links = {"resolutions": f"/v2/dns/passive?query={host.value}",
             "host_pairs": f"/v2/host-attributes/pairs?query={host.value}&direction=children",
             "trackers": f"/v2/host-attributes/trackers?query={host.value}",
             "components": f"/v2/host-attributes/components?query={host.value}",
             "cookies": f"/v2/host-attributes/cookies?query={host.value}"}
    return JSONResponse({
        "success": True, "name": host.value, "type": "ip" if host.is_ip else "hostname",
        "link": f"/?query={host.value}", "netblock": None, "os": None, "asn": None, "hosting_provider": None,
        "data_summary": {
            **{name: {"count": counts[name], "link": link} for name, link in links.items()},
            **{name: {"count": 0, "link": ""}  # data sets hostpairs does not collect
               for name in ("certificates", "hashes", "projects", "articles", "services")},
        },
    })


# --- what hostpairs does not have ------------------------------------------------------------------

NOT_COLLECTED = {
    "whois": "WHOIS records", "ssl-certificate": "SSL certificates", "reputation": "reputation scores",
    "actions": "analyst actions", "articles": "articles", "artifact": "monitored artifacts",
    "monitor": "monitors", "project": "projects", "services": "open services", "enrichment/malware": "malware",
    "enrichment/osint": "OSINT", "enrichment/bulk": "bulk enrichment", "intel-profiles": "intel profiles",
}


@router.get("/{dataset:path}", include_in_schema=False)
def not_collected(dataset: str) -> JSONResponse:
    """PassiveTotal data sets hostpairs does not have: a 404 saying so; any other path: no such endpoint."""
    for prefix, what in NOT_COLLECTED.items():
        if dataset == prefix or dataset.startswith(prefix + "/"):
            return JSONResponse({"message": f"hostpairs does not collect {what}: /v2/{dataset} has no data here"},
                                status_code=404)
    return JSONResponse({"message": f"no endpoint /v2/{dataset}"}, status_code=404)
