"""The pivots: host pairs, resolutions, a visit's evidence, trackers, cookies, components."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path

import typer

from hostpairs.cli.common import DbOption, JsonOption, LimitOption, PageOption, checked, fail, out, sessions_for
from hostpairs.cli.tables import PAIR_COLUMNS, emit, frame_tree, print_table

app = typer.Typer()


class Direction(str, Enum):
    children = "children"
    parents = "parents"


@app.command()
def lookup(
    host: str = typer.Argument(..., help="Host name; its subdomains match too."),
    direction: Direction = typer.Option(Direction.children, help="children: what HOST references; parents: who references HOST."),
    cause: str | None = typer.Option(None, help="Only this cause (iframe.src, script.src, redirect, ...)."),
    start: str | None = typer.Option(None, help="Only pairs still seen on or after this date (UTC)."),
    end: str | None = typer.Option(None, help="Only pairs already seen on or before this date (UTC; a date: that whole day)."),
    limit: int | None = LimitOption,
    page: int | None = PageOption,
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Host pairs of HOST, as PassiveTotal's /v2/host-attributes/pairs answered."""
    from hostpairs.api import parameters
    from hostpairs.api.passivetotal import pairs_response
    from hostpairs.storage.queries import Window, pairs

    query = checked(parameters.host, host)
    chosen_cause = checked(parameters.cause, cause)
    window = Window(checked(parameters.date, start, "--start"), checked(parameters.end_date, end, "--end"))
    paging = checked(parameters.paging, page, limit)
    with sessions_for(db)() as session:
        response = pairs_response(pairs(session, query.value, direction.value, chosen_cause, window, paging))
    emit(response, as_json, PAIR_COLUMNS, f"{response['totalRecords']} host pairs ({direction.value} of {query.value})",
         paging)


@app.command()
def resolutions(host: str = typer.Argument(..., help="Host name (subdomains too) or IP address."),
                limit: int | None = LimitOption, page: int | None = PageOption,
                db: str | None = DbOption, as_json: bool = JsonOption) -> None:
    """IP addresses the crawler connected to for HOST and its subdomains, or the hosts of an IP
    (passive DNS shape)."""
    from hostpairs.api import parameters
    from hostpairs.api.passivetotal import passive_dns_response
    from hostpairs.storage.queries import resolutions as stored_resolutions

    query = checked(parameters.host, host)
    paging = checked(parameters.paging, page, limit)
    with sessions_for(db)() as session:
        response = passive_dns_response(query.value, query.is_ip,
                                        stored_resolutions(session, query.value, query.is_ip, paging=paging))
    emit(response, as_json, ("value", "resolve", "recordType", "firstSeen", "lastSeen"),
         f"{response['totalRecords']} resolutions of {query.value}", paging)


@app.command()
def visit(url: str = typer.Argument(..., help="A visited URL (as requested or as it ended up)."),
          db: str | None = DbOption, as_json: bool = typer.Option(False, "--json"),
          screenshot: Path | None = typer.Option(None, "--screenshot", help="Write the visit's screenshot (JPEG) to this file."),
          har: Path | None = typer.Option(None, "--har", help="Write the visit as a HAR 1.2 file (from its kept capture)."),
          ) -> None:
    """The evidence of the latest visit of URL: its frame tree and every dependency."""
    from hostpairs.api.har_export import har_log
    from hostpairs.api.visit_report import visit_report
    from hostpairs.storage.captures import kept_capture
    from hostpairs.storage.models import Screenshot
    from hostpairs.storage.queries import latest_visit

    with sessions_for(db)() as session:
        found = latest_visit(session, url)
        if found is None:
            fail(f"no visit of {url}")
        report = visit_report(session, found)
        if screenshot is not None:
            shot = session.get(Screenshot, found.id)
            if shot is None:
                fail(f"visit {found.id} of {url} has no screenshot (static mode, --no-screenshots, or pruned)")
            try:
                screenshot.write_bytes(shot.image)
            except OSError as exc:
                fail(f"--screenshot: cannot write {screenshot}: {exc.strerror or exc}")
        if har is not None:
            capture = kept_capture(session, found.id)
            if capture is None:
                fail(f"visit {found.id} of {url} has no complete kept capture (pruned, over the size cap, "
                     "kept captures off, or stored before they were kept)")
            try:
                har.write_text(json.dumps(har_log(capture), indent=1), encoding="utf-8")
            except OSError as exc:
                fail(f"--har: cannot write {har}: {exc.strerror or exc}")
    if as_json:
        print(json.dumps(report, indent=2))
        return
    info = report["visit"]
    out.print(f"visit {info['id']} of {info['requestedUrl']} ({info['mode']}, {info['started']} UTC)"
              + (f" → {info['finalUrl']}" if info["finalUrl"] != info["requestedUrl"] else "")
              + (f" — failed: {info['error']}" if info["error"] else "")
              + (" — the load event never came" if info["loadFinished"] is False else "")
              + (f" — limits hit: {', '.join(info['limitsHit'])}" if info["limitsHit"] else "")
              + (f" — its evidence was pruned on {info['evidencePruned']} UTC" if info["evidencePruned"] else ""),
              soft_wrap=True, markup=False)
    out.print(frame_tree(report))
    print_table(report["dependencies"], ("started", "url", "resourceType", "cause", "parent", "initiatorUrl", "status"),
                f"{len(report['dependencies'])} dependencies")


