"""Time conventions: the database stores naive UTC datetimes."""

from __future__ import annotations

from datetime import datetime, timezone


def utcnow() -> datetime:
    """Now, in the storage convention."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def from_timestamp(timestamp: float) -> datetime:
    """A POSIX timestamp in the storage convention."""
    return datetime.fromtimestamp(timestamp, timezone.utc).replace(tzinfo=None)


def aware(value: datetime) -> datetime:
    """A stored time as an aware UTC datetime."""
    return value.replace(tzinfo=timezone.utc)


def naive(value: datetime) -> datetime:
    """An aware time in the storage convention."""
    return value.astimezone(timezone.utc).replace(tzinfo=None)
