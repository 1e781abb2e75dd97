"""URLs of static markup and CSS resolved as a browser does, the WHATWG way for http(s).

ASCII tab/newline are removed, C0/space trimmed, backslashes read as slashes and extra slashes
before the host ignored. Output URLs have a lower-case punycode host without trailing dot or
user info, no default port, no fragment, and non-ASCII/space path and query characters
percent-encoded (UTF-8).
"""

from __future__ import annotations

import re
from functools import lru_cache
from ipaddress import ip_address
from urllib.parse import quote, unquote

from hostpairs.extractors.hosts import normalize_host

C0_CONTROL_OR_SPACE = "".join(map(chr, range(0x21)))
"""What browsers trim from both ends of a URL before parsing it."""

_TAB_NEWLINE = str.maketrans("", "", "\t\n\r")
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
_AUTHORITY_END = re.compile(r"[/?#]")
_DEFAULT_PORTS = {"http": 80, "https": 443}
# Anything but printable ASCII, and the WHATWG forbidden host code points.
_BAD_HOST = re.compile(r"[^\x21-\x7e]|[#%/:<>?@\[\\\]^|]")
_PATH_ESCAPE = re.compile(r"[^\x21-\x7e]|[\"<>`{}]")
_QUERY_ESCAPE = re.compile(r"[^\x21-\x7e]|[\"<>']")


def _percent_encode(match: re.Match[str]) -> str:
    return quote(match.group(), safe="", errors="replace")


def _slashes(url: str) -> str:
    """Read backslashes before the query as slashes, as browsers do for http(s)."""
    if "\\" not in url:
        return url
    end = len(url)
    for delimiter in "?#":
        index = url.find(delimiter, 0, end)
        if index >= 0:
            end = index
    return url[:end].replace("\\", "/") + url[end:]


_IPV4_DIGITS = {8: frozenset("01234567"), 10: frozenset("0123456789"), 16: frozenset("0123456789abcdefABCDEF")}


def _ipv4_number(part: str) -> int | None:
    """One part of an IPv4 host, as the URL standard reads it: 0x hex, leading-zero octal, decimal."""
    if part[:2] in ("0x", "0X"):
        digits, base = part[2:], 16
    elif len(part) > 1 and part[0] == "0":
        digits, base = part[1:], 8
    else:
        digits, base = part, 10
    if not digits:
        return 0
    return int(digits, base) if set(digits) <= _IPV4_DIGITS[base] else None


def _ends_in_a_number(host: str) -> bool:
    """The URL standard's test for a host to be read as IPv4 (its last label a number)."""
    last = host.rpartition(".")[2]
    return bool(last) and (last.isascii() and last.isdigit() or _ipv4_number(last) is not None)


def _ipv4(host: str) -> str | None:
    """The dotted form of a host that ends in a number, in any notation browsers accept (0x7f.1,
    2130706433, 1.2.3.010); None if it is no valid address. (Trailing dots are already gone.)"""
    numbers = [_ipv4_number(part) if part else None for part in host.split(".")]
    if len(numbers) > 4 or None in numbers:
        return None
    *leading, final = numbers
    if any(n > 255 for n in leading) or final >= 256 ** (5 - len(numbers)):
        return None
    address = final + sum(n << (8 * (3 - i)) for i, n in enumerate(leading))
    return ".".join(str(address >> shift & 255) for shift in (24, 16, 8, 0))


@lru_cache(maxsize=16384)
def _host(raw: str) -> str | None:
    """The normalised host of a URL's host part ([...] for IPv6), or None if invalid."""
    if raw[:1] == "[":
        try:
            return f"[{ip_address(raw[1:-1]).compressed}]" if raw[-1:] == "]" and ":" in raw else None
        except ValueError:
            return None
    if "%" in raw:
        raw = unquote(raw)
    host = normalize_host(raw)
    if host is None or _BAD_HOST.search(host):
        return None
    return _ipv4(host) if _ends_in_a_number(host) else host


_SINGLE_DOT = {".", "%2e"}
_DOUBLE_DOT = {"..", ".%2e", "%2e.", "%2e%2e"}


