"""A PassiveTotal-compatible HTTP API over the hostpairs database, and a look-up page.

Endpoints (GET, JSON, the response shapes of ../shared/passivetotal-reference.md):
    /v2/host-attributes/pairs?query=Q&direction=children|parents[&start=&end=]
    /v2/host-attributes/trackers?query=Q
    /v2/host-attributes/components?query=Q
    /v2/host-attributes/cookies?query=Q
    /v2/trackers/search?query=VALUE[&type=TYPE]
    /v2/dns/passive?query=Q
    /v2/dns/passive/unique?query=Q
Authentication is HTTP Basic (user name and API key) when keys are configured; errors are
`{"message": "..."}`. `/` serves a small page that queries the same endpoints.
"""

from __future__ import annotations

import hmac
import json
import logging
from base64 import b64decode
from collections.abc import Callable
from datetime import datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sqlalchemy.orm import Session, sessionmaker

from hostpairs.extractors.hosts import query_host
from hostpairs.extractors.trackers import TRACKER_TYPES
from hostpairs.storage.queries import (
    DIRECTIONS,
    cookie_records,
    host_components,
    host_trackers,
    lookup_pairs,
    passive_dns,
    search_trackers,
    unique_resolutions,
)

logger = logging.getLogger(__name__)
PAGE = Path(__file__).with_name("page.html")


class ApiError(Exception):
    """A request the API refuses, with its HTTP status."""

    def __init__(self, status: HTTPStatus, message: str):
        super().__init__(message)
        self.status = status


def _query_host(params: dict[str, str]) -> str:
    host = query_host(params.get("query", ""))
    if host is None:
        raise ApiError(HTTPStatus.BAD_REQUEST, "query must be a host name or an IP address")
    return host


def _date(params: dict[str, str], name: str) -> datetime | None:
    value = params.get(name)
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise ApiError(HTTPStatus.BAD_REQUEST, f"{name} must be a date (YYYY-MM-DD[ HH:MM:SS])") from None


def _pairs(session: Session, params: dict[str, str]) -> dict[str, Any]:
    direction = params.get("direction", "")
    if direction not in DIRECTIONS:
        raise ApiError(HTTPStatus.BAD_REQUEST, "direction must be children or parents")
    return lookup_pairs(session, _query_host(params), direction, None, _date(params, "start"), _date(params, "end"))


def _tracker_search(session: Session, params: dict[str, str]) -> dict[str, Any]:
    value, tracker_type = params.get("query", "").strip(), params.get("type") or None
    if not value:
        raise ApiError(HTTPStatus.BAD_REQUEST, "query must be a tracker value")
    if tracker_type is not None and tracker_type not in TRACKER_TYPES:
        raise ApiError(HTTPStatus.BAD_REQUEST, f"type must be one of {', '.join(TRACKER_TYPES)}")
    return search_trackers(session, value, tracker_type)


ROUTES: dict[str, Callable[[Session, dict[str, str]], dict[str, Any]]] = {
    "/v2/host-attributes/pairs": _pairs,
    "/v2/host-attributes/trackers": lambda session, params: host_trackers(session, _query_host(params)),
    "/v2/host-attributes/components": lambda session, params: host_components(session, _query_host(params)),
    "/v2/host-attributes/cookies": lambda session, params: cookie_records(session, _query_host(params)),
    "/v2/trackers/search": _tracker_search,
    "/v2/dns/passive": lambda session, params: passive_dns(session, _query_host(params)),
    "/v2/dns/passive/unique": lambda session, params: unique_resolutions(session, _query_host(params)),
}


def parse_api_keys(text: str | None) -> dict[str, str]:
    """'user:key,user2:key2' → {user: key}; raises ValueError on a malformed entry."""
    keys = {}
    for entry in filter(None, (part.strip() for part in (text or "").split(","))):
        user, sep, key = entry.partition(":")
        if not sep or not user or not key:
            raise ValueError(f"API key {entry!r} is not USER:KEY")
        keys[user] = key
    return keys


def make_server(sessions: sessionmaker[Session], host: str, port: int, api_keys: dict[str, str]) -> ThreadingHTTPServer:
    """An HTTP server answering the API (not started: call serve_forever)."""

    class Handler(BaseHTTPRequestHandler):
        server_version = "hostpairs-api"

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            url = urlsplit(self.path)
            if url.path in ("/", "/index.html"):
                self._send(HTTPStatus.OK, PAGE.read_bytes(), "text/html; charset=utf-8")
                return
            try:
                self._authenticate()
                route = ROUTES.get(url.path.rstrip("/"))
                if route is None:
                    raise ApiError(HTTPStatus.NOT_FOUND, f"no endpoint {url.path}")
                params = {name: values[-1] for name, values in parse_qs(url.query).items()}
                with sessions() as session:
                    body = route(session, params)
                self._json(HTTPStatus.OK, body)
            except ApiError as exc:
                self._json(exc.status, {"message": str(exc)})
            except Exception:
                logger.exception("API request %s failed", self.path)
                self._json(HTTPStatus.INTERNAL_SERVER_ERROR, {"message": "internal error"})

        def _authenticate(self) -> None:
            if not api_keys:
                return
            header = self.headers.get("Authorization", "")
            user, key = "", ""
            if header.startswith("Basic "):
                try:
                    user, _, key = b64decode(header[6:]).decode().partition(":")
                except (ValueError, UnicodeDecodeError):
                    pass
            expected = api_keys.get(user)
            if expected is None or not hmac.compare_digest(expected.encode(), key.encode()):
                raise ApiError(HTTPStatus.UNAUTHORIZED, "authentication required: HTTP Basic with user name and API key")

        def _json(self, status: HTTPStatus, body: dict[str, Any]) -> None:
            self._send(status, json.dumps(body).encode(), "application/json")

        def _send(self, status: HTTPStatus, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            if status == HTTPStatus.UNAUTHORIZED:
                self.send_header("WWW-Authenticate", 'Basic realm="hostpairs"')
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            logger.info("%s %s", self.address_string(), format % args)

    return ThreadingHTTPServer((host, port), Handler)
