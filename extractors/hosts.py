"""Host name normalisation and registrable-domain logic (offline public suffix list)."""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from urllib.parse import urlsplit


@lru_cache(maxsize=1)
def _public_suffixes():  # noqa: ANN202 (a tldextract.TLDExtract, imported on first use: look-ups never need it)
    """The public suffix list bundled with tldextract: suffix_list_urls=() means never the network."""
    import tldextract

    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


def is_ip_address(value: str) -> bool:
    """True for an IPv4 or IPv6 address literal (without brackets)."""
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


_TRAILING_DOTS = re.compile(r"[\s.]+\Z")
"""Trailing dots with the whitespace around them (`a.example . ` is `a.example`)."""


def normalize_host(host: str) -> str | None:
    """Lower-case, strip the trailing dot and encode IDN labels as punycode; None if empty."""
    host = _TRAILING_DOTS.sub("", host.translate({0x3002: ".", 0xFF0E: ".", 0xFF61: "."}).strip()).lower()  # IDN full stops
    if host.startswith("[") and host.endswith("]") and is_ip_address(host[1:-1]):
        host = host[1:-1]
    if not host:
        return None
    if is_ip_address(host):
        return ipaddress.ip_address(host).compressed
    try:
        return host if (ascii_host := host.encode("idna").decode("ascii")) == host else normalize_host(ascii_host)
    except UnicodeError:
        return host


def host_of(url: str) -> str | None:
    """The normalised host of an http(s)/ws(s)/ftp URL, or None (about:, data:, javascript:, ...)."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https", "ws", "wss", "ftp"):
        return None
    try:
        hostname = parts.hostname
    except ValueError:
        return None
    return normalize_host(hostname) if hostname else None


@lru_cache(maxsize=65536)
def registrable_domain(host: str) -> str:
    """eTLD+1 of a host (the host itself for IP addresses and bare suffixes)."""
    if is_ip_address(host):
        return host
    result = _public_suffixes()(host)
    return result.top_domain_under_public_suffix or host


def has_public_suffix(host: str) -> bool:
    """True when a host name ends in a known public suffix and names a domain under it."""
    return not is_ip_address(host) and bool(_public_suffixes()(host).top_domain_under_public_suffix)


def same_site(host_a: str, host_b: str) -> bool:
    """True when both hosts share a registrable domain."""
    return registrable_domain(host_a) == registrable_domain(host_b)


def query_host(value: str) -> str | None:
    """A host as a user types it in a query (any case, trailing dot, IDN, even a URL) in stored
    form; None when it is not a dotted host name or an IP address."""
    host = normalize_host(value.strip().split("://")[-1].split("/")[0])
    if host is None or any(c.isspace() for c in host):
        return None
    return host if is_ip_address(host) or ("." in host.strip(".") and not any(c in ":@?#[]\\%<>^|" for c in host)) else None


def host_matches(host: str, query: str) -> bool:
    """PassiveTotal-style match: the host itself or one of its subdomains."""
    return host == query or host.endswith("." + query)
