"""The `hostpairs` command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.tree import Tree
from sqlalchemy import select

from hostpairs.crawler.host_rules import HostRules, HostRulesError
from hostpairs.crawler.targets import TargetError, expand_targets
from hostpairs.extractors.host_pairs import CAUSES
from hostpairs.extractors.hosts import query_host as parse_query_host
from hostpairs.extractors.trackers import TRACKER_TYPES
from hostpairs.seeds.groups import SeedFileError, format_duration, load_seed_groups
from hostpairs.storage.db import DatabaseError, open_database, session_factory
from hostpairs.storage.queries import (
    cookie_records,
    host_components,
    host_trackers,
    latest_visit,
    lookup_pairs,
    passive_dns,
    search_trackers,
    visit_report,
)

app = typer.Typer(add_completion=False, no_args_is_help=True, help=(
    "Crawl sites in headless Chromium and pivot on what they load: host pairs, dependencies, resolutions, "
    "trackers, cookies, components; watch sites for injected iframes and scripts."))
out = Console(highlight=False, width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, highlight=False)

DbOption = typer.Option(None, "--db", help="SQLAlchemy database URL (default: $HOSTPAIRS_DB or sqlite:///hostpairs.db).")
JsonOption = typer.Option(False, "--json", help="Print PassiveTotal's JSON response shape.")


class Mode(str, Enum):
    browser = "browser"
    static = "static"


class Direction(str, Enum):
    children = "children"
    parents = "parents"


def fail(message: str) -> NoReturn:
    """Print a one-line error and exit non-zero."""
    err.print(f"[bold red]error:[/] {message}", soft_wrap=True)
    raise typer.Exit(2)


def query_host(value: str) -> str:
    """A host as typed by a user in stored form, or a one-line error."""
    host = parse_query_host(value)
    if host is None:
        fail(f"not a host name: {value!r}")
    return host


def parse_date(value: str | None) -> datetime | None:
    """A date or date-time as typed (UTC), or a one-line error."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        fail(f"not a date: {value!r} (use YYYY-MM-DD or 'YYYY-MM-DD HH:MM:SS')")


def sessions_for(db: str | None):  # noqa: ANN201
    try:
        return session_factory(open_database(db))
    except DatabaseError as exc:
        fail(str(exc))


