"""Seed groups read from a TOML file, validated with the line at fault reported.

A seed file has an optional ``[defaults]`` table and one ``[groups.NAME]`` table per group::

    [defaults]
    interval = "6h"          # or cron = "0 */6 * * *"
    jitter = "10m"

    [groups.bank]
    urls = ["https://www.demo-bank.com/"]
    tags = ["payment"]

A group inherits every key of ``[defaults]`` it does not set; setting ``interval`` or ``cron``
in a group replaces the default schedule entirely.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from croniter import CroniterBadDateError, croniter

from hostpairs.extractors.hosts import host_of, normalize_host
from hostpairs.seeds.groups import (
    DEFAULT_DEPTH,
    DEFAULT_JITTER_SECONDS,
    DEFAULT_MAX_PAGES,
    SeedFileError,
    SeedGroup,
    format_duration,
    parse_duration,
)

MIN_INTERVAL_SECONDS = 300
"""Floor on the interval: an interval, or a cron firing more often than this, is rejected."""

_SCHEDULE_KEYS = frozenset({"interval", "cron"})
_DEFAULT_KEYS = frozenset(
    {"interval", "cron", "jitter", "depth", "max_pages", "tags", "allow_hosts", "allow_patterns", "inventory"}
)
_GROUP_KEYS = _DEFAULT_KEYS | {"urls"}
_TOP_KEYS = frozenset({"defaults", "groups"})

_HOST = re.compile(r"[a-z0-9_-]+(?:\.[a-z0-9_-]+)*")
_CRON_SAMPLE = 1000
"""Firings of a cron expression examined for its shortest gap."""


def load_seed_groups(path: str | Path) -> list[SeedGroup]:
    """Read and validate a TOML seed file; raise SeedFileError naming the line at fault."""
    text = read_seed_text(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message, line = _toml_error_location(str(exc), text)
        raise SeedFileError(path, line, f"invalid TOML: {message}") from None
    return _Validator(path, text).groups(data)


def read_seed_text(path: str | Path) -> str:
    """The text of a seed file (UTF-8); SeedFileError if it cannot be read."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SeedFileError(path, None, f"cannot read: {exc}") from None


def _toml_error_location(message: str, text: str) -> tuple[str, int]:
    """Split tomllib's "... (at line L, column C)" into a message and a line number."""
    located = re.fullmatch(r"(.*) \(at line (\d+), column (\d+)\)", message)
    if located:
        return f"{located[1]} (column {located[3]})", int(located[2])
    return re.sub(r" \(at end of document\)$", " at end of file", message), max(len(text.splitlines()), 1)


def url_problem(url: str) -> str | None:
    """Why `url` is not a usable seed (http/https with a host), or None."""
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError on a malformed port
    except ValueError:
        return f"malformed URL {url!r}"
    if parts.scheme.lower() not in ("http", "https"):
        return f"URL {url!r} must start with http:// or https://"
    if not parts.hostname or host_of(url) is None or any(c.isspace() for c in url):
        return f"malformed URL {url!r}"
    return None


def _cron_min_gap(expression: str) -> int | None:
    """Shortest gap in seconds between successive firings (sampled), or None if it never fires."""
    firings = croniter(expression, datetime(2024, 1, 1, tzinfo=timezone.utc))
    try:
        previous = firings.get_next(datetime)
        shortest: int | None = None
        for _ in range(_CRON_SAMPLE):
            current = firings.get_next(datetime)
            gap = int((current - previous).total_seconds())
            shortest = gap if shortest is None else min(shortest, gap)
            previous = current
    except CroniterBadDateError:
        return None
    return shortest


