"""The script inventory in the database: each inventoried page's scripts and their versions, what
each visit saw, the operators' authorisations; read back for change detection and the report."""

from __future__ import annotations

import json
import zlib
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from hostpairs.extractors.inventory import Authorization, KnownVersion, ScriptInventory
from hostpairs.storage.models import InventoryScript, ScriptAuthorization, ScriptVersion, Visit, VisitScript
from hostpairs.storage.upserts import dialect_insert, widened_seen


def store_inventory(session: Session, visit: Visit, inventory: ScriptInventory) -> None:
    """Upsert the visit's scripts (their details as this visit saw them) and versions, and record
    which version of each the visit saw."""
    if not inventory.scripts:
        return
    seen = visit.started_at
    insert = dialect_insert(session)
    table = InventoryScript.__table__
    rows = sorted(({
        "page_url": visit.requested_url, "script_key": s.key, "url": s.url, "host": s.host,
        "first_party": s.first_party, "loaded_by": json.dumps(list(s.loaded_by)), "integrity": s.integrity,
        "integrity_matched": s.integrity_matched, "frame_url": s.frame_url, "in_scope": s.in_scope, "sha256": s.sha256,
        "first_seen": seen, "last_seen": seen, "visit_count": 1} for s in inventory.scripts),
        key=lambda row: row["script_key"])
    statement = insert(table).values(rows)
    latest = {column: statement.excluded[column] for column in
              ("url", "host", "first_party", "loaded_by", "integrity", "integrity_matched", "frame_url", "in_scope", "sha256")}
    ids = dict(session.execute(statement.on_conflict_do_update(
        index_elements=[table.c.page_url, table.c.script_key], set_={**widened_seen(statement, table), **latest})
        .returning(InventoryScript.script_key, InventoryScript.id)).all())
    versions = sorted({(ids[s.key], s.sha256) for s in inventory.scripts if s.sha256})
    if versions:
        version_table = ScriptVersion.__table__
        bodies = inventory.bodies
        statement = insert(version_table).values([{
            "inventory_script_id": script_id, "sha256": sha256,
            "size": len(bodies[sha256][0]) if sha256 in bodies else None,
            "fuzzy_hash": bodies[sha256][1] if sha256 in bodies else None,
            "body": zlib.compress(bodies[sha256][0]) if sha256 in bodies else None,
            "first_seen": seen, "last_seen": seen, "visit_count": 1} for script_id, sha256 in versions])
        session.execute(statement.on_conflict_do_update(
            index_elements=[version_table.c.inventory_script_id, version_table.c.sha256],
            set_=widened_seen(statement, version_table)))
    session.add_all(VisitScript(visit_id=visit.id, inventory_script_id=ids[s.key], sha256=s.sha256)
                    for s in inventory.scripts)


def known_versions(session: Session, page_url: str) -> dict[str, list[KnownVersion]]:
    """The versions earlier visits of the page saw of each of its scripts, by script key, latest last."""
    known: dict[str, list[KnownVersion]] = {}
    for key, sha256, fuzzy, body in session.execute(
        select(InventoryScript.script_key, ScriptVersion.sha256, ScriptVersion.fuzzy_hash, ScriptVersion.body)
        .join(ScriptVersion, ScriptVersion.inventory_script_id == InventoryScript.id)
        .where(InventoryScript.page_url == page_url).order_by(ScriptVersion.last_seen, ScriptVersion.id)
    ):
        text = zlib.decompress(body).decode("utf-8", "surrogateescape") if body is not None else None
        known.setdefault(key, []).append(KnownVersion(sha256, fuzzy, text))
    return known


def authorization_of(row: ScriptAuthorization) -> Authorization:
    """A stored authorisation as the rules take it."""
    return Authorization(row.id, row.pattern, row.kind, row.pinned_sha256, row.justification, row.authorized_by)


def active_authorizations(session: Session) -> list[Authorization]:
    """The authorisations not revoked, oldest first."""
    return [authorization_of(a) for a in session.scalars(
        select(ScriptAuthorization).where(ScriptAuthorization.revoked_at.is_(None)).order_by(ScriptAuthorization.id))]


def previous_security_headers(session: Session, page_url: str) -> dict[str, str] | None:
    """The security headers of the page's latest successful visit (None before its first)."""
    headers = session.scalars(select(Visit.security_headers).where(
        Visit.requested_url == page_url, Visit.error.is_(None), Visit.security_headers.is_not(None))
        .order_by(Visit.id.desc()).limit(1)).first()
    return json.loads(headers) if headers is not None else None


def page_inventory(session: Session, page_url: str) -> list[tuple[InventoryScript, list[ScriptVersion]]]:
    """A page's inventory: each script with its versions (oldest first), scripts in the order first seen."""
    scripts = list(session.scalars(select(InventoryScript).where(InventoryScript.page_url == page_url)
                                   .order_by(InventoryScript.first_seen, InventoryScript.id)))
    versions: dict[int, list[ScriptVersion]] = {s.id: [] for s in scripts}
    for version in session.scalars(select(ScriptVersion).where(ScriptVersion.inventory_script_id.in_(list(versions)))
                                   .order_by(ScriptVersion.first_seen, ScriptVersion.id)):
        versions[version.inventory_script_id].append(version)
    return [(script, versions[script.id]) for script in scripts]


def latest_sha256(session: Session, url: str) -> str | None:
    """The latest version of a script URL on any inventoried page."""
    return session.scalars(select(InventoryScript.sha256).where(InventoryScript.url == url)
                           .order_by(InventoryScript.last_seen.desc()).limit(1)).first()


def authorize(session: Session, pattern: str, kind: str, pinned_sha256: str | None, justification: str, by: str,
              now: datetime) -> ScriptAuthorization:
    """File an authorisation."""
    authorization = ScriptAuthorization(pattern=pattern, kind=kind, pinned_sha256=pinned_sha256,
                                        justification=justification, authorized_by=by, authorized_at=now)
    session.add(authorization)
    session.flush()
    return authorization


def revoke(session: Session, ids: Sequence[int], by: str, now: datetime) -> list[int]:
    """Revoke authorisations; returns the ids that were active."""
    revoked = []
    for authorization in session.scalars(select(ScriptAuthorization).where(
            ScriptAuthorization.id.in_(list(ids)), ScriptAuthorization.revoked_at.is_(None))):
        authorization.revoked_at, authorization.revoked_by = now, by
        revoked.append(authorization.id)
    return revoked
