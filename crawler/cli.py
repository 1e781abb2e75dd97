"""The `hostpairs` command line."""

from __future__ import annotations

import json
import os
import sys
from enum import Enum
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from crawler.host_rules import HostRules, HostRulesError
from crawler.targets import TargetError, expand_targets
from extractors.host_pairs import CAUSES
from extractors.hosts import normalize_host
from storage.db import DatabaseError, open_database, session_factory
from storage.queries import latest_frames, lookup_pairs, passive_dns

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
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
    """A host as typed by a user (any case, trailing dot, IDN) in stored form."""
    host = normalize_host(value.split("://")[-1].split("/")[0])
    if host is None or " " in host or "." not in host.strip("."):
        fail(f"not a host name: {value!r}")
    return host


def sessions_for(db: str | None):  # noqa: ANN201
    try:
        return session_factory(open_database(db))
    except DatabaseError as exc:
        fail(str(exc))


@app.command()
def crawl(
    targets: list[str] = typer.Argument(..., help="URLs and seed files (one URL a line, '#' comments)."),
    db: str | None = DbOption,
    depth: int = typer.Option(0, min=0, help="Follow same-site links this many levels deep."),
    max_pages: int = typer.Option(100, min=1, help="Stop scheduling pages after this many."),
    dwell: float = typer.Option(5.0, min=0.0, help="Seconds to stay on each page after load."),
    host_rules: str = typer.Option("", "--host-rules", help="Chromium host resolver rules, e.g. 'MAP * 127.0.0.1:8080'."),
    allow_private: bool = typer.Option(False, help="Allow crawling private/loopback addresses that are not mapped."),
    mode: Mode = typer.Option(Mode.browser, help="browser: headless Chromium; static: Scrapy's HTTP stack, no browser."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show Scrapy's log."),
) -> None:
    """Visit TARGETS in headless Chromium and store host pairs, dependencies and resolutions."""
    from crawler.run import CrawlOptions, run_crawl

    try:
        urls = expand_targets(targets)
        HostRules.parse(host_rules)
    except (TargetError, HostRulesError) as exc:
        fail(str(exc))
    if not urls:
        fail("no URLs to crawl")
    sessions_for(db)  # fail early on a database that does not connect
    options = CrawlOptions(db=db, depth=depth, max_pages=max_pages, dwell=dwell, host_rules=host_rules,
                           allow_private=allow_private, mode=mode.value, verbose=verbose)
    summary = run_crawl(urls, options, err)
    out.print(
        f"pages: {summary['pages']}  pairs new: {summary['pairs_new']}  pairs seen: {summary['pairs_seen']}  "
        f"errors: {summary['errors']}"
    )
    for url, error in summary["failures"]:
        out.print(f"  failed: {url} — {error}", soft_wrap=True)


@app.command()
def lookup(
    host: str = typer.Argument(..., help="Host name; its subdomains match too."),
    direction: Direction = typer.Option(Direction.children, help="children: what HOST references; parents: who references HOST."),
    cause: str | None = typer.Option(None, help=f"Only this cause ({', '.join(CAUSES)})."),
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Host pairs of HOST, as PassiveTotal's /v2/host-attributes/pairs answered."""
    if cause is not None and cause not in CAUSES:
        fail(f"unknown cause {cause!r} (one of: {', '.join(CAUSES)})")
    query = query_host(host)
    with sessions_for(db)() as session:
        response = lookup_pairs(session, query, direction.value, cause)
    if as_json:
        print(json.dumps(response, indent=2))
        return
    print_table(response["results"], ("parent", "child", "cause", "firstSeen", "lastSeen"),
                f"{response['totalRecords']} host pairs ({direction.value} of {query})")


@app.command()
def resolutions(host: str = typer.Argument(...), db: str | None = DbOption, as_json: bool = JsonOption) -> None:
    """IP addresses the crawler connected to for HOST and its subdomains (passive DNS shape)."""
    query = query_host(host)
    with sessions_for(db)() as session:
        response = passive_dns(session, query)
    if as_json:
        print(json.dumps(response, indent=2))
        return
    print_table(response["results"], ("value", "resolve", "recordType", "firstSeen", "lastSeen"),
                f"{response['totalRecords']} resolutions of {query}")


@app.command()
def demo(db: str | None = DbOption, dwell: float = typer.Option(5.0, min=0.0)) -> None:
    """Crawl the bundled demo web (fictional sites on loopback) and show what was found."""
    from crawler.run import CrawlOptions, run_crawl
    from demoweb.sites import DEMO_SEEDS, demo_web

    with demo_web() as web:
        err.print(f"demo web serving {len(web.sites)} fictional sites on 127.0.0.1:{web.port}")
        options = CrawlOptions(db=db, dwell=dwell, host_rules=web.host_rules, depth=1, max_pages=20)
        summary = run_crawl(DEMO_SEEDS, options, err)
    out.print(f"pages: {summary['pages']}  pairs new: {summary['pairs_new']}  pairs seen: {summary['pairs_seen']}  "
              f"errors: {summary['errors']}")
    with sessions_for(db)() as session:
        for seed in DEMO_SEEDS:
            seed_host = query_host(seed)
            response = lookup_pairs(session, seed_host, "children")
            print_table(response["results"], ("parent", "child", "cause", "firstSeen", "lastSeen"),
                        f"what {seed_host} references ({response['totalRecords']} host pairs)")
        frames = [
            {"frame": f.url, "created by": f.creator_script_url or "HTML", "hidden": f.hidden_reasons or "no"}
            for f in latest_frames(session, DEMO_SEEDS[0])
        ]
        print_table(frames, ("frame", "created by", "hidden"), f"frames of {DEMO_SEEDS[0]}")
        attacker = lookup_pairs(session, "misapor-demo.ch", "parents")
        print_table(attacker["results"], ("parent", "child", "cause", "firstSeen", "lastSeen"),
                    "who references misapor-demo.ch — `hostpairs lookup misapor-demo.ch --direction parents`")


def print_table(rows: list[dict[str, Any]], columns: tuple[str, ...], title: str) -> None:
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(str(row[c]) for c in columns))
    out.print(table)


def main() -> None:
    """Console-script entry point: one-line errors, no tracebacks."""
    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "crawler.settings")
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()