class _Locator:
    """Maps dotted key paths of a TOML document to the lines that define them."""

    _HEADER = re.compile(r"\s*\[([^\[\]]+)\]\s*(?:#.*)?")
    _ASSIGNMENT = re.compile(r"\s*([A-Za-z0-9_\-.\"' ]+?)\s*=")

    def __init__(self, text: str) -> None:
        self._lines = text.splitlines()
        self._defined: list[tuple[int, tuple[str, ...]]] = list(self._definitions())

    def _definitions(self) -> Iterator[tuple[int, tuple[str, ...]]]:
        table: tuple[str, ...] = ()
        for number, line in enumerate(self._lines, start=1):
            header = self._HEADER.fullmatch(line)
            if header and (keys := _key_path(header[1])):
                table = keys
                yield number, table
            elif (assignment := self._ASSIGNMENT.match(line)) and (keys := _key_path(assignment[1])):
                yield number, table + keys

    def line_of(self, keys: tuple[str, ...], item: str | None = None, nth: int = 1) -> int | None:
        """First line defining `keys` or something inside it, else the same for the nearest
        enclosing table; with `item`, the line of the value of `keys` holding the `nth`
        occurrence of the quoted string `item`."""
        for length in range(len(keys), 0, -1):
            for index, (number, defined) in enumerate(self._defined):
                if defined[:length] == keys[:length]:
                    if item is not None and defined == keys:
                        return self._item_line(index, item, nth) or number
                    return number
        return None

    def _item_line(self, index: int, item: str, nth: int) -> int | None:
        start = self._defined[index][0]
        end = self._defined[index + 1][0] if index + 1 < len(self._defined) else len(self._lines) + 1
        quoted = (f'"{item}"', f"'{item}'")
        seen = 0
        for number in range(start, end):
            seen += sum(self._lines[number - 1].count(text) for text in quoted)
            if seen >= nth:
                return number
        return None


def _key_path(key: str) -> tuple[str, ...] | None:
    """The parts of a (possibly dotted or quoted) TOML key, or None if it is not one."""
    try:
        node: Any = tomllib.loads(f"{key} = 0")
    except tomllib.TOMLDecodeError:
        return None
    parts: list[str] = []
    while isinstance(node, dict):
        name, node = next(iter(node.items()))
        parts.append(name)
    return tuple(parts)


