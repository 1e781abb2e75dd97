"""`/api/v1/scripts`: a payment page's script inventory and a seed group's audit report (JSON or
HTML), as `hostpairs scripts` prints them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, JSONResponse, Response

from hostpairs.api import parameters
from hostpairs.api.inventory_report import group_report, page_scripts, report_html
from hostpairs.api.pt_routes import DB
from hostpairs.storage.times import utcnow

router = APIRouter(prefix="/api/v1", tags=["hostpairs v1"])


@router.get("/scripts", summary="Every script that ran on an inventoried page, with its versions and authorisation")
def scripts(db: DB, page: Annotated[str, Query(description="The page's URL, as its seed group lists it.")]) -> JSONResponse:
    found = page_scripts(db, page)
    if not found:
        return JSONResponse({"message": f"no script inventory of {page}"}, status_code=404)
    return JSONResponse({"pageUrl": page, "scripts": found})


@router.get("/scripts/report", summary="The auditor's evidence for a seed group's payment pages over a period",
            responses={200: {"content": {"application/json": {}, "text/html": {}}}})
def report(db: DB, group: Annotated[str, Query(description="The seed group.")],
           since: Annotated[str | None, Query(description="From this date (UTC).")] = None,
           format: Annotated[str, Query(description="json or html.", json_schema_extra={"enum": ["json", "html"]})] = "json",  # noqa: A002
           ) -> Response:
    if format not in ("json", "html"):
        raise parameters.InvalidQuery(f"format: json or html, not {format!r}")
    found = group_report(db, group, parameters.date(since, "since"), utcnow())
    if not found["checks"]:
        return JSONResponse({"message": f"no visit of seed group {group!r}"}, status_code=404)
    return HTMLResponse(report_html(found)) if format == "html" else JSONResponse(found)
