"""A page's script inventory and the auditor's report for a seed group (PCI DSS 6.4.3 / 11.6.1),
as JSON-ready dicts; the report also as one self-contained HTML page (every value escaped)."""

from __future__ import annotations

import html
import json
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hostpairs.api.passivetotal import pt_time
from hostpairs.extractors.inventory import InventoryScript
from hostpairs.storage.inventory import authorization_of, page_inventory
from hostpairs.storage.models import Alert, ScriptAuthorization, Visit, VisitScript
from hostpairs.storage.models import InventoryScript as StoredScript

INVENTORY_KINDS = ("unauthorized_script", "script_changed", "header_changed")


def _as_script(row: StoredScript, sha256: str | None = None) -> InventoryScript:
    return InventoryScript(row.script_key, row.url, sha256 or row.sha256, row.host, row.first_party,
                           tuple(json.loads(row.loaded_by)), row.integrity, row.integrity_matched, row.frame_url,
                           row.in_scope, None)


def authorization_record(row: ScriptAuthorization) -> dict[str, Any]:
    """An authorisation as the inventory, the report and `hostpairs scripts list` show it."""
    return {"id": row.id, "pattern": row.pattern, "kind": row.kind, "pinnedSha256": row.pinned_sha256,
            "justification": row.justification, "authorizedBy": row.authorized_by,
            "authorizedAt": pt_time(row.authorized_at), "revokedBy": row.revoked_by,
            "revokedAt": row.revoked_at and pt_time(row.revoked_at)}


def _covering(script: InventoryScript, authorizations: list[ScriptAuthorization], at: datetime | None) -> ScriptAuthorization | None:
    """The first authorisation covering the script, among those in force at `at` (None: now)."""
    for row in authorizations:
        in_force = row.revoked_at is None if at is None else (
            row.authorized_at <= at and (row.revoked_at is None or row.revoked_at > at))
        if in_force and authorization_of(row).covers(script):
            return row
    return None


def all_authorizations(session: Session) -> list[ScriptAuthorization]:
    """Every authorisation, revoked ones included, oldest first."""
    return list(session.scalars(select(ScriptAuthorization).order_by(ScriptAuthorization.id)))


def page_scripts(session: Session, page_url: str) -> list[dict[str, Any]]:
    """A page's inventory: every script with who loaded it, party, integrity, versions and status."""
    authorizations = all_authorizations(session)
    found = []
    for row, versions in page_inventory(session, page_url):
        covering = _covering(_as_script(row), authorizations, None)
        found.append({
            "script": row.script_key, "url": row.url, "inline": row.url is None, "host": row.host,
            "party": "first" if row.first_party else "third",
            "loadedBy": json.loads(row.loaded_by) or ["parser"], "integrity": row.integrity,
            "integrityMatched": row.integrity_matched, "frameUrl": row.frame_url,
            "inScope": row.in_scope, "sha256": row.sha256,
            "firstSeen": pt_time(row.first_seen), "lastSeen": pt_time(row.last_seen), "visits": row.visit_count,
            "versions": [{"sha256": v.sha256, "size": v.size, "firstSeen": pt_time(v.first_seen),
                          "lastSeen": pt_time(v.last_seen), "visits": v.visit_count} for v in versions],
            "status": "out of scope" if not row.in_scope else "authorized" if covering else "unauthorized",
            "authorization": authorization_record(covering) if covering else None,
        })
    return found


