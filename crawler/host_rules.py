"""Chromium `--host-resolver-rules` syntax, parsed so that every part of the crawler agrees on it.

Supported rules (comma separated): `MAP <host-pattern> <replacement>[:<port>]`,
`MAP <host-pattern> ~NOTFOUND` and `EXCLUDE <host-pattern>`; patterns use `*` and `?`.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass

from hostpairs.extractors.hosts import is_ip_address


class HostRulesError(ValueError):
    """A host rules string that Chromium would not understand."""


@dataclass(frozen=True)
class HostRule:
    kind: str  # "MAP" or "EXCLUDE"
    pattern: str
    target: str | None = None  # host or host:port; "~NOTFOUND" for a forced failure

    def matches(self, host: str) -> bool:
        return fnmatch.fnmatchcase(host, self.pattern)


NOT_FOUND = "~NOTFOUND"
_HAS_PORT = re.compile(r"(^[^:]+|\])(:\d{1,5})$")
_TARGET = re.compile(r"^(~NOTFOUND|\[[0-9a-fA-F:.]+\](:\d{1,5})?|[A-Za-z0-9.\-_]+(:\d{1,5})?)$")


@dataclass(frozen=True)
class HostRules:
    """An ordered list of rules; the first rule matching a host decides."""

    text: str
    rules: tuple[HostRule, ...]

    @classmethod
    def parse(cls, text: str | None) -> HostRules:
        """Parse and validate; raises HostRulesError with a one-line message."""
        rules = []
        for part in (text or "").split(","):
            words = part.split()
            if not words:
                continue
            kind = words[0].upper()
            if kind == "MAP" and len(words) == 3 and _TARGET.match(words[2]):
                rules.append(HostRule("MAP", words[1].lower(), words[2]))
            elif kind == "EXCLUDE" and len(words) == 2:
                rules.append(HostRule("EXCLUDE", words[1].lower()))
            else:
                raise HostRulesError(f"invalid host rule {part.strip()!r} (expected 'MAP pattern host[:port]' or 'EXCLUDE pattern')")
        return cls(text or "", tuple(rules))

    def mapped(self, host: str) -> bool:
        """True when a MAP rule sends `host` somewhere chosen by the operator (never IP literals,
        which Chromium does not resolve)."""
        return self.target(host) is not None

    def target(self, host: str) -> tuple[str, int | None] | None:
        """Where a mapped host goes: (host, port or None), ("~NOTFOUND", None), or None if unmapped."""
        if is_ip_address(host.strip("[]")):
            return None
        for rule in self.rules:
            if rule.matches(host.lower()):
                if rule.kind == "EXCLUDE" or rule.target is None:
                    return None
                if rule.target == NOT_FOUND:
                    return NOT_FOUND, None
                target_host, _, port = rule.target.rpartition(":") if _HAS_PORT.search(rule.target) else (rule.target, "", "")
                return target_host.strip("[]"), int(port) if port else None
        return None

    def __bool__(self) -> bool:
        return bool(self.rules)


