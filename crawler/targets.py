"""Crawl targets as users give them: URLs and seed files mixed."""

from __future__ import annotations

import re
from pathlib import Path

from hostpairs.seeds.groups import SeedFileError
from hostpairs.seeds.validation import read_seed_text, url_problem

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")


class TargetError(ValueError):
    """A target that is neither a valid http(s) URL nor a readable seed file (one-line message)."""


def check_url(url: str) -> str:
    """Return `url` if it is an absolute http(s) URL with a host, else raise TargetError."""
    if problem := url_problem(url):
        raise TargetError(problem)
    return url


def read_seed_urls(path: str | Path) -> list[str]:
    """URLs of a plain seed list: one a line; blank lines and ``#`` comments are ignored."""
    urls: list[str] = []
    first_line: dict[str, int] = {}
    for number, raw in enumerate(read_seed_text(path).splitlines(), start=1):
        url = re.sub(r"(?:^|\s+)#.*$", "", raw).strip()
        if not url:
            continue
        problem = url_problem(url)
        if problem:
            raise SeedFileError(path, number, problem)
        if url in first_line:
            raise SeedFileError(path, number, f"duplicate URL {url!r} (first on line {first_line[url]})")
        first_line[url] = number
        urls.append(url)
    return urls


def _is_file(target: str) -> bool:
    try:
        return Path(target).is_file()
    except OSError:  # a name too long for a file name, say: not a seed file
        return False


def expand_targets(targets: list[str]) -> list[str]:
    """URLs as given, seed files replaced by the URLs they list; order kept, duplicates dropped."""
    urls: list[str] = []
    for target in targets:
        if _is_file(target):
            try:
                urls.extend(read_seed_urls(target))
            except ValueError as exc:
                raise TargetError(str(exc)) from None
        elif _SCHEME.match(target):
            urls.append(check_url(target))
        else:
            raise TargetError(f"neither a URL nor a seed file: {target!r} (URLs start with https:// or http://)")
    return list(dict.fromkeys(urls))
