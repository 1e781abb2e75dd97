"""The HTTP API as an ASGI application (served by uvicorn: `hostpairs serve`).

- `/v2/...`: the PassiveTotal calls the clients make (api/pt_routes.py);
- `/api/v1/...`: hostpairs' own (api/native.py);
- `/api/v1/...` for the web app too (api/pivots.py): search, a host's facts and timeline, visits;
- `/`: the web app (api/web/, static files, no build step); `/openapi.json`, `/docs` (no CDN).

Every error is JSON `{"message": ...}`: 400 for a bad parameter, 401 (with WWW-Authenticate)
before routing — so an unknown path asked without a key is a 401, with one a 404 —, 405 with
Allow, 413/414/431 for oversized requests, 429 with Retry-After, 500 without details."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.orm import Session, sessionmaker
from starlette.exceptions import HTTPException

from hostpairs.api import export_routes, inventory_routes, native, pivots, pt_routes
from hostpairs.api.auth import Authentication, RateLimit
from hostpairs.api.middleware import AccessLog, ASGIApp, JsonBodyParameters, RequestLimits, ResponseCache
from hostpairs.api.parameters import DIRECTIONS, MAX_LIMIT, ORDERS, SORTS, InvalidQuery
from hostpairs.extractors.host_pairs import CAUSES
from hostpairs.extractors.records import SEVERITIES

logger = logging.getLogger(__name__)
WEB = Path(__file__).with_name("web")
DEFAULT_RATE_LIMIT = 600
"""Requests a minute each API user may make (`--rate-limit`; 0: no limit)."""
DEFAULT_CACHE_SECONDS = 5.0
"""Seconds a look-up's answer is reused for the same question (`--cache-seconds`; 0: never)."""
UNCACHED = ("/api/v1/alerts", "/api/v1/seed-groups", "/v2/account", "/api/v1/export")
"""Answers that change with every action or differ by user, and exports (streamed, never held): never
reused."""


def create_app(sessions: sessionmaker[Session], keys_required: bool = False,
               rate_limit: int = DEFAULT_RATE_LIMIT, cache_seconds: float = DEFAULT_CACHE_SECONDS) -> ASGIApp:
    """The API over `sessions`' database. `keys_required`: ask for an API key even while no API
    user exists (a server listening beyond loopback); otherwise keys are asked for as soon as one
    exists. A look-up's answer is reused for `cache_seconds`, after the key and the rate limit
    were checked."""
    app = FastAPI(title="hostpairs", version="1", docs_url=None, redoc_url=None,
                  description="Host pairs, page dependencies, resolutions, trackers, cookies and components "
                              "observed by the hostpairs crawler: PassiveTotal's v2 calls and hostpairs' own.")
    app.state.sessions = sessions
    app.include_router(native.router)
    app.include_router(pivots.router)
    app.include_router(export_routes.router)
    app.include_router(inventory_routes.router)
    app.include_router(pt_routes.router)
    _add_error_handlers(app)
    _add_pages(app)
    app.openapi = lambda: _schema(app)  # type: ignore[method-assign]
    wrapped: ASGIApp = ResponseCache(app, cache_seconds, UNCACHED)
    wrapped = JsonBodyParameters(wrapped)
    wrapped = RateLimit(wrapped, rate_limit)
    wrapped = Authentication(wrapped, sessions, always=keys_required)
    wrapped = RequestLimits(wrapped)
    return AccessLog(wrapped)


PARAMETER_SCHEMAS: dict[str, dict[str, Any]] = {
    "page": {"type": "integer", "minimum": 0, "maximum": 10_000_000},
    "limit": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
    "direction": {"type": "string", "enum": list(DIRECTIONS)},
    "sort": {"type": "string", "enum": list(SORTS)},
    "order": {"type": "string", "enum": list(ORDERS)},
    "searchType": {"type": "string", "enum": ["hosts", "addresses"]},
    "severity": {"type": "string", "enum": list(SEVERITIES)},
    "cause": {"type": "array", "items": {"type": "string", "enum": list(CAUSES)}},
}
"""What the API's own parsers (api/parameters.py) accept, stated in the schema: they read every
parameter as text, so the schema FastAPI derives would say "any string"."""
ERRORS = {"400": "A parameter that cannot be used", "401": "No valid API key", "404": "Nothing at this path",
          "429": "Past the rate limit (see Retry-After)"}


def _schema(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI schema: parameters as the parsers take them, and the errors every operation
    may answer, each a `{"message"}` (FastAPI's own 422 is never answered: a bad parameter is a 400)."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    components["Message"] = {"type": "object", "properties": {"message": {"type": "string"}}, "required": ["message"]}
    for path_item in schema["paths"].values():
        for operation in path_item.values():
            for parameter in operation.get("parameters", []):
                if parameter["name"] in PARAMETER_SCHEMAS:
                    parameter["schema"] = {**PARAMETER_SCHEMAS[parameter["name"]], "title": parameter["name"]}
            responses = operation["responses"]
            responses.pop("422", None)
            for status, description in ERRORS.items():
                responses.setdefault(status, {"description": description, "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/Message"}}}})
    app.openapi_schema = schema
    return schema


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(InvalidQuery)
    async def invalid_query(_: Request, exc: InvalidQuery) -> JSONResponse:
        return JSONResponse({"message": str(exc)}, status_code=400)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(part) for part in first.get("loc", ())[1:])  # (after where: query, path, body)
        return JSONResponse({"message": f"{where or 'request'}: {first.get('msg', 'invalid')}"}, status_code=400)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        if exc.status_code == 404:
            message = f"no endpoint {request.url.path}"
        elif exc.status_code == 405:
            message = f"{request.method} is not allowed on {request.url.path}"
        else:
            message = str(exc.detail)
        return JSONResponse({"message": message}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        logger.error("%s %s failed: %s: %s", request.method, request.url.path, type(exc).__name__, exc)
        return JSONResponse({"message": "internal error"}, status_code=500)


def _add_pages(app: FastAPI) -> None:
    from swagger_ui_bundle import swagger_ui_path

    app.mount("/docs/assets", StaticFiles(directory=swagger_ui_path), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="hostpairs API",
                                   swagger_js_url="/docs/assets/swagger-ui-bundle.js",
                                   swagger_css_url="/docs/assets/swagger-ui.css",
                                   swagger_favicon_url="/docs/assets/favicon-32x32.png")

    app.mount("/app", StaticFiles(directory=WEB), name="web-app")

    @app.get("/", include_in_schema=False)
    def web_app() -> FileResponse:
        return FileResponse(WEB / "index.html", media_type="text/html; charset=utf-8")


def app_from_environment() -> ASGIApp:
    """The application `hostpairs serve` runs in each server process, configured by the
    environment it sets: HOSTPAIRS_DB, HOSTPAIRS_API_KEYS_REQUIRED, HOSTPAIRS_API_RATE_LIMIT,
    HOSTPAIRS_API_CACHE_SECONDS."""
    import gc
    import os

    from hostpairs.storage.db import open_database, session_factory

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s: %(message)s")
    app = create_app(session_factory(open_database(os.environ["HOSTPAIRS_DB"])),
                     keys_required=bool(os.environ.get("HOSTPAIRS_API_KEYS_REQUIRED")),
                     rate_limit=int(os.environ.get("HOSTPAIRS_API_RATE_LIMIT") or DEFAULT_RATE_LIMIT),
                     cache_seconds=float(os.environ.get("HOSTPAIRS_API_CACHE_SECONDS") or DEFAULT_CACHE_SECONDS))
    gc.freeze()  # what was loaded to start is never garbage: full collections then skip it
    return app
