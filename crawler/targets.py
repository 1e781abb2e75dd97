"""Crawl targets as users give them: URLs and seed files mixed."""

from __future__ import annotations

import re
from pathlib import Path

from hostpairs.seeds.groups import read_seed_urls, url_problem

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")


class TargetError(ValueError):
    """A target that is neither a valid http(s) URL nor a readable seed file (one-line message)."""


def check_url(url: str) -> str:
    """Return `url` if it is an absolute http(s) URL with a host, else raise TargetError."""
    if problem := url_problem(url):
        raise TargetError(problem)
    return url


def expand_targets(targets: list[str]) -> list[str]:
    """URLs as given, seed files replaced by the URLs they list; order kept, duplicates dropped."""
    urls: list[str] = []
    for target in targets:
        if Path(target).is_file():
            try:
                urls.extend(read_seed_urls(target))
            except ValueError as exc:
                raise TargetError(str(exc)) from None
        elif _SCHEME.match(target):
            urls.append(check_url(target))
        else:
            raise TargetError(f"neither a URL nor a seed file: {target!r} (URLs start with https:// or http://)")
    return list(dict.fromkeys(urls))
