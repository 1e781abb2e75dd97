"""`GET /api/v1/export/{dataset}`: a data set, whole or one host's, streamed as CSV, JSON lines, a
STIX 2.1 bundle or a MISP event (api/exports.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from hostpairs.api.exports import DATASETS, FORMATS, MEDIA_TYPES, SUFFIXES, export_chunks, export_request

router = APIRouter(prefix="/api/v1", tags=["hostpairs v1"])

Dataset = Annotated[str, Path(description="pairs, resolutions, trackers or alerts.",
                              json_schema_extra={"enum": list(DATASETS)})]
Format = Annotated[str, Query(description="csv (PassiveTotal's field names), jsonl, stix (a STIX 2.1 bundle) or misp "
                                          "(a MISP event).", json_schema_extra={"enum": list(FORMATS)})]
Host = Annotated[str | None, Query(description="Only this host's records (its subdomains too; resolutions: or an "
                                               "IP's). Not for alerts.")]
Direction = Annotated[str | None, Query(description="Pairs with a query: children (default) or parents.")]
Since = Annotated[str | None, Query(description="Only records last seen (alerts: raised) at or after this time.")]


@router.get("/export/{dataset}", summary="A data set exported, streamed", response_class=StreamingResponse,
            responses={200: {"description": "The export, written as it is read",
                             "content": {media_type: {} for media_type in MEDIA_TYPES.values()}}})
def export(request: Request, dataset: Dataset, format: Format, query: Host = None,  # noqa: A002 (the API's name)
           direction: Direction = None, since: Since = None) -> Response:
    if dataset not in DATASETS:
        return JSONResponse({"message": f"no data set {dataset!r} (one of: {', '.join(DATASETS)})"}, status_code=404)
    chosen = export_request(dataset, format, query, direction, since)
    filename = f"hostpairs-{dataset}.{SUFFIXES[format]}"
    return StreamingResponse(export_chunks(request.app.state.sessions, chosen), media_type=MEDIA_TYPES[format],
                             headers={"Content-Disposition": f'attachment; filename="{filename}"'})