def group_report(session: Session, group: str, since: datetime | None, until: datetime) -> dict[str, Any]:
    """The auditor's evidence for a seed group over a period: each check (visit) with the scripts it
    saw and whether an authorisation in force then covered them, the inventory alerts with who
    acknowledged them and when, the pages' inventories, every authorisation."""
    visits = list(session.scalars(select(Visit).where(
        Visit.seed_group == group, Visit.started_at <= until, *([Visit.started_at >= since] if since else []))
        .order_by(Visit.started_at, Visit.id)))
    visit_ids = [v.id for v in visits]
    seen: dict[int, list[tuple[StoredScript, str | None]]] = {v: [] for v in visit_ids}
    for visit_id, row, sha256 in session.execute(
            select(VisitScript.visit_id, StoredScript, VisitScript.sha256)
            .join(StoredScript, StoredScript.id == VisitScript.inventory_script_id)
            .where(VisitScript.visit_id.in_(visit_ids)).order_by(VisitScript.id)):
        seen[visit_id].append((row, sha256))
    raised = list(session.scalars(select(Alert).where(Alert.visit_id.in_(visit_ids), Alert.kind.in_(INVENTORY_KINDS))
                                  .order_by(Alert.id)))
    by_visit: dict[int, list[int]] = {}
    for alert in raised:
        by_visit.setdefault(alert.visit_id, []).append(alert.id)
    authorizations = all_authorizations(session)
    checks = []
    for visit in visits:
        scripts = []
        for row, sha256 in seen[visit.id]:
            covering = _covering(_as_script(row, sha256), authorizations, visit.started_at)
            scripts.append({"script": row.script_key, "sha256": sha256, "inScope": row.in_scope,
                            "authorized": covering is not None or not row.in_scope,
                            "authorization": covering.id if covering else None})
        checks.append({"visitId": visit.id, "time": pt_time(visit.started_at), "pageUrl": visit.requested_url,
                       "error": visit.error, "securityHeaders": json.loads(visit.security_headers or "{}"),
                       "scripts": scripts, "alerts": by_visit.get(visit.id, []),
                       "evidencePruned": visit.pruned_at is not None})
    pages = sorted({v.requested_url for v in visits})
    return {
        "group": group, "since": since and pt_time(since), "until": pt_time(until),
        "checks": checks,
        "alerts": [{"id": a.id, "time": pt_time(a.created_at), "kind": a.kind, "severity": a.severity,
                    "pageUrl": a.page_url, "childUrl": a.child_url, "signals": json.loads(a.signals),
                    "evidence": json.loads(a.evidence), "acknowledgedAt": a.acknowledged_at and pt_time(a.acknowledged_at),
                    "acknowledgedBy": a.acknowledged_by} for a in raised],
        "inventories": {page: page_scripts(session, page) for page in pages},
        "authorizations": [authorization_record(a) for a in authorizations],
    }


def _cell(value: Any) -> str:
    if isinstance(value, (list, dict)):
        value = json.dumps(value, sort_keys=True)
    return html.escape("" if value is None else str(value))


def _table(rows: list[dict[str, Any]], columns: list[tuple[str, str]]) -> str:
    head = "".join(f"<th>{html.escape(title)}</th>" for title, _ in columns)
    body = "".join("<tr>" + "".join(f"<td>{_cell(row.get(key))}</td>" for _, key in columns) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>" if rows else "<p>None.</p>"


def report_html(report: dict[str, Any]) -> str:
    """The report as one HTML page for the auditor (no script, no outside resource)."""
    period = f"{report['since'] or 'the first check'} to {report['until']} UTC"
    checks = [{**c, "scripts": f"{sum(s['authorized'] for s in c['scripts'])} of {len(c['scripts'])} authorised",
               "alerts": ", ".join(f"#{a}" for a in c["alerts"])} for c in report["checks"]]
    parts = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        f"<title>Script inventory report: {html.escape(report['group'])}</title>",
        "<style>body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse;margin:.5em 0 1.5em}"
        "td,th{border:1px solid #bbb;padding:.25em .5em;text-align:left;vertical-align:top;word-break:break-all}"
        "th{background:#eee}</style></head><body>",
        f"<h1>Payment-page scripts: seed group {html.escape(report['group'])}</h1>",
        f"<p>Period: {html.escape(period)}. PCI DSS 6.4.3 (inventory and authorisation of every script) and 11.6.1 "
        "(changes to scripts and security headers, alerted). Generated by hostpairs from its stored visits.</p>",
        f"<h2>Checks ({len(checks)})</h2>",
        _table(checks, [("Time (UTC)", "time"), ("Page", "pageUrl"), ("Visit", "visitId"), ("Error", "error"),
                        ("Scripts", "scripts"), ("Alerts", "alerts")]),
        f"<h2>Alerts ({len(report['alerts'])})</h2>",
        _table(report["alerts"], [("#", "id"), ("Time (UTC)", "time"), ("Kind", "kind"), ("Severity", "severity"),
                                  ("Page", "pageUrl"), ("Script or page", "childUrl"), ("Signals", "signals"),
                                  ("Acknowledged (UTC)", "acknowledgedAt"), ("By", "acknowledgedBy")]),
    ]
    for page, scripts in report["inventories"].items():
        parts += [f"<h2>Inventory of {html.escape(page)}</h2>",
                  _table(scripts, [("Script", "script"), ("Party", "party"), ("Loaded by", "loadedBy"),
                                   ("Integrity", "integrity"), ("Matched", "integrityMatched"), ("Status", "status"),
                                   ("Authorisation", "authorization"), ("Versions (SHA-256)", "versions"),
                                   ("First seen", "firstSeen"), ("Last seen", "lastSeen")])]
    parts += ["<h2>Authorisations</h2>",
              _table(report["authorizations"], [("#", "id"), ("Pattern", "pattern"), ("Kind", "kind"),
                                                ("Pinned to", "pinnedSha256"), ("Justification", "justification"),
                                                ("By", "authorizedBy"), ("At (UTC)", "authorizedAt"),
                                                ("Revoked by", "revokedBy"), ("Revoked at", "revokedAt")]),
              "</body></html>"]
    return "\n".join(parts)
