"""Who may ask, and how often: HTTP Basic against the API users (`hostpairs users`), and a
per-user rate limit. Both are ASGI middleware in front of every data endpoint."""

from __future__ import annotations

import hashlib
import math
import time
from base64 import b64decode
from dataclasses import dataclass, field

import anyio
from sqlalchemy.orm import Session, sessionmaker

from hostpairs.api.middleware import ASGIApp, Receive, Scope, Send, send_json
from hostpairs.storage import api_users

PUBLIC_PATHS = frozenset({"/openapi.json", "/docs", "/docs/oauth2-redirect"})
"""Paths that hold no data: the API's schema and its docs, the web app's code. The web app's
page itself asks for a key (the browser then sends it with the app's every request)."""
PUBLIC_PREFIXES = ("/docs/assets/", "/app/")


def _public(path: str) -> bool:
    """Whether `path` holds no data: neither a key nor the rate limit applies."""
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)

CREDENTIALS_TTL = 30.0
"""Seconds a checked user name and key are trusted without asking the database again (a revoked
key stops working within this time)."""
USERS_TTL = 10.0
"""Seconds the answer to "are there any API users?" is reused."""


class Authentication:
    """HTTP Basic (user name: the e-mail, password: the API key) on every path but the public
    ones, checked before routing: an unknown path asked without a key is a 401, not a 404.

    Keys are required when the server listens beyond loopback (`always`), or as soon as any API
    user exists; with neither, requests pass as an anonymous user. The user's e-mail is put in
    `scope["state"]["user"]` for the access log and the rate limit."""

    def __init__(self, app: ASGIApp, sessions: sessionmaker[Session], always: bool):
        self.app = app
        self.sessions = sessions
        self.always = always
        self._trusted: dict[tuple[str, str], float] = {}
        self._users: tuple[bool, float] = (False, -math.inf)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _public(scope["path"]):
            await self.app(scope, receive, send)
            return
        if self.always or await self._any_users():
            user = await self._user(scope["headers"])
            if user is None:
                await send_json(send, 401, {"message": "authentication required: HTTP Basic with your e-mail and API key"},
                                {"WWW-Authenticate": 'Basic realm="hostpairs"'})
                return
            scope.setdefault("state", {})["user"] = user
        await self.app(scope, receive, send)

    async def _any_users(self) -> bool:
        exist, checked_at = self._users
        if time.monotonic() - checked_at > USERS_TTL:
            exist = await anyio.to_thread.run_sync(self._count_users) > 0
            self._users = (exist, time.monotonic())
        return exist

    def _count_users(self) -> int:
        with self.sessions() as session:
            return api_users.active_user_count(session)

    async def _user(self, headers: list[tuple[bytes, bytes]]) -> str | None:
        email, key = _basic_credentials(headers)
        if not email or not key:
            return None
        cache_key = (email.lower(), hashlib.sha256(key.encode()).hexdigest())
        if self._trusted.get(cache_key, -math.inf) > time.monotonic():
            return cache_key[0]
        user = await anyio.to_thread.run_sync(self._authenticate, email, key)
        if user is not None:
            if len(self._trusted) > 10_000:
                self._trusted.clear()
            self._trusted[cache_key] = time.monotonic() + CREDENTIALS_TTL
        return user

    def _authenticate(self, email: str, key: str) -> str | None:
        with self.sessions() as session:
            return api_users.authenticate(session, email, key)


def _basic_credentials(headers: list[tuple[bytes, bytes]]) -> tuple[str, str]:
    for name, value in headers:
        if name == b"authorization" and value[:6].lower() == b"basic ":
            try:
                email, _, key = b64decode(value[6:].strip(), validate=True).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return "", ""
            return email, key
    return "", ""


@dataclass
class _Bucket:
    tokens: float
    updated: float = field(default_factory=time.monotonic)


class RateLimit:
    """At most `per_minute` requests a minute for each user (or, without keys, each client
    address), in bursts of up to that many: past it, 429 with Retry-After. Each server process
    (`--workers`) counts on its own."""

    def __init__(self, app: ASGIApp, per_minute: int):
        self.app = app
        self.per_minute = per_minute
        self._buckets: dict[str, _Bucket] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.per_minute <= 0 or _public(scope["path"]):
            await self.app(scope, receive, send)
            return
        who = scope.get("state", {}).get("user") or (scope.get("client") or ("-",))[0]
        wait = self._take(who)
        if wait > 0:
            await send_json(send, 429, {"message": f"rate limit of {self.per_minute} requests a minute reached: "
                                                   f"retry in {math.ceil(wait)} s"},
                            {"Retry-After": str(math.ceil(wait))})
            return
        await self.app(scope, receive, send)

    def _take(self, who: str) -> float:
        """Take a token from `who`'s bucket; 0, or the seconds until one is there."""
        now = time.monotonic()
        rate = self.per_minute / 60.0
        bucket = self._buckets.get(who)
        if bucket is None:
            if len(self._buckets) > 100_000:
                self._buckets.clear()
            bucket = self._buckets[who] = _Bucket(float(self.per_minute), now)
        bucket.tokens = min(float(self.per_minute), bucket.tokens + (now - bucket.updated) * rate)
        bucket.updated = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0
        return (1 - bucket.tokens) / rate
