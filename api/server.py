"""A PassiveTotal-compatible HTTP API over the hostpairs database, and a look-up page.

Endpoints (GET, JSON, the response shapes of ../shared/passivetotal-reference.md), each paged by
`page` (from 0) and `limit` (default 2,000), `totalRecords` counting every page:
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
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sqlalchemy.orm import Session, sessionmaker

from hostpairs.api import parameters, passivetotal
from hostpairs.api.parameters import InvalidQuery
from hostpairs.storage import queries

logger = logging.getLogger(__name__)
PAGE = Path(__file__).with_name("page.html")


class ApiError(Exception):
    """A request the API refuses, with its HTTP status."""

    def __init__(self, status: HTTPStatus, message: str):
        super().__init__(message)
        self.status = status


def _paging(params: dict[str, str]) -> queries.Paging:
    return parameters.paging(params.get("page"), params.get("limit"))


def _pairs(session: Session, params: dict[str, str]) -> dict[str, Any]:
    direction = parameters.direction(params.get("direction", ""))
    host = parameters.host(params.get("query", ""))
    page = queries.pairs(session, host.value, direction, None, parameters.date(params.get("start"), "start"),
                         parameters.date(params.get("end"), "end"), _paging(params))
    return passivetotal.pairs_response(page)


def _tracker_search(session: Session, params: dict[str, str]) -> dict[str, Any]:
    value = parameters.tracker_value(params.get("query", ""))
    page = queries.tracker_hosts(session, value, parameters.tracker_type(params.get("type") or None), _paging(params))
    return passivetotal.tracker_search_response(page)


def _passive_dns(session: Session, params: dict[str, str]) -> dict[str, Any]:
    query = parameters.host(params.get("query", ""))
    page = queries.resolutions(session, query.value, query.is_ip, _paging(params))
    return passivetotal.passive_dns_response(query.value, query.is_ip, page)


def _unique_resolutions(session: Session, params: dict[str, str]) -> dict[str, Any]:
    query = parameters.host(params.get("query", ""))
    page = queries.unique_resolutions(session, query.value, query.is_ip, _paging(params))
    return passivetotal.unique_resolutions_response(query.value, query.is_ip, page)


def _host(params: dict[str, str]) -> str:
    return parameters.host(params.get("query", "")).value


ROUTES: dict[str, Callable[[Session, dict[str, str]], dict[str, Any]]] = {
    "/v2/host-attributes/pairs": _pairs,
    "/v2/host-attributes/trackers": lambda session, params: passivetotal.trackers_response(
        queries.host_trackers(session, _host(params), _paging(params))),
    "/v2/host-attributes/components": lambda session, params: passivetotal.components_response(
        queries.host_components(session, _host(params), _paging(params))),
    "/v2/host-attributes/cookies": lambda session, params: passivetotal.cookies_response(
        queries.cookies(session, _host(params), paging=_paging(params))),
    "/v2/trackers/search": _tracker_search,
    "/v2/dns/passive": _passive_dns,
    "/v2/dns/passive/unique": _unique_resolutions,
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
            except InvalidQuery as exc:
                self._json(HTTPStatus.BAD_REQUEST, {"message": str(exc)})
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

    class Server(ThreadingHTTPServer):
        request_queue_size = 128  # the listen backlog: concurrent clients wait in it instead of retrying a second later

    return Server((host, port), Handler)