def _remove_dot_segments(path: str) -> str:
    """The path without its dot segments ('%2e' is a dot in them, as the URL standard reads it)."""
    segments = path.split("/")[1:]
    output: list[str] = []
    for segment in segments:
        lowered = segment.lower()
        if lowered in _DOUBLE_DOT:
            if output:
                output.pop()
        elif lowered not in _SINGLE_DOT:
            output.append(segment)
    if segments[-1].lower() in _SINGLE_DOT | _DOUBLE_DOT:
        output.append("")
    return "/" + "/".join(output)


def _normalise(scheme: str, rest: str) -> str | None:
    """Canonical ``scheme://rest``, or None if its host or port is invalid."""
    match = _AUTHORITY_END.search(rest)
    authority, tail = (rest[: match.start()], rest[match.start() :]) if match else (rest, "")
    hostport = authority[authority.rfind("@") + 1 :]
    port = None
    colon = hostport.rfind(":")
    if colon > hostport.rfind("]"):
        digits, hostport = hostport[colon + 1 :], hostport[:colon]
        if digits:
            if not (digits.isascii() and digits.isdigit()) or int(digits) > 65535:
                return None
            port = int(digits)
    host = _host(hostport) if hostport else None
    if host is None:
        return None
    netloc = host if port is None or port == _DEFAULT_PORTS[scheme] else f"{host}:{port}"
    path, _, query = tail.partition("#")[0].partition("?")
    if not path:
        path = "/"
    elif "/." in path or "%2" in path and "/%2e" in path.lower():
        path = _remove_dot_segments(path)
    if _PATH_ESCAPE.search(path):
        path = _PATH_ESCAPE.sub(_percent_encode, path)
    if not query:
        return f"{scheme}://{netloc}{path}"
    if _QUERY_ESCAPE.search(query):
        query = _QUERY_ESCAPE.sub(_percent_encode, query)
    return f"{scheme}://{netloc}{path}?{query}"


@lru_cache(maxsize=1024)
def _split_base(base: str) -> tuple[str, str, str, str] | None:
    """(scheme, authority, path, query) of an http(s) base URL, else None."""
    match = _SCHEME.match(base)
    if match is None or match.group(1).lower() not in _DEFAULT_PORTS or base[match.end() : match.end() + 2] != "//":
        return None
    rest = base[match.end() + 2 :]
    end = _AUTHORITY_END.search(rest)
    authority, tail = (rest[: end.start()], rest[end.start() :]) if end else (rest, "")
    path, _, query = tail.partition("#")[0].partition("?")
    return match.group(1).lower(), authority, path or "/", query


def resolve_url(raw: str, base: str) -> str | None:
    """Resolve an attribute or CSS URL against ``base`` like a browser; None unless http(s).

    Empty values and fragment-only references (``#top``) give None, like every other scheme
    (javascript:, data:, mailto:, about:, blob:, tel:, ...) and malformed hosts or ports.
    """
    url = raw.strip(C0_CONTROL_OR_SPACE)
    if "\t" in url or "\n" in url or "\r" in url:
        url = url.translate(_TAB_NEWLINE)
    if not url or url[0] == "#":
        return None
    match = _SCHEME.match(url)
    if match:
        scheme = match.group(1).lower()
        if scheme not in _DEFAULT_PORTS:
            return None
        url = _slashes(url[match.end() :])
        if url[:2] == "//" or base[: len(scheme) + 1].lower() != scheme + ":":
            return _normalise(scheme, url.lstrip("/"))
    else:
        url = _slashes(url)
    parts = _split_base(base)
    if parts is None:
        return None
    scheme, authority, path, query = parts
    if url[:2] == "//":
        return _normalise(scheme, url.lstrip("/"))
    if not url or url[0] == "#":  # "http:" or "http:#x" relative to an http base
        return _normalise(scheme, f"{authority}{path}?{query}" if query else authority + path)
    if url[0] == "/":
        return _normalise(scheme, authority + url)
    if url[0] == "?":
        return _normalise(scheme, authority + path + url)
    return _normalise(scheme, authority + path[: path.rfind("/") + 1] + url)


def path_extension(url: str) -> str:
    """Lower-case file extension of a URL's path ('' if none)."""
    path = url.split("#", 1)[0].split("?", 1)[0]
    name = path[path.rfind("/") + 1 :]
    return name[name.rfind(".") + 1 :].lower() if "." in name else ""
