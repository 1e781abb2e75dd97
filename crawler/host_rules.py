"""Chromium's `--host-resolver-rules`, read as Chromium reads them, so that the crawler's own
decisions — the private-address guard, static mode's resolver, the certificate check — agree with
where the browser really connects (net/base/host_mapping_rules.cc, net/dns/mapped_host_resolver.cc;
each point is checked against Debian's Chromium by tests/test_host_rules.py):

- rules are comma separated: `MAP <pattern> <replacement>` or `EXCLUDE <pattern>`, keywords in any
  case, words separated by single spaces. Chromium skips a rule it cannot read (those hosts then
  resolve for real): hostpairs refuses it, and any replacement Chromium could not carry out;
- MAP rules are tried in order; the first whose pattern matches the host, or `host:port`
  (`[v6]:port`), decides — unless an EXCLUDE pattern, wherever it stands, matches the host (the
  host alone, never its port): then the host resolves normally;
- patterns know only `*` (any run of characters) and `?` (at most one), `\\` escapes; anything else,
  `[` and `]` included, is literal. Patterns are lower-cased; hosts are canonical: lower case,
  punycode, IP addresses in canonical form, a name's trailing dot kept (`x.example.` is not
  `x.example`);
- rules apply to IP literals too;
- the replacement is `host`, `host:port`, `[v6]` or `[v6]:port`, the URL's port kept when it gives
  none; `^NOTFOUND` fails the lookup (`~NOTFOUND`, the older spelling, fails too: Chromium 156 looks
  it up as a name).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit


class HostRulesError(ValueError):
    """A host rules string that Chromium would not carry out as written (one-line message)."""


NOT_FOUND = "^NOTFOUND"
_NOT_FOUND_SPELLINGS = frozenset({"^notfound", "~notfound"})
_WHITESPACE = " \t\n\v\f\r"  # what Chromium trims (ASCII whitespace)
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_NAME_TARGET = re.compile(r"([A-Za-z0-9_\-.]+)(?::(\d{1,5}))?")
_IPV6_TARGET = re.compile(r"\[([0-9A-Fa-f:.]+)\](?::(\d{1,5}))?")
DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def _ascii_lower(text: str) -> str:
    return text.translate(_ASCII_LOWER)


def match_pattern(text: str, pattern: str) -> bool:
    """Chromium's base::MatchPattern: `*` matches any run of characters, `?` at most one, `\\`
    escapes the next character. Like Chromium it does not backtrack: each literal run after a
    wildcard is matched at its first fit (`*a?b` does not match `aaxb`)."""
    p = s = 0
    while True:
        question_marks, star = 0, False
        while p < len(pattern) and pattern[p] in "*?":
            star = star or pattern[p] == "*"
            question_marks += pattern[p] == "?"
            p += 1
        found, p, s = _search(text, s, pattern, p, -1 if star else question_marks)
        if not found:
            return False
        if p == len(pattern):
            return True


def _search(text: str, s: int, pattern: str, p: int, distance: int) -> tuple[bool, int, int]:
    """The literal run of `pattern` from `p` (up to the next wildcard, or the end, which must meet
    the end of `text`) found in `text` at most `distance` characters after `s` (-1: anywhere)."""
    pattern_start, text_start, escape = p, s, False
    while True:
        if p == len(pattern):
            if s == len(text):
                return True, p, s
        else:
            char = pattern[p]
            if not escape and char in "*?":
                return True, p, s
            if not escape and char == "\\":
                escape = True
                p += 1
                continue
            escape = False
            if s == len(text):
                return False, p, s
            if char == text[s]:
                p, s = p + 1, s + 1
                continue
        if distance == 0:
            return False, p, s
        distance -= 1
        text_start += 1
        p, s = pattern_start, text_start


def _ipv4_number(part: str) -> int | None:
    if part[:2] in ("0x", "0X"):
        digits, alphabet, base = part[2:], "0123456789abcdefABCDEF", 16
    elif len(part) > 1 and part[0] == "0":
        digits, alphabet, base = part[1:], "01234567", 8
    else:
        digits, alphabet, base = part, "0123456789", 10
    if not part or any(c not in alphabet for c in digits):
        return None
    return int(digits, base) if digits else 0


def _canonical_ipv4(host: str) -> str | None:
    """The dotted-quad form of an IPv4 address written any way a URL may (`2130706433`, `0x7f.1`,
    `0177.0.0.1`, `127.0.0.1.`), or None if `host` is not one."""
    parts = host.split(".")
    if len(parts) > 1 and parts[-1] == "":
        parts.pop()
    if not 1 <= len(parts) <= 4:
        return None
    numbers = [_ipv4_number(part) for part in parts]
    if any(n is None for n in numbers):
        return None
    *leading, last = numbers
    if any(n > 255 for n in leading) or last >= 256 ** (5 - len(numbers)):
        return None
    value = last + sum(n << (8 * (3 - i)) for i, n in enumerate(leading))
    return str(ipaddress.IPv4Address(value))


def canonical_host(host: str) -> str:
    """A URL's host as Chromium matches it against rules: no brackets, lower case, punycode,
    IPv4 and IPv6 addresses in canonical form; a name keeps its trailing dot."""
    if host[:1] == "[" and host[-1:] == "]":
        host = host[1:-1]
    if ":" in host:
        try:
            return ipaddress.IPv6Address(host).compressed
        except ValueError:
            return _ascii_lower(host)
    if "%" in host:
        host = unquote(host)
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            pass
    host = _ascii_lower(host)
    return _canonical_ipv4(host) or host


def url_host_and_port(url: str) -> tuple[str, int] | None:
    """The (canonical host, port) Chromium matches host rules against for an http(s)/ws(s) URL —
    the scheme's default port when the URL gives none; None for other URLs and bad ports."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    default = DEFAULT_PORTS.get(parts.scheme)
    if default is None or not parts.hostname:
        return None
    return canonical_host(parts.hostname), default if port is None else port


