"""Query parameters as analysts type them, checked once for the CLI and the API alike.

Each parser returns the value in the form the queries take, or raises InvalidQuery with a
one-line message (printed by the CLI, returned as `{"message"}` by the API)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from hostpairs.extractors.host_pairs import CAUSES
from hostpairs.extractors.hosts import is_ip_address, query_host
from hostpairs.extractors.trackers import TRACKER_TYPES
from hostpairs.storage.queries import PAGE_SIZE, Paging

DIRECTIONS = ("children", "parents")


class InvalidQuery(ValueError):
    """A parameter that cannot be used, with a one-line message."""


@dataclass(frozen=True)
class HostQuery:
    """A host name (matching its subdomains too) or an IP address, in stored form."""

    value: str
    is_ip: bool


_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")
"""A DNS label in stored form (underscores allowed: real hosts have them)."""


def host(value: str) -> HostQuery:
    """A host as typed (any case, trailing dot, IDN, even a URL) or an IP address (IPv6 in its
    compressed form); a name longer than 253 characters or with an invalid label is refused."""
    normalized = query_host(value) if len(value) <= 2048 else None
    if normalized is None:
        raise InvalidQuery(f"not a host name or IP address: {value[:100]!r}")
    if is_ip_address(normalized):
        return HostQuery(normalized, True)
    if len(normalized) > 253:
        raise InvalidQuery(f"not a host name: longer than 253 characters ({len(normalized)})")
    if (bad := next((label for label in normalized.split(".") if not _LABEL.fullmatch(label)), None)) is not None:
        raise InvalidQuery(f"not a host name: invalid label {bad[:70]!r} in {value[:100]!r}")
    return HostQuery(normalized, False)


def date(value: str | None, name: str) -> datetime | None:
    """A date or date-time bounding a query, as naive UTC (one with an offset is converted), or
    None when not given."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
        return parsed.astimezone(timezone.utc).replace(tzinfo=None) if parsed.tzinfo else parsed
    except (ValueError, OverflowError):
        raise InvalidQuery(f"{name}: not a date: {value!r} (use YYYY-MM-DD or 'YYYY-MM-DD HH:MM:SS')") from None


def end_date(value: str | None, name: str = "end") -> datetime | None:
    """The end of a query's window: a date-only end includes that whole day."""
    end = date(value, name)
    if end is not None and value is not None and len(value.strip()) == 10:
        end += timedelta(days=1, microseconds=-1)
    return end


SORTS = ("lastSeen", "firstSeen")
ORDERS = ("desc", "asc")


def _one_of(value: str | None, name: str, choices: tuple[str, ...]) -> str:
    """`value` if it is one of `choices`; the first of them when not given."""
    if value in (None, ""):
        return choices[0]
    if value not in choices:
        raise InvalidQuery(f"{name}: not one of {', '.join(choices)}: {value!r}")
    return value


def sort(value: str | None) -> str:
    """PassiveTotal's `sort`: lastSeen (the default) or firstSeen."""
    return _one_of(value, "sort", SORTS)


def order(value: str | None) -> str:
    """PassiveTotal's `order`: desc (the default) or asc."""
    return _one_of(value, "order", ORDERS)


def direction(value: str) -> str:
    """children (what a host references) or parents (who references it)."""
    if value not in DIRECTIONS:
        raise InvalidQuery(f"not a direction: {value!r} (children or parents)")
    return value


def cause(value: str | None) -> str | None:
    """One of PassiveTotal's host-pair causes, or None for all."""
    if value is not None and value not in CAUSES:
        raise InvalidQuery(f"unknown cause {value!r} (one of: {', '.join(CAUSES)})")
    return value


def tracker_type(value: str | None) -> str | None:
    """One of the tracker types, or None for all."""
    if value is not None and value not in TRACKER_TYPES:
        raise InvalidQuery(f"unknown tracker type {value!r} (one of: {', '.join(TRACKER_TYPES)})")
    return value


def tracker_value(value: str) -> str:
    """A tracker ID to search for."""
    if not value.strip():
        raise InvalidQuery("not a tracker value: give an ID such as UA-12345-1")
    return value.strip()


MAX_LIMIT = 10_000


def paging(page: str | int | None, limit: str | int | None) -> Paging:
    """A page number (from 0, as PassiveTotal counts) and a page size (default 2,000, at most
    10,000), as typed or as integers."""
    def number(value: str | int, name: str, smallest: int, largest: int) -> int:
        try:
            parsed = int(value)
        except (TypeError, ValueError):
            raise InvalidQuery(f"{name}: not a whole number: {value!r}") from None
        if not smallest <= parsed <= largest:
            raise InvalidQuery(f"{name}: {parsed} is out of range ({smallest} to {largest:,})")
        return parsed

    return Paging(page=0 if page in (None, "") else number(page, "page", 0, 10_000_000),
                  limit=PAGE_SIZE if limit in (None, "") else number(limit, "limit", 1, MAX_LIMIT))