class _Validator:
    """Turns a parsed seed document into SeedGroups, locating every error in the text."""

    def __init__(self, path: str | Path, text: str) -> None:
        self._path = path
        self._locator = _Locator(text)

    def _error(self, keys: tuple[str, ...], message: str, item: str | None = None, nth: int = 1) -> SeedFileError:
        return SeedFileError(self._path, self._locator.line_of(keys, item, nth), message)

    def groups(self, data: dict[str, Any]) -> list[SeedGroup]:
        self._check_keys((), data, _TOP_KEYS)
        defaults = self._settings(("defaults",), data.get("defaults", {}), _DEFAULT_KEYS)
        groups = data.get("groups", {})
        if not isinstance(groups, dict):
            raise self._error(("groups",), "groups must be a table of [groups.NAME] tables")
        if not groups:
            raise self._error(("groups",), "no groups: add a [groups.NAME] table")
        return [self._group(name, table, defaults) for name, table in groups.items()]

    def _group(self, name: str, table: Any, defaults: dict[str, Any]) -> SeedGroup:
        keys = ("groups", name)
        settings = self._settings(keys, table, _GROUP_KEYS)
        if _SCHEDULE_KEYS & settings.keys():
            defaults = {k: v for k, v in defaults.items() if k not in _SCHEDULE_KEYS}
        merged = defaults | settings
        if "urls" not in merged:
            raise self._error(keys, f"group {name!r} has no urls")
        if not _SCHEDULE_KEYS & merged.keys():
            raise self._error(keys, f"group {name!r} has no schedule: set interval or cron (here or in [defaults])")
        return SeedGroup(
            name=name,
            urls=merged["urls"],
            interval_seconds=merged.get("interval"),
            cron=merged.get("cron"),
            jitter_seconds=merged.get("jitter", DEFAULT_JITTER_SECONDS),
            depth=merged.get("depth", DEFAULT_DEPTH),
            max_pages=merged.get("max_pages", DEFAULT_MAX_PAGES),
            tags=merged.get("tags", frozenset()),
            allow_hosts=merged.get("allow_hosts", ()),
            allow_patterns=merged.get("allow_patterns", ()),
            inventory=merged.get("inventory", False),
        )

    def _check_keys(self, keys: tuple[str, ...], table: dict[str, Any], allowed: frozenset[str]) -> None:
        for key in table:
            if key not in allowed:
                where = f"in [{'.'.join(keys)}]" if keys else "at the top level"
                close = difflib.get_close_matches(key, sorted(allowed), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise self._error(keys + (key,), f"unknown key {key!r} {where}{hint}")

    def _settings(self, keys: tuple[str, ...], table: Any, allowed: frozenset[str]) -> dict[str, Any]:
        """The validated, converted values a [defaults] or [groups.NAME] table sets itself."""
        if not isinstance(table, dict):
            raise self._error(keys, f"{'.'.join(keys)} must be a table")
        self._check_keys(keys, table, allowed)
        if _SCHEDULE_KEYS <= table.keys():
            raise self._error(keys + ("cron",), "both interval and cron are set: use one")
        converters = {
            "urls": self._urls,
            "interval": self._interval,
            "cron": self._cron,
            "jitter": self._duration,
            "depth": self._depth,
            "max_pages": self._max_pages,
            "tags": self._tags,
            "allow_hosts": self._allow_hosts,
            "allow_patterns": self._allow_patterns,
            "inventory": self._boolean,
        }
        return {key: converters[key](keys + (key,), value) for key, value in table.items()}

    def _interval(self, keys: tuple[str, ...], value: Any) -> int:
        seconds = self._duration(keys, value)
        if seconds < MIN_INTERVAL_SECONDS:
            floor = format_duration(MIN_INTERVAL_SECONDS)
            raise self._error(keys, f"interval {format_duration(seconds)} is below the {floor} floor")
        return seconds

    def _cron(self, keys: tuple[str, ...], value: Any) -> str:
        if not isinstance(value, str) or not croniter.is_valid(value):
            raise self._error(keys, f"bad cron expression {value!r}")
        gap = _cron_min_gap(value)
        if gap is None:
            raise self._error(keys, f"cron {value!r} never fires")
        if gap < MIN_INTERVAL_SECONDS:
            floor = format_duration(MIN_INTERVAL_SECONDS)
            raise self._error(keys, f"cron {value!r} fires every {format_duration(gap)}, below the {floor} floor")
        return value

    def _duration(self, keys: tuple[str, ...], value: Any) -> int:
        try:
            return parse_duration(value)
        except ValueError as exc:
            raise self._error(keys, f"{keys[-1]}: {exc}") from None

    def _boolean(self, keys: tuple[str, ...], value: Any) -> bool:
        if not isinstance(value, bool):
            raise self._error(keys, f"{keys[-1]} must be true or false, not {_toml_type(value)}")
        return value

    def _depth(self, keys: tuple[str, ...], value: Any) -> int:
        return self._integer(keys, value, minimum=0)

    def _max_pages(self, keys: tuple[str, ...], value: Any) -> int:
        return self._integer(keys, value, minimum=1)

    def _integer(self, keys: tuple[str, ...], value: Any, minimum: int) -> int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise self._error(keys, f"{keys[-1]} must be an integer, not {_toml_type(value)}")
        if value < minimum:
            raise self._error(keys, f"{keys[-1]} must be at least {minimum}, not {value}")
        return value

    def _strings(self, keys: tuple[str, ...], value: Any) -> list[str]:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self._error(keys, f"{keys[-1]} must be a list of strings")
        return value

    def _urls(self, keys: tuple[str, ...], value: Any) -> tuple[str, ...]:
        urls = self._strings(keys, value)
        if not urls:
            raise self._error(keys, "urls is empty")
        for index, url in enumerate(urls):
            if problem := url_problem(url):
                raise self._error(keys, problem, item=url)
            if url in urls[:index]:
                raise self._error(keys, f"duplicate URL {url!r}", item=url, nth=urls[:index].count(url) + 1)
        return tuple(urls)

    def _tags(self, keys: tuple[str, ...], value: Any) -> frozenset[str]:
        tags = self._strings(keys, value)
        if not all(tag.strip() for tag in tags):
            raise self._error(keys, "tags must not be empty strings")
        return frozenset(tags)

    def _allow_hosts(self, keys: tuple[str, ...], value: Any) -> tuple[str, ...]:
        hosts = []
        for raw in self._strings(keys, value):
            host = normalize_host(raw.strip().removeprefix("."))
            if host is None or not _HOST.fullmatch(host):
                raise self._error(keys, f"bad host {raw!r} in allow_hosts (a host name, no scheme or path)", item=raw)
            hosts.append(host)
        return tuple(hosts)

    def _allow_patterns(self, keys: tuple[str, ...], value: Any) -> tuple[re.Pattern[str], ...]:
        patterns = []
        for raw in self._strings(keys, value):
            try:
                patterns.append(re.compile(raw))
            except re.error as exc:
                raise self._error(keys, f"bad regex {raw!r} in allow_patterns: {exc}", item=raw) from None
        return tuple(patterns)


def _toml_type(value: Any) -> str:
    names = {bool: "a boolean", str: "a string", float: "a float", list: "an array", dict: "a table"}
    return names.get(type(value), type(value).__name__)
