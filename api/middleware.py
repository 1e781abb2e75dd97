"""The server's request plumbing, as plain ASGI middleware (no per-request task or copy): the
access log, the size limits, and GET parameters sent as a JSON body."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl, urlencode

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

access_logger = logging.getLogger("hostpairs.api.access")

MAX_URL_BYTES = 8 * 1024
MAX_HEADER_BYTES = 16 * 1024
MAX_BODY_BYTES = 64 * 1024
"""A request's limits: longer URLs are 414, larger header sections 431, larger bodies 413 (the
API takes no uploads; a body is at most a GET's parameters as JSON)."""


async def send_json(send: Send, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
    """Answer a request with a JSON body (for middleware that answers before the application)."""
    payload = json.dumps(body).encode()
    raw_headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode()),
                   *((name.lower().encode(), value.encode()) for name, value in (headers or {}).items())]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": payload})


class AccessLog:
    """One line per request: client, user, method, path, status, milliseconds; and one line when
    the client went away before its response was sent."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 0
        finished = False

        async def sending(message: Message) -> None:
            nonlocal status, finished
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                finished = True
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            client = (scope.get("client") or ("-",))[0]
            user = scope.get("state", {}).get("user") or "-"
            path = scope["path"] + ("?" + scope["query_string"].decode("latin-1") if scope.get("query_string") else "")
            elapsed = (time.perf_counter() - started) * 1000
            access_logger.info('%s %s "%s %s" %s %.1f ms%s', client, user, scope["method"], path[:2000],
                               status or 500, elapsed, "" if finished else " (client went away before the response was sent)")


class RequestLimits:
    """Refuse oversized requests with a JSON message before anything reads them: 414 for a long
    URL, 431 for large headers, 413 for a large body (by its Content-Length, or as it arrives)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if len(scope.get("raw_path") or scope["path"].encode()) + len(scope.get("query_string", b"")) > MAX_URL_BYTES:
            await send_json(send, 414, {"message": f"URL longer than {MAX_URL_BYTES} bytes"})
            return
        headers = scope["headers"]
        if sum(len(name) + len(value) + 4 for name, value in headers) > MAX_HEADER_BYTES:
            await send_json(send, 431, {"message": f"request headers larger than {MAX_HEADER_BYTES} bytes"})
            return
        length = next((value for name, value in headers if name == b"content-length"), None)
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
            await send_json(send, 413, {"message": f"request body larger than {MAX_BODY_BYTES} bytes"})
            return
        received = 0

        async def receiving() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > MAX_BODY_BYTES:
                raise BodyTooLarge
            return message

        try:
            await self.app(scope, receiving, send)
        except BodyTooLarge:
            await send_json(send, 413, {"message": f"request body larger than {MAX_BODY_BYTES} bytes"})


class BodyTooLarge(Exception):
    """A chunked body grew past MAX_BODY_BYTES."""


class JsonBodyParameters:
    """A GET whose parameters come as a JSON object in its body (as the `passivetotal2` client
    sends them) is answered as if they were in its query string; the query string wins where both
    name one."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or not _may_have_body(scope["headers"]):
            await self.app(scope, receive, send)
            return
        body = b""
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        if body.strip():
            try:
                parameters = json.loads(body)
                if not isinstance(parameters, dict):
                    raise ValueError("not an object")
            except ValueError:
                await send_json(send, 400, {"message": "a GET body must be a JSON object of parameters"})
                return
            given = dict(parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True))
            merged = {**{name: _text(value) for name, value in parameters.items() if value is not None}, **given}
            scope = {**scope, "query_string": urlencode(merged).encode()}

        async def drained() -> Message:
            return {"type": "http.request", "body": b"", "more_body": False}

        await self.app(scope, drained, send)


def _may_have_body(headers: list[tuple[bytes, bytes]]) -> bool:
    for name, value in headers:
        if (name == b"content-length" and value not in (b"0", b"")) or name == b"transfer-encoding":
            return True
    return False


def _text(value: Any) -> str:
    """A JSON parameter as a query string carries it (true/false as JSON spells them)."""
    return json.dumps(value) if isinstance(value, bool) else str(value)


class ResponseCache:
    """Answers of data look-ups kept for `seconds` (by path and parameters): an analyst's tools
    ask the same question many times over (the analyzer per property, a dashboard per refresh),
    and a repeated look-up then costs no database query. Paths in `uncached` (answers that change
    with every action, or differ by user) are never kept; only 200s are."""

    def __init__(self, app: ASGIApp, seconds: float, uncached: tuple[str, ...], entries: int = 1000):
        self.app = app
        self.seconds = seconds
        self.uncached = uncached
        self.entries = entries
        self._kept: dict[tuple[str, bytes], tuple[float, list[tuple[bytes, bytes]], bytes]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] != "http" or scope["method"] != "GET" or self.seconds <= 0
                or scope["path"].startswith(self.uncached)):
            await self.app(scope, receive, send)
            return
        key = (scope["path"], scope.get("query_string", b""))
        kept = self._kept.get(key)
        if kept is not None and kept[0] > time.monotonic():
            await send({"type": "http.response.start", "status": 200, "headers": kept[1]})
            await send({"type": "http.response.body", "body": kept[2]})
            return
        start: Message = {}
        body = bytearray()

        async def keeping(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body" and start.get("status") == 200:
                body.extend(message.get("body", b""))
                if not message.get("more_body"):
                    if len(self._kept) >= self.entries:
                        self._kept.pop(next(iter(self._kept)))  # the oldest
                    self._kept[key] = (time.monotonic() + self.seconds, list(start["headers"]), bytes(body))
            await send(message)

        await self.app(scope, receive, keeping)
