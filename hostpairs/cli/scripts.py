"""`hostpairs scripts`: payment pages' script inventory, authorisations and the auditor's report."""

from __future__ import annotations

import json
import re
from enum import Enum
from pathlib import Path

import click
import typer
from typer.core import TyperGroup

from hostpairs.cli.common import DbOption, checked, fail, out, sessions_for
from hostpairs.cli.tables import print_table

_SHA256 = re.compile(r"[0-9a-f]{64}")


class _InventoryFirst(TyperGroup):
    """`hostpairs scripts PAGE_URL` is `hostpairs scripts show PAGE_URL`."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and not args[0].startswith("-") and args[0] not in self.commands:
            args = ["show", *args]
        return super().parse_args(ctx, args)


app = typer.Typer(cls=_InventoryFirst, add_completion=False, no_args_is_help=True, help=(
    "Payment pages' scripts (PCI DSS 6.4.3 / 11.6.1): `hostpairs scripts PAGE_URL` lists a page's inventory."))


class ReportFormat(str, Enum):
    html = "html"
    json = "json"


@app.command("show", hidden=True)
def show(page_url: str = typer.Argument(..., help="An inventoried page, as its seed group lists it."),
         as_json: bool = typer.Option(False, "--json"), db: str | None = DbOption) -> None:
    """Every script that ran on PAGE_URL: who loaded it, party, integrity, versions, authorisation."""
    from hostpairs.api.inventory_report import page_scripts

    with sessions_for(db)() as session:
        scripts = page_scripts(session, page_url)
    if not scripts:
        fail(f"no script inventory of {page_url} (its seed group must be tagged payment or set inventory = true)")
    if as_json:
        print(json.dumps({"pageUrl": page_url, "scripts": scripts}, indent=2))
        return
    rows = [{**s, "loadedBy": " ← ".join(s["loadedBy"]), "versions": len(s["versions"]),
             "sha256": (s["sha256"] or "")[:16], "authorization": s["authorization"] and
             f"#{s['authorization']['id']} {s['authorization']['authorizedBy']}: {s['authorization']['justification']}"}
            for s in scripts]
    print_table(rows, ("script", "party", "loadedBy", "integrityMatched", "sha256", "versions", "status", "authorization"),
                f"{len(scripts)} scripts of {page_url}")


@app.command()
def authorize(pattern: str = typer.Argument(..., help="A script URL, a host suffix (its scripts, any URL) or a SHA-256 (one body)."),
              justification: str = typer.Option(..., "--justification", help="Why the page needs it (PCI DSS 6.4.3)."),
              by: str = typer.Option(..., "--by", help="Who authorises it."),
              version_pinned: bool = typer.Option(False, "--version-pinned", help=(
                  "For a URL: only the version seen now (its latest SHA-256); a new version is then high.")),
              db: str | None = DbOption) -> None:
    """Authorise scripts: a URL covers any version of it (one with --version-pinned), a host suffix
    every script it serves, a SHA-256 one body (inline scripts are keyed by theirs)."""
    from hostpairs.extractors.hosts import query_host
    from hostpairs.storage.inventory import authorize as file_authorization
    from hostpairs.storage.inventory import latest_sha256
    from hostpairs.storage.times import utcnow

    pattern, justification, by = pattern.strip(), justification.strip(), by.strip()
    if not justification or not by:
        fail("--justification and --by must not be empty")
    if len(by) > 255:
        fail("--by: at most 255 characters")
    pinned = None
    digest = pattern.lower().removeprefix("inline:").removeprefix("sha256:")
    with sessions_for(db).begin() as session:
        if _SHA256.fullmatch(digest):
            kind, pattern = "hash", digest
        elif pattern.startswith(("http://", "https://")):
            kind = "url"
            if version_pinned:
                pinned = latest_sha256(session, pattern)
                if pinned is None:
                    fail(f"--version-pinned: no inventoried page ran {pattern} yet, so there is no version to pin")
        else:
            host = query_host(pattern)
            if host is None:
                fail(f"not a script URL, a host or a SHA-256: {pattern!r}")
            kind, pattern = "host", host
        if version_pinned and kind != "url":
            fail("--version-pinned applies to a script URL (a SHA-256 is one version already)")
        filed = file_authorization(session, pattern, kind, pinned, justification, by, utcnow())
        number = filed.id
    out.print(f"authorisation #{number}: {kind} {pattern}" + (f" pinned to {pinned}" if pinned else ""), markup=False)


@app.command()
def revoke(ids: list[int] = typer.Argument(..., min=1, max=2**63 - 1, help="Authorisation numbers."),
           by: str = typer.Option(..., "--by", help="Who revokes them."), db: str | None = DbOption) -> None:
    """Revoke authorisations: what they covered alerts as unauthorised again."""
    from hostpairs.storage.inventory import revoke as revoke_authorizations
    from hostpairs.storage.times import utcnow

    with sessions_for(db).begin() as session:
        revoked = revoke_authorizations(session, ids, by.strip()[:255] or "unknown", utcnow())
    missing = sorted(set(ids) - set(revoked))
    if missing:
        fail(f"no active authorisation #{', #'.join(map(str, missing))}" + (
            f" (revoked #{', #'.join(map(str, revoked))})" if revoked else ""))
    out.print(f"revoked #{', #'.join(map(str, revoked))}")


@app.command("list")
def list_authorizations(db: str | None = DbOption) -> None:
    """Every authorisation, revoked ones included."""
    from hostpairs.api.inventory_report import all_authorizations, authorization_record

    with sessions_for(db)() as session:
        rows = [authorization_record(a) for a in all_authorizations(session)]
    print_table(rows, ("id", "kind", "pattern", "pinnedSha256", "justification", "authorizedBy", "authorizedAt",
                       "revokedAt"), f"{len(rows)} authorisations")


@app.command()
def report(group: str = typer.Option(..., "--group", help="The seed group of the payment pages."),
           since: str | None = typer.Option(None, "--since", help="From this date (UTC; default: the first check)."),
           report_format: ReportFormat = typer.Option(ReportFormat.html, "--format"),
           output: Path | None = typer.Option(None, "--output", help="Write it here (default: standard output)."),
           db: str | None = DbOption) -> None:
    """The auditor's evidence for a period: each check's time and page, the scripts seen and whether
    an authorisation covered them then, changes and alerts with who acknowledged them, the
    inventories and every authorisation."""
    from hostpairs.api import parameters
    from hostpairs.api.inventory_report import group_report, report_html
    from hostpairs.storage.times import utcnow

    start = checked(parameters.date, since, "--since")
    with sessions_for(db)() as session:
        found = group_report(session, group, start, utcnow())
    if not found["checks"]:
        fail(f"no visit of seed group {group!r}" + (f" since {since}" if since else ""))
    text = report_html(found) if report_format is ReportFormat.html else json.dumps(found, indent=2)
    if output is None:
        print(text)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        fail(f"--output: cannot write {output}: {exc.strerror or exc}")
    out.print(f"wrote the report of {len(found['checks'])} checks to {output}", markup=False)
