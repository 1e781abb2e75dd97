"""Seed groups: named sets of seed URLs crawled on one schedule, and the durations that
schedules are written in. Seed files are read into groups by hostpairs.seeds.validation."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from hostpairs.extractors.hosts import host_matches, normalize_host

DEFAULT_DEPTH = 0
DEFAULT_MAX_PAGES = 100
DEFAULT_JITTER_SECONDS = 0

_UNITS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
_DURATION = re.compile(r"(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")


@dataclass(frozen=True)
class SeedGroup:
    """A named set of seed URLs crawled on one schedule (exactly one of interval or cron)."""

    name: str
    urls: tuple[str, ...]
    interval_seconds: int | None
    cron: str | None
    jitter_seconds: int
    depth: int
    max_pages: int
    tags: frozenset[str]
    allow_hosts: tuple[str, ...]
    """Normalised host suffixes without a leading dot; each matches the host and its subdomains."""
    allow_patterns: tuple[re.Pattern[str], ...]
    """Regexes searched in the normalised child host."""
    inventory: bool = False
    """`inventory = true`: its pages' scripts are inventoried (as on pages tagged payment)."""

    @property
    def inventoried(self) -> bool:
        """Whether its pages' scripts are inventoried and authorised (PCI DSS 6.4.3 / 11.6.1)."""
        return self.inventory or "payment" in self.tags

    def is_allowlisted(self, host: str) -> bool:
        """True when `host` is an expected third party of this group."""
        normalized = normalize_host(host)
        if normalized is None:
            return False
        return any(host_matches(normalized, suffix) for suffix in self.allow_hosts) or any(
            pattern.search(normalized) for pattern in self.allow_patterns
        )


class SeedFileError(ValueError):
    """A seed file that cannot be used; ``str()`` is ``FILE:LINE: what is wrong``."""

    def __init__(self, path: str | Path, line: int | None, message: str) -> None:
        self.path = str(path)
        self.line = line
        self.message = message
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {message}")


MAX_DURATION_SECONDS = 366 * 86400
"""The longest interval or jitter a schedule takes: a year (longer ones overflow the calendar)."""


def parse_duration(value: str | int) -> int:
    """Seconds in ``"30s"``, ``"15m"``, ``"6h"``, ``"1d"``, ``"1w"``, ``"1h30m"`` or an integer
    (at most MAX_DURATION_SECONDS)."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise ValueError(f"negative duration {value}")
        return _at_most_a_year(value, value)
    if not isinstance(value, str):
        raise ValueError(f"duration must be a string or integer seconds, not {type(value).__name__}")
    text = value.strip()
    match = _DURATION.fullmatch(text)
    if not text or match is None:
        raise ValueError(f"bad duration {value!r} (use e.g. 30s, 15m, 6h, 1d, 1w, 1h30m or integer seconds)")
    return _at_most_a_year(sum(int(n) * unit for n, unit in zip(match.groups(), _UNITS.values()) if n), value)


def _at_most_a_year(seconds: int, value: str | int) -> int:
    if seconds > MAX_DURATION_SECONDS:
        raise ValueError(f"duration {value!r} is longer than {format_duration(MAX_DURATION_SECONDS)}")
    return seconds


def format_duration(seconds: int) -> str:
    """The shortest duration string for `seconds`: 5400 -> ``"1h30m"``, 0 -> ``"0s"``."""
    parts = []
    for suffix, unit in _UNITS.items():
        count, seconds = divmod(seconds, unit)
        if count:
            parts.append(f"{count}{suffix}")
    return "".join(parts) or "0s"
