"""The HTTP API's users: keys made, shown once and stored as their SHA-256 (see ApiUser), checked in
constant time, revoked. Nothing here commits: the caller's unit of work does."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from hostpairs.storage.models import ApiUser
from hostpairs.storage.times import utcnow
from hostpairs.storage.upserts import dialect_insert

EMAIL_LENGTH = 254
UNKNOWN_USER_HASH = hashlib.sha256(b"").hexdigest()
"""Compared with when no active user has the e-mail: an unknown user costs what a wrong key does."""


def key_hash(key: str) -> str:
    """The stored form of a key: its hex SHA-256 (of any string: a malformed one only fails to match)."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def normalized_email(email: str) -> str:
    """The address as stored (trimmed, lower-cased); ValueError with a one-line reason if it is
    not one: one `@`, a local part, a domain with a dot, no spaces, control characters or `:` (the
    address is HTTP Basic's user name, which ends at the first `:`)."""
    address = email.strip().lower()
    local, at, domain = address.partition("@")
    if not at or "@" in domain:
        reason = "it needs exactly one @"
    elif not local:
        reason = "nothing before the @"
    elif "." not in domain or "" in domain.split("."):
        reason = "the domain after the @ needs a dot between two names (example.com)"
    elif any(c.isspace() or not c.isprintable() or c == ":" for c in address):
        reason = "no spaces, control characters or ':'"
    elif len(address) > EMAIL_LENGTH:
        reason = f"at most {EMAIL_LENGTH} characters"
    else:
        return address
    raise ValueError(f"invalid e-mail address {email!r}: {reason}")


def add_user(session: Session, email: str) -> str:
    """A new key for `email`, returned in plain (only its hash is stored): a new user, or a revoked
    one whose key is replaced. ValueError if the address is invalid or the user's key is active.
    Written with conditional statements, so two adds of one user at once give one key."""
    address = normalized_email(email)
    key = secrets.token_urlsafe(32)
    readded = session.execute(
        update(ApiUser).where(ApiUser.email == address, ApiUser.revoked_at.is_not(None))
        .values(key_hash=key_hash(key), revoked_at=None))
    if readded.rowcount:
        return key
    added = session.scalar(dialect_insert(session)(ApiUser).values(email=address, key_hash=key_hash(key), created_at=utcnow())
                           .on_conflict_do_nothing(index_elements=[ApiUser.email]).returning(ApiUser.id))
    if added is None:
        raise ValueError(f"{address} already has a key: revoke it first")
    return key


def revoke_user(session: Session, email: str) -> bool:
    """Revoke the key of `email`; False when no active user has that address."""
    revoked = session.execute(
        update(ApiUser).where(ApiUser.email == email.strip().lower(), ApiUser.revoked_at.is_(None))
        .values(revoked_at=utcnow()))
    return bool(revoked.rowcount)


def list_users(session: Session) -> list[ApiUser]:
    """Every user, revoked ones included, by e-mail address."""
    return list(session.scalars(select(ApiUser).order_by(ApiUser.email)))


def active_user_count(session: Session) -> int:
    """How many users have a key that works (none: the server may run without authentication)."""
    return session.scalar(select(func.count()).select_from(ApiUser).where(ApiUser.revoked_at.is_(None))) or 0


def authenticate(session: Session, email: str, key: str) -> str | None:
    """The user's stored e-mail address if `key` is the key of an active user with that address,
    compared in constant time; None otherwise."""
    address = email.strip().lower()
    stored = session.scalar(select(ApiUser.key_hash).where(ApiUser.email == address, ApiUser.revoked_at.is_(None)))
    matches = hmac.compare_digest(key_hash(key), stored or UNKNOWN_USER_HASH)
    return address if stored is not None and matches else None
