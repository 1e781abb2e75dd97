"""A visit's evidence as JSON (`hostpairs visit --json`): the visit, its frame tree, every dependency,
its resource hints and parked scripts."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from hostpairs.api.passivetotal import pt_time
from hostpairs.storage.queries import marked_references
from hostpairs.storage.models import Visit


def visit_report(session: Session, visit: Visit) -> dict[str, Any]:
    """The report of a stored visit (frames and dependencies in the order they were stored, and
    the references marked as resource hints or parked scripts; none once `hostpairs prune`
    removed them, which `evidencePruned` dates)."""
    return {
        "visit": {"id": visit.id, "requestedUrl": visit.requested_url, "finalUrl": visit.final_url,
                  "mode": visit.mode, "started": pt_time(visit.started_at), "finished": pt_time(visit.finished_at),
                  "status": visit.status, "error": visit.error, "loadFinished": visit.load_finished,
                  "limitsHit": visit.limits_hit.split(", ") if visit.limits_hit else [],
                  "evidencePruned": visit.pruned_at and pt_time(visit.pruned_at)},
        "frames": [
            {"frameId": f.frame_id, "parentFrameId": f.parent_frame_id, "url": f.url,
             "createdByScript": f.created_by_script, "creatorScriptUrl": f.creator_script_url,
             "hidden": f.hidden, "hiddenReasons": f.hidden_reasons, "detached": f.detached}
            for f in sorted(visit.frames, key=lambda f: f.id)
        ],
        "dependencies": [
            {"started": d.started_at and pt_time(d.started_at), "url": d.url, "resourceType": d.resource_type,
             "cause": d.cause, "parent": d.parent_host,
             "frameId": d.frame_id, "initiatorType": d.initiator_type, "initiatorUrl": d.initiator_url,
             "redirectedFrom": d.redirected_from, "status": d.status, "remoteIp": d.remote_ip,
             "remotePort": d.remote_port, "error": d.error, "certificateError": d.certificate_error,
             "sha256": d.body_sha256, "declaredType": d.declared_type}
            for d in sorted(visit.dependencies, key=lambda d: d.id)
        ],
        "markedReferences": [
            {"url": url, "cause": cause, "parent": parent, "child": child, "hint": hint, "declaredType": declared}
            for url, cause, parent, child, hint, declared in marked_references(session, visit.id)
        ],
    }