def _parse_target(text: str) -> tuple[str, int | None] | None:
    """A MAP rule's replacement as (host, port or None), or None when Chromium would not use it."""
    if _ascii_lower(text) in _NOT_FOUND_SPELLINGS:
        return NOT_FOUND, None
    if match := _IPV6_TARGET.fullmatch(text):
        try:
            host = ipaddress.IPv6Address(match[1]).compressed
        except ValueError:
            return None
    elif match := _NAME_TARGET.fullmatch(text):
        host = _ascii_lower(match[1])
    else:
        return None
    if match[2] is None:
        return host, None
    port = int(match[2])
    return (host, port) if port <= 65535 else None


@dataclass(frozen=True)
class HostRule:
    kind: str  # "MAP" or "EXCLUDE"
    pattern: str  # lower case, as Chromium keeps it
    target_host: str | None = None  # MAP: a host name, an IP address (IPv6 without brackets) or NOT_FOUND
    target_port: int | None = None  # MAP: None keeps the URL's port

    def matches(self, host: str, port: int) -> bool:
        """Does this MAP pattern match the canonical `host` or `host:port`? (EXCLUDE: see
        HostRules.target, which tries the host alone.)"""
        if match_pattern(host, self.pattern):
            return True
        return match_pattern(f"[{host}]:{port}" if ":" in host else f"{host}:{port}", self.pattern)


@dataclass(frozen=True)
class HostRules:
    """The rules of one `--host-resolver-rules` string, in order."""

    text: str
    rules: tuple[HostRule, ...]

    @classmethod
    def parse(cls, text: str | None) -> HostRules:
        """Parse and validate; raises HostRulesError with a one-line message."""
        rules = []
        for part in (text or "").split(","):
            rule_text = part.strip(_WHITESPACE)
            if not rule_text:
                continue
            rules.append(_parse_rule(rule_text))
        return cls(text or "", tuple(rules))

    def target(self, host: str, port: int) -> tuple[str, int] | None:
        """Where Chromium sends `host` (a URL's host, any spelling) at `port`: (host, port) —
        the port the rule gives, else `port` —, (NOT_FOUND, port) when the lookup is made to
        fail, or None when the host resolves normally."""
        host = canonical_host(host)
        for rule in self.rules:
            if rule.kind != "MAP" or not rule.matches(host, port):
                continue
            if any(match_pattern(host, r.pattern) for r in self.rules if r.kind == "EXCLUDE"):
                return None
            assert rule.target_host is not None
            return rule.target_host, port if rule.target_port is None else rule.target_port
        return None

    def mapped(self, host: str, port: int) -> bool:
        """True when a MAP rule sends `host` at `port` somewhere the operator chose (IP literals
        included: Chromium maps them too)."""
        return self.target(host, port) is not None

    def url_target(self, url: str) -> tuple[str, int] | None:
        """`target` for the host and port of an http(s)/ws(s) URL; None for other URLs."""
        host_port = url_host_and_port(url)
        return self.target(*host_port) if host_port else None

    def __bool__(self) -> bool:
        return bool(self.rules)


def _parse_rule(text: str) -> HostRule:
    words = [word.strip(_WHITESPACE) for word in text.split(" ")]
    keyword = _ascii_lower(words[0]) if words[0].isascii() else ""
    readable = all(words) and not any(c in word for word in words for c in _WHITESPACE)
    if readable and keyword == "exclude" and len(words) == 2:
        return HostRule("EXCLUDE", _ascii_lower(words[1]))
    if readable and keyword == "map" and len(words) == 3 and (target := _parse_target(words[2])):
        return HostRule("MAP", _ascii_lower(words[1]), *target)
    raise HostRulesError(f"invalid host rule {text!r} (expected 'MAP pattern host[:port]', 'MAP pattern [v6][:port]', "
                         "'MAP pattern ^NOTFOUND' or 'EXCLUDE pattern', words separated by single spaces)")
