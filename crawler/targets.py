"""Crawl targets as users give them: URLs and seed files mixed."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from seeds.groups import read_seed_urls


class TargetError(ValueError):
    """A target that is neither a valid http(s) URL nor a readable seed file (one-line message)."""


def check_url(url: str) -> str:
    """Return `url` if it is an absolute http(s) URL with a host, else raise TargetError."""
    try:
        parts = urlsplit(url)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname) and " " not in url
        parts.port  # noqa: B018 (raises ValueError on a bad port)
    except ValueError:
        valid = False
    if not valid:
        raise TargetError(f"not a valid http(s) URL: {url!r}")
    return url


def expand_targets(targets: list[str]) -> list[str]:
    """URLs as given, seed files replaced by the URLs they list; order kept, duplicates dropped."""
    urls: list[str] = []
    for target in targets:
        if "://" not in target and Path(target).is_file():
            try:
                urls.extend(read_seed_urls(target))
            except ValueError as exc:
                raise TargetError(str(exc)) from None
        elif "://" not in target and not target.startswith(("http:", "https:")) and "/" in target:
            raise TargetError(f"no such seed file: {target}")
        else:
            urls.append(check_url(target))
    return list(dict.fromkeys(urls))