@app.command()
def crawl(
    targets: list[str] = typer.Argument(None, help="URLs and seed files (one URL a line, '#' comments)."),
    seeds: Path | None = typer.Option(None, "--seeds", help="Seed groups (TOML): crawl every group once."),
    group: str | None = typer.Option(None, "--group", help="With --seeds: only this group."),
    due: str = typer.Option("", "--due", hidden=True, help="The schedule slot of this run (ISO, UTC); set by watch."),
    alert_file: str | None = typer.Option(None, "--alert-file", help="Append alerts as JSON lines to this file."),
    webhook: list[str] = typer.Option([], "--webhook", help="POST each alert as JSON to this URL (repeatable)."),
    db: str | None = DbOption,
    depth: int = typer.Option(0, min=0, help="Follow same-site links this many levels deep."),
    max_pages: int = typer.Option(100, min=1, help="Stop scheduling pages after this many."),
    dwell: float = typer.Option(5.0, min=0.0, help="Seconds to stay on each page after load."),
    page_timeout: float = typer.Option(30.0, min=1.0, help="Seconds a page may take to load."),
    host_rules: str = typer.Option("", "--host-rules", help="Chromium host resolver rules, e.g. 'MAP * 127.0.0.1:8080'."),
    allow_private: bool = typer.Option(False, help="Allow crawling private/loopback addresses that are not mapped."),
    mode: Mode = typer.Option(Mode.browser, help="browser: headless Chromium; static: Scrapy's HTTP stack, no browser."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show Scrapy's log."),
) -> None:
    """Visit TARGETS (or seed groups) in headless Chromium and store what the visits observed."""
    from hostpairs.crawler.run import CrawlOptions, run_crawl

    try:
        urls = expand_targets(targets or [])
        HostRules.parse(host_rules)
        groups = load_seed_groups(seeds) if seeds else []
    except (TargetError, HostRulesError, SeedFileError) as exc:
        fail(str(exc))
    if group and group not in {g.name for g in groups}:
        fail(f"no seed group {group!r}" + (f" in {seeds}" if seeds else " (give --seeds FILE)"))
    if not urls and not groups:
        fail("nothing to crawl: give URLs, seed files or --seeds FILE")
    sessions_for(db)  # fail early on a database that does not connect
    options = CrawlOptions(db=db, depth=depth, max_pages=max_pages, dwell=dwell, page_timeout=page_timeout,
                           host_rules=host_rules,
                           allow_private=allow_private, mode=mode.value, seeds=str(seeds or ""), group=group or "",
                           due=due, alert_file=alert_file, webhooks=tuple(webhook), verbose=verbose)
    summary = run_crawl(urls, options, err)
    out.print(
        f"pages: {summary['pages']}  pairs new: {summary['pairs_new']}  pairs seen: {summary['pairs_seen']}  "
        f"alerts: {summary['alerts']}  errors: {summary['errors']}"
    )
    for url, error in summary["failures"]:
        out.print(f"  failed: {url} — {error}", soft_wrap=True)
    for url, reason in summary["unstored"]:
        out.print(f"  not stored: {url} — {reason}", soft_wrap=True)
    if summary["unstored"]:
        fail(f"{len(summary['unstored'])} visits not stored (the database refused them; seed groups stay due)")


@app.command()
def lookup(
    host: str = typer.Argument(..., help="Host name; its subdomains match too."),
    direction: Direction = typer.Option(Direction.children, help="children: what HOST references; parents: who references HOST."),
    cause: str | None = typer.Option(None, help=f"Only this cause ({', '.join(CAUSES)})."),
    start: str | None = typer.Option(None, help="Only pairs still seen on or after this date (UTC)."),
    end: str | None = typer.Option(None, help="Only pairs already seen on or before this date (UTC)."),
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Host pairs of HOST, as PassiveTotal's /v2/host-attributes/pairs answered."""
    if cause is not None and cause not in CAUSES:
        fail(f"unknown cause {cause!r} (one of: {', '.join(CAUSES)})")
    query = query_host(host)
    with sessions_for(db)() as session:
        response = lookup_pairs(session, query, direction.value, cause, parse_date(start), parse_date(end))
    emit(response, as_json, PAIR_COLUMNS, f"{response['totalRecords']} host pairs ({direction.value} of {query})")


@app.command()
def resolutions(host: str = typer.Argument(...), db: str | None = DbOption, as_json: bool = JsonOption) -> None:
    """IP addresses the crawler connected to for HOST and its subdomains (passive DNS shape)."""
    query = query_host(host)
    with sessions_for(db)() as session:
        response = passive_dns(session, query)
    emit(response, as_json, ("value", "resolve", "recordType", "firstSeen", "lastSeen"),
         f"{response['totalRecords']} resolutions of {query}")


@app.command()
def visit(url: str = typer.Argument(..., help="A visited URL (as requested or as it ended up)."),
          db: str | None = DbOption, as_json: bool = typer.Option(False, "--json")) -> None:
    """The evidence of the latest visit of URL: its frame tree and every dependency."""
    with sessions_for(db)() as session:
        found = latest_visit(session, url)
        if found is None:
            fail(f"no visit of {url}")
        report = visit_report(found)
    if as_json:
        print(json.dumps(report, indent=2))
        return
    info = report["visit"]
    out.print(f"visit {info['id']} of {info['requestedUrl']} ({info['mode']}, {info['started']} UTC)"
              + (f" → {info['finalUrl']}" if info["finalUrl"] != info["requestedUrl"] else "")
              + (f" — failed: {info['error']}" if info["error"] else ""), soft_wrap=True)
    out.print(frame_tree(report))
    print_table(report["dependencies"], ("started", "url", "resourceType", "cause", "parent", "initiatorUrl", "status"),
                f"{len(report['dependencies'])} dependencies")


def frame_tree(report: dict[str, Any]) -> Tree:
    """The frames of a visit report as a Rich tree: URL, creator script, why hidden."""
    frames = report["frames"]
    children: dict[str | None, list[dict[str, Any]]] = {}
    for frame in frames:
        children.setdefault(frame["parentFrameId"], []).append(frame)

    def label(frame: dict[str, Any]) -> str:
        notes = []
        if frame["createdByScript"]:
            notes.append(f"created by {frame['creatorScriptUrl'] or 'an inline script'}")
        if frame["hidden"]:
            notes.append(f"[bold red]hidden[/]: {frame['hiddenReasons']}")
        if frame["detached"]:
            notes.append("removed")
        return escape(frame["url"] or "(no document)") + (f"  [dim]({'; '.join(notes)})[/]" if notes else "")

    def add(node: Tree, frame: dict[str, Any]) -> None:
        branch = node.add(label(frame))
        for child in children.get(frame["frameId"], []):
            add(branch, child)

    roots = children.get(None, [])
    tree = Tree(label(roots[0]) if roots else "(no frames)")
    for root in roots:
        for child in children.get(root["frameId"], []):
            add(tree, child)
    return tree


@app.command()
def trackers(
    host: str | None = typer.Argument(None, help="Host whose trackers to list (subdomains too)."),
    search: str | None = typer.Option(None, "--search", help="List every host seen with this tracker value."),
    tracker_type: str | None = typer.Option(None, "--type", help=f"With --search: only this type ({', '.join(TRACKER_TYPES)})."),
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Tracking IDs of HOST, or with --search VALUE the hosts sharing a tracking ID (the pivot)."""
    if (host is None) == (search is None):
        fail("give either HOST or --search VALUE")
    if tracker_type is not None and tracker_type not in TRACKER_TYPES:
        fail(f"unknown tracker type {tracker_type!r} (one of: {', '.join(TRACKER_TYPES)})")
    with sessions_for(db)() as session:
        if search is not None:
            response = search_trackers(session, search.strip(), tracker_type)
            emit(response, as_json, ("entity", "firstSeen", "lastSeen"), f"{response['totalRecords']} hosts with {search}")
            return
        query = query_host(host or "")
        response = host_trackers(session, query)
    emit(response, as_json, ("hostname", "attributeType", "attributeValue", "firstSeen", "lastSeen"),
         f"{response['totalRecords']} trackers of {query}")


@app.command()
def cookies(
    host: str | None = typer.Argument(None, help="Host whose cookies to list (subdomains too)."),
    name: str | None = typer.Option(None, "--name", help="Hosts that got a cookie of this name."),
    domain: str | None = typer.Option(None, "--domain", help="Hosts that got cookies for this domain (and subdomains)."),
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Cookies found in the browser after visiting HOST, or the reverse look-ups by --name / --domain."""
    if host is None and name is None and domain is None:
        fail("give HOST, --name NAME or --domain DOMAIN")
    query = query_host(host) if host else None
    cookie_domain = query_host(domain) if domain else None
    with sessions_for(db)() as session:
        response = cookie_records(session, query, name, cookie_domain, with_third_party=not as_json)
    emit(response, as_json, ("hostname", "cookieName", "cookieDomain", "thirdParty", "firstSeen", "lastSeen"),
         f"{response['totalRecords']} cookies")


@app.command()
def components(host: str = typer.Argument(...), db: str | None = DbOption, as_json: bool = JsonOption) -> None:
    """Web technologies (category, label, version) seen on HOST and its subdomains."""
    query = query_host(host)
    with sessions_for(db)() as session:
        response = host_components(session, query)
    emit(response, as_json, ("hostname", "category", "label", "version", "firstSeen", "lastSeen"),
         f"{response['totalRecords']} components of {query}")


@app.command()
def serve(
    db: str | None = DbOption,
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, min=0, max=65535),
    api_key: list[str] = typer.Option([], "--api-key", help="USER:KEY allowed in (repeatable; also $HOSTPAIRS_API_KEYS)."),
) -> None:
    """Serve the PassiveTotal-compatible HTTP API and a look-up page."""
    from hostpairs.api.server import make_server, parse_api_keys

    try:
        keys = parse_api_keys(",".join([*api_key, os.environ.get("HOSTPAIRS_API_KEYS", "")]))
    except ValueError as exc:
        fail(str(exc))
    if not keys and host not in ("127.0.0.1", "localhost", "::1"):
        fail(f"refusing to serve {host} without authentication: give --api-key USER:KEY")
    sessions = sessions_for(db)
    try:
        server = make_server(sessions, host, port, keys)
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")
    err.print(f"hostpairs API on http://{host}:{server.server_address[1]}/ "
              f"({'HTTP Basic with ' + str(len(keys)) + ' keys' if keys else 'no authentication, loopback only'})")
    server.serve_forever()


@app.command()
def demo(db: str | None = typer.Option(None, "--db", help="Database to use as it is (default: a fresh ./hostpairs-demo.db)."),
         dwell: float = typer.Option(5.0, min=0.0)) -> None:
    """The whole story on the bundled demo web: a baseline crawl of the demo bank and shop, the
    bank's script is tampered with, the next scheduled crawl, the alert, the pivot."""
    from hostpairs.demoweb.sites import DEMO_SEEDS, demo_sites, demo_web
    from hostpairs.storage.alerts import list_alerts

    alert_file = "demo-alerts.jsonl"
    Path(alert_file).unlink(missing_ok=True)
    if db is None:  # the story starts from nothing every time
        for suffix in ("", "-wal", "-shm"):
            Path(f"hostpairs-demo.db{suffix}").unlink(missing_ok=True)
    db_url = db or "sqlite:///hostpairs-demo.db"
    seeds = Path(hostpairs.seeds.__file__).with_name("example.toml")

    def scheduled_crawl(title: str, rules: str) -> None:
        err.print(f"[bold]{title}[/]: hostpairs crawl --seeds {seeds.name} (what `hostpairs watch` runs when due)")
        result = subprocess.run(
            [sys.executable, "-m", "hostpairs", "crawl", "--seeds", str(seeds), "--db", db_url, "--dwell", str(dwell),
             "--host-rules", rules, "--alert-file", alert_file], text=True, stdout=subprocess.PIPE)
        if result.returncode != 0:
            fail("the demo crawl failed")
        out.print(result.stdout.strip())

    sessions_for(db_url)
    with demo_web(bank_injected=False) as web:
        err.print(f"demo web: {len(web.sites)} fictional sites on 127.0.0.1:{web.port}, reached with --host-rules")
        scheduled_crawl("1. baseline", web.host_rules)
        web.sites.update(demo_sites(bank_injected=True))
        err.print("[bold]2. the bank's /js/view.js is tampered with[/]: it now appends a hidden iframe")
        scheduled_crawl("3. next scheduled crawl", web.host_rules)
    with sessions_for(db_url)() as session:
        bank = query_host(DEMO_SEEDS[0])
        response = lookup_pairs(session, bank, "children")
        print_table(response["results"], PAIR_COLUMNS, f"what {bank} references ({response['totalRecords']} host pairs)")
        visit = latest_visit(session, DEMO_SEEDS[0])
        if visit is not None:
            out.print(f"frames of {DEMO_SEEDS[0]} (latest visit) — `hostpairs visit {DEMO_SEEDS[0]}`")
            out.print(frame_tree(visit_report(visit)))
        events = list_alerts(session)
        print_table(alert_rows(events), ("id", "severity", "kind", "page_url", "child_url", "signals"),
                    f"4. the alerts ({len(events)}, also in {alert_file}) — `hostpairs alerts`")
        attacker = lookup_pairs(session, "misapor-demo.ch", "parents")
        print_table(attacker["results"], PAIR_COLUMNS,
                    "5. the pivot: who references misapor-demo.ch — `hostpairs lookup misapor-demo.ch --direction parents`")
    out.print(f"Explore further with --db {db_url}: hostpairs alerts, hostpairs visit URL, hostpairs trackers HOST, "
              f"hostpairs serve (API and look-up page on http://127.0.0.1:8000/)", soft_wrap=True)


seeds_app = typer.Typer(add_completion=False, no_args_is_help=True, help="Seed groups: validate a file, show schedules.")
alerts_app = typer.Typer(add_completion=False, help="Alerts raised by re-crawls (list by default).")
app.add_typer(seeds_app, name="seeds")
app.add_typer(alerts_app, name="alerts")


class Severity(str, Enum):
    low = "low"
    medium = "medium"
    high = "high"
    critical = "critical"


@app.command()
def watch(
    seeds: Path = typer.Argument(..., help="Seed groups (TOML)."),
    db: str | None = DbOption,
    tick: float = typer.Option(30.0, min=0.5, max=60.0, help="Seconds between schedule checks at most."),
    dwell: float = typer.Option(5.0, min=0.0),
    host_rules: str = typer.Option("", "--host-rules"),
    mode: Mode = typer.Option(Mode.browser),
    alert_file: str | None = typer.Option(None, "--alert-file"),
    webhook: list[str] = typer.Option([], "--webhook"),
) -> None:
    """Crawl each seed group on its schedule until stopped, raising alerts on injected content."""
    from hostpairs.crawler.watch import Watcher, WatcherRunning

    try:
        groups = load_seed_groups(seeds)
        HostRules.parse(host_rules)
    except (SeedFileError, HostRulesError) as exc:
        fail(str(exc))
    sessions = sessions_for(db)
    crawl_args = ["--dwell", str(dwell), "--mode", mode.value]
    for flag, value in (("--db", db), ("--host-rules", host_rules), ("--alert-file", alert_file)):
        if value:
            crawl_args += [flag, value]
    for url in webhook:
        crawl_args += ["--webhook", url]
    watcher = Watcher(seeds, sessions, crawl_args, tick, log=lambda line: err.print(line, soft_wrap=True))
    try:
        watcher.claim()
    except WatcherRunning as exc:
        fail(str(exc))
    err.print(f"watching {len(groups)} seed groups from {seeds} (Ctrl-C to stop)")
    watcher.run_forever()


@seeds_app.command("validate")
def seeds_validate(seeds: Path = typer.Argument(...)) -> None:
    """Check a seed file; a bad one is rejected with the line at fault."""
    try:
        groups = load_seed_groups(seeds)
    except SeedFileError as exc:
        fail(str(exc))
    for group in groups:
        schedule = f"cron {group.cron}" if group.cron else f"every {format_duration(group.interval_seconds or 0)}"
        tags = f" [{', '.join(sorted(group.tags))}]" if group.tags else ""
        out.print(f"{group.name}: {len(group.urls)} URLs, {schedule}, jitter {format_duration(group.jitter_seconds)}, "
                  f"depth {group.depth}{tags}")
    out.print(f"{seeds}: {len(groups)} groups, valid")


@seeds_app.command("status")
def seeds_status(db: str | None = DbOption) -> None:
    """Last and next run of each seed group, and the watcher's heartbeat."""
    from hostpairs.crawler.watch import running_run
    from hostpairs.storage.models import SeedGroupState, WatchHeartbeat
    from hostpairs.storage.queries import pt_time
    from hostpairs.storage.times import utcnow

    with sessions_for(db)() as session:
        heartbeat = session.get(WatchHeartbeat, "watch")
        rows = []
        for state in session.scalars(select(SeedGroupState).order_by(SeedGroupState.seed_group)):
            run = running_run(session, state.seed_group)
            rows.append({
                "group": state.seed_group,
                "last started": state.last_started_at and pt_time(state.last_started_at),
                "last finished": state.last_finished_at and pt_time(state.last_finished_at),
                "next run": state.next_run_at and pt_time(state.next_run_at),
                "running": f"since {pt_time(run.started_at)} (pid {run.pid} on {run.host})" if run else "no",
            })
    if heartbeat:
        age = (utcnow() - heartbeat.beat_at).total_seconds()
        out.print(f"watcher: last heartbeat {pt_time(heartbeat.beat_at)} UTC ({age:.0f} s ago), "
                  f"pid {heartbeat.pid} on {heartbeat.host}, "
                  f"seeds {heartbeat.seeds_file}")
    else:
        out.print("watcher: never ran on this database")
    print_table(rows, ("group", "last started", "last finished", "next run", "running"), "seed groups (UTC)")


@alerts_app.callback(invoke_without_command=True)
def alerts(
    ctx: typer.Context,
    since: str | None = typer.Option(None, help="Only alerts raised at or after this time (YYYY-MM-DD[ HH:MM:SS], UTC)."),
    severity: Severity | None = typer.Option(None, help="Only alerts at least this severe."),
    unacknowledged: bool = typer.Option(False, "--open", help="Only alerts not acknowledged yet."),
    db: str | None = DbOption,
    as_json: bool = typer.Option(False, "--json", help="One JSON event per line (the delivered form)."),
) -> None:
    """List alerts, newest first."""
    if ctx.invoked_subcommand is not None:
        return
    from hostpairs.storage.alerts import list_alerts

    with sessions_for(db)() as session:
        events = list_alerts(session, parse_date(since), severity.value if severity else None, not unacknowledged)
    if as_json:
        for event in events:
            print(json.dumps(event, sort_keys=True))
        return
    print_table(alert_rows(events), ("id", "timestamp", "severity", "kind", "page_url", "child_url", "signals", "ack"),
                f"{len(events)} alerts")


@alerts_app.command("ack")
def alerts_ack(alert_ids: list[int] = typer.Argument(..., help="Alert IDs."), db: str | None = DbOption) -> None:
    """Acknowledge alerts: the same page, host and kind may alert again afterwards."""
    from hostpairs.storage.alerts import acknowledge
    from hostpairs.storage.times import utcnow

    sessions = sessions_for(db)
    with sessions.begin() as session:
        missing = [i for i in alert_ids if not acknowledge(session, i, utcnow())]
        if missing:
            fail(f"no alert with id {', '.join(map(str, missing))}")
    out.print(f"acknowledged {', '.join(map(str, alert_ids))}")


PAIR_COLUMNS = ("parent", "child", "cause", "firstSeen", "lastSeen")


def emit(response: dict[str, Any], as_json: bool, columns: tuple[str, ...], title: str) -> None:
    """Print a response as JSON (PassiveTotal's shape) or as a table of its results."""
    if as_json:
        print(json.dumps(response, indent=2))
    else:
        print_table(response["results"], columns, title)


def alert_rows(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Alert events as table rows: signals on one line, acknowledgement as yes/blank."""
    return [{**e, "signals": "; ".join(e["signals"]), "ack": "yes" if e["acknowledged"] else ""} for e in events]


def print_table(rows: list[dict[str, Any]], columns: tuple[str, ...], title: str) -> None:
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*("" if row.get(c) is None else str(row[c]) for c in columns))
    out.print(table)


def main() -> None:
    """Console-script entry point: one-line errors, no tracebacks."""
    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "hostpairs.crawler.settings")
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()