@app.command()
def trackers(
    host: str | None = typer.Argument(None, help="Host whose trackers to list (subdomains too)."),
    search: str | None = typer.Option(None, "--search", help="List every host seen with this tracker value."),
    tracker_type: str | None = typer.Option(None, "--type", help="With --search: only this type (GoogleAnalyticsTrackingId, FacebookId, ...)."),
    limit: int | None = LimitOption,
    page: int | None = PageOption,
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Tracking IDs of HOST, or with --search VALUE the hosts sharing a tracking ID (the pivot)."""
    from hostpairs.api import parameters
    from hostpairs.api.passivetotal import entities_response, trackers_response
    from hostpairs.storage.queries import host_trackers, tracker_hosts

    if (host is None) == (search is None):
        fail("give either HOST or --search VALUE")
    paging = checked(parameters.paging, page, limit)
    if search is not None:
        value, chosen_type = checked(parameters.tracker_value, search), checked(parameters.tracker_type, tracker_type)
        with sessions_for(db)() as session:
            response = entities_response(tracker_hosts(session, value, chosen_type, paging=paging))
        emit(response, as_json, ("entity", "firstSeen", "lastSeen"), f"{response['totalRecords']} hosts with {value}",
             paging)
        return
    query = checked(parameters.host, host or "")
    with sessions_for(db)() as session:
        response = trackers_response(host_trackers(session, query.value, paging=paging))
    emit(response, as_json, ("hostname", "attributeType", "attributeValue", "firstSeen", "lastSeen"),
         f"{response['totalRecords']} trackers of {query.value}", paging)


@app.command()
def cookies(
    host: str | None = typer.Argument(None, help="Host whose cookies to list (subdomains too)."),
    name: str | None = typer.Option(None, "--name", help="Hosts that got a cookie of this name."),
    domain: str | None = typer.Option(None, "--domain", help="Hosts that got cookies for this domain (and subdomains)."),
    limit: int | None = LimitOption,
    page: int | None = PageOption,
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Cookies found in the browser after visiting HOST, or the reverse look-ups by --name / --domain."""
    from hostpairs.api import parameters
    from hostpairs.api.passivetotal import cookies_response
    from hostpairs.storage.queries import cookies as stored_cookies

    if host is None and name is None and domain is None:
        fail("give HOST, --name NAME or --domain DOMAIN")
    query = checked(parameters.host, host).value if host else None
    cookie_domain = checked(parameters.host, domain).value if domain else None
    paging = checked(parameters.paging, page, limit)
    with sessions_for(db)() as session:
        response = cookies_response(stored_cookies(session, query, name, cookie_domain, paging=paging),
                                    with_third_party=not as_json)
    emit(response, as_json, ("hostname", "cookieName", "cookieDomain", "thirdParty", "firstSeen", "lastSeen"),
         f"{response['totalRecords']} cookies", paging)


@app.command()
def components(host: str = typer.Argument(...), limit: int | None = LimitOption, page: int | None = PageOption,
               db: str | None = DbOption, as_json: bool = JsonOption) -> None:
    """Web technologies (category, label, version) seen on HOST and its subdomains."""
    from hostpairs.api import parameters
    from hostpairs.api.passivetotal import components_response
    from hostpairs.storage.queries import host_components

    query = checked(parameters.host, host)
    paging = checked(parameters.paging, page, limit)
    with sessions_for(db)() as session:
        response = components_response(host_components(session, query.value, paging=paging))
    emit(response, as_json, ("hostname", "category", "label", "version", "firstSeen", "lastSeen"),
         f"{response['totalRecords']} components of {query.value}", paging)
