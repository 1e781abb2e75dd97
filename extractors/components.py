"""Web technologies (PassiveTotal "components") of a page, fingerprinted the Wappalyzer way.

Fingerprints use the Wappalyzer ``technologies`` JSON schema. The bundled set,
``extractors/fingerprints.json``, was written for hostpairs and is MIT licensed like the rest of
it; it covers common libraries, CMSs, servers, CDNs and trackers. The maintained community set,
enthec/webappanalyzer (the continuation of Wappalyzer's), is GPL-3.0, so hostpairs neither ships
nor requires it: set ``HOSTPAIRS_FINGERPRINTS`` to a checkout of it (its root, ``src/`` or
``src/technologies/``), or to one JSON file shaped like the bundled one (``{"categories": …,
"technologies": …}``), and that data set is used *instead of* the bundled one (the two name
things differently, e.g. "nginx"/"Nginx", so mixing them would report software twice). That data
is obtained and used by the operator under its own licence.

Supported: ``headers``, ``meta`` (name or property), ``scriptSrc`` (``<script src>`` values and
every request URL, so scripts added at run time count; tags inside HTML comments are not in use
and do not count), ``html`` (the whole markup), ``cookies`` (names only: a
pattern on a cookie's value cannot match, values are not captured), ``url`` (the page URL),
``implies``, ``requires``, ``requiresCategory`` and ``excludes``. Ignored: ``js``, ``dom``,
``css``, ``scripts``, ``text``, ``xhr``, ``dns``, ``robots``, ``probe``, ``certIssuer``; patterns
that Python's ``re`` cannot compile are skipped. Patterns are case-insensitive; the
``\\;version:`` tag (back references and the ``\\1?a:b`` ternary) gives the version and
``\\;confidence:`` is ignored: every match counts.

A technology is reported once, under its first category, with Wappalyzer category names mapped
to PassiveTotal's where one corresponds (JavaScript libraries → JavaScript Library, Web servers →
Server, Programming languages → Framework, as PassiveTotal filed PHP, ...). When patterns give
several versions, the most specific is kept (most numeric parts, then the highest); versions
longer than 32 characters are dropped as noise.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from html import unescape
from pathlib import Path
from typing import Any

from hostpairs.extractors.records import ComponentRecord

BUNDLED_FINGERPRINTS = Path(__file__).with_name("fingerprints.json")

_PASSIVETOTAL_CATEGORIES = {
    "JavaScript libraries": "JavaScript Library",
    "JavaScript frameworks": "Framework",
    "Web frameworks": "Framework",
    "UI frameworks": "Framework",
    "Programming languages": "Framework",
    "Web servers": "Server",
    "Reverse proxies": "Server",
    "Web server extensions": "Server Module",
    "Operating systems": "Operating System",
    "Analytics": "Analytics Service",
    "Tag managers": "Tag Mgmt",
    "Advertising": "Ad Network",
    "Marketing automation": "Marketing Automation",
    "Hosting": "Hosting Provider",
}
_FALLBACK_CATEGORY = "Miscellaneous"
_MAX_VERSION_LENGTH = 32


class FingerprintError(ValueError):
    """The fingerprint data set named by HOSTPAIRS_FINGERPRINTS cannot be read."""


# --- compiled fingerprints --------------------------------------------------------------


@dataclass(frozen=True)
class _Pattern:
    regex: re.Pattern[str]
    version: str | None
    """The \\;version: template, e.g. "\\1" or "\\1?\\1:\\2"."""


@dataclass(frozen=True)
class _Technology:
    name: str
    categories: tuple[str, ...]
    headers: tuple[tuple[str, _Pattern], ...]
    meta: tuple[tuple[str, _Pattern], ...]
    cookies: frozenset[str]
    script_src: tuple[_Pattern, ...]
    html: tuple[_Pattern, ...]
    url: tuple[_Pattern, ...]
    implies: tuple[str, ...]
    requires: tuple[str, ...]
    requires_category: tuple[str, ...]
    excludes: tuple[str, ...]


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _strip_tags(value: str) -> str:
    """Drop a value's tags: 'PHP\\;confidence:50' -> 'PHP'."""
    return value.split("\\;", 1)[0]


def _parse_pattern(value: str) -> _Pattern | None:
    """A Wappalyzer pattern string ("regex\\;version:\\1\\;confidence:50"); None if invalid."""
    regex, *tags = value.split("\\;")
    version = next((tag[len("version:"):] for tag in tags if tag.startswith("version:")), None)
    try:
        return _Pattern(re.compile(regex, re.IGNORECASE), version)
    except re.error:
        return None


def _patterns(values: Any) -> tuple[_Pattern, ...]:
    return tuple(p for value in _as_list(values) if (p := _parse_pattern(value)) is not None)


def _keyed_patterns(values: Any) -> tuple[tuple[str, _Pattern], ...]:
    """{"Server": "^nginx", "generator": ["a", "b"]} -> lower-case keys with each pattern."""
    return tuple(
        (key.lower(), pattern)
        for key, value in (values or {}).items()
        for pattern in _patterns(value)
    )


def _compile(name: str, spec: Mapping[str, Any], categories: Mapping[str, str]) -> _Technology:
    """One technology of the data set; `categories` maps category ids to output names."""
    cats = tuple(categories[str(c)] for c in _as_list(spec.get("cats")) if str(c) in categories)
    return _Technology(
        name=name,
        categories=cats or (_FALLBACK_CATEGORY,),
        headers=_keyed_patterns(spec.get("headers")),
        meta=_keyed_patterns(spec.get("meta")),
        # Only presence can be tested: cookie values are not captured.
        cookies=frozenset(k.strip().lower() for k, v in (spec.get("cookies") or {}).items()
                          if not _strip_tags(v)),
        script_src=_patterns(spec.get("scriptSrc")),
        html=_patterns(spec.get("html")),
        url=_patterns(spec.get("url")),
        implies=tuple(_strip_tags(v) for v in _as_list(spec.get("implies"))),
        requires=tuple(_strip_tags(v) for v in _as_list(spec.get("requires"))),
        requires_category=tuple(categories[str(c)] for c in _as_list(spec.get("requiresCategory"))
                                if str(c) in categories),
        excludes=tuple(_strip_tags(v) for v in _as_list(spec.get("excludes"))),
    )


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise FingerprintError(f"cannot read fingerprints from {path}: {error}") from error


def _read_data_set(path: Path) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
    """(categories, technologies) of one JSON file or of a webappanalyzer directory."""
    if path.is_file():
        data = _read_json(path)
        if not isinstance(data, dict) or not {"categories", "technologies"} <= data.keys():
            raise FingerprintError(f"{path}: expected an object with categories and technologies")
        return data["categories"], data["technologies"]
    for base in (path / "src", path, path.parent):
        if (base / "categories.json").is_file() and (base / "technologies").is_dir():
            technologies: dict[str, Any] = {}
            for file in sorted((base / "technologies").glob("*.json")):
                if file.name != "_blacklist.json":  # by its name, not meant for detection
                    technologies.update(_read_json(file))
            return _read_json(base / "categories.json"), technologies
    raise FingerprintError(f"{path}: no fingerprint file, nor categories.json beside a technologies/ directory")


@cache
def _load(source: str) -> dict[str, _Technology]:
    """Compiled fingerprints of a data set, once per process."""
    try:
        categories, technologies = _read_data_set(Path(source))
        names = {
            str(cat_id): _PASSIVETOTAL_CATEGORIES.get(cat["name"], cat["name"])
            for cat_id, cat in categories.items()
        }
        return {name: _compile(name, spec, names) for name, spec in technologies.items()}
    except FingerprintError:
        raise
    except (AttributeError, KeyError, TypeError, ValueError) as error:
        raise FingerprintError(f"{source}: not in the Wappalyzer technologies schema ({error!r})") from error


# --- what the page offers to match ------------------------------------------------------

_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_META_OR_SCRIPT = re.compile(r"<(meta|script)\s([^>]*)>", re.IGNORECASE)
_ATTRIBUTE = re.compile(r"""([^\s"'<>/=]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""")


def _meta_and_script_tags(html: str) -> Iterator[tuple[str, dict[str, str]]]:
    """("meta"|"script", attributes) of each such start tag outside comments; names lower-case,
    values unescaped."""
    for match in _META_OR_SCRIPT.finditer(_COMMENT.sub("", html)):
        yield match.group(1).lower(), {
            name.lower(): unescape(double or single or bare)
            for name, double, single, bare in _ATTRIBUTE.findall(match.group(2))
        }


@dataclass(frozen=True)
class _Page:
    html: str
    headers: Mapping[str, str]
    meta: Mapping[str, list[str]]
    script_srcs: tuple[str, ...]
    cookies: frozenset[str]
    url: str | None


def _page(html: str, headers: Mapping[str, str], request_urls: Iterable[str],
          cookie_names: Iterable[str], page_url: str | None) -> _Page:
    meta: dict[str, list[str]] = {}
    script_srcs: list[str] = []
    for tag, attributes in _meta_and_script_tags(html):
        if tag == "script" and attributes.get("src"):
            script_srcs.append(attributes["src"])
        elif tag == "meta" and "content" in attributes:
            if key := attributes.get("name") or attributes.get("property"):
                meta.setdefault(key.lower(), []).append(attributes["content"])
    return _Page(
        html=html,
        headers={name.lower(): value for name, value in headers.items()},
        meta=meta,
        script_srcs=(*script_srcs, *request_urls),
        cookies=frozenset(name.strip().lower() for name in cookie_names),
        url=page_url,
    )


# --- matching ---------------------------------------------------------------------------

_TERNARY = re.compile(r"\\(\d)\?([^:]*):(.*)$")
_BACK_REFERENCE = re.compile(r"\\(\d)")


def _version(template: str | None, match: re.Match[str]) -> str | None:
    """Resolve a \\;version: template against a match: "\\1", "v\\1", "\\1?\\1:\\2", ..."""
    if not template:
        return None

    def group(number: str) -> str:
        index = int(number)
        return (match.group(index) or "") if index <= match.re.groups else ""

    resolved = _TERNARY.sub(lambda m: m.group(2) if group(m.group(1)) else m.group(3), template)
    resolved = _BACK_REFERENCE.sub(lambda m: group(m.group(1)), resolved).strip()
    return resolved if resolved and len(resolved) <= _MAX_VERSION_LENGTH else None


def _hits(pattern: _Pattern, subjects: Iterable[str]) -> Iterator[str | None]:
    """The version (None when none is given) for each subject the pattern matches."""
    for subject in subjects:
        if match := pattern.regex.search(subject):
            yield _version(pattern.version, match)


def _detect(tech: _Technology, page: _Page) -> list[str | None]:
    """Versions found by each matching pattern of the technology; empty if none matched."""
    found: list[str | None] = [None] * len(tech.cookies & page.cookies)
    for name, pattern in tech.headers:
        if name in page.headers:
            found += _hits(pattern, [page.headers[name]])
    for name, pattern in tech.meta:
        found += _hits(pattern, page.meta.get(name, []))
    for pattern in tech.script_src:
        found += _hits(pattern, page.script_srcs)
    for pattern in tech.html:
        found += _hits(pattern, [page.html])
    if page.url:
        for pattern in tech.url:
            found += _hits(pattern, [page.url])
    return found


def _resolve(found: dict[str, list[str | None]], technologies: Mapping[str, _Technology]) -> None:
    """Drop what a found technology excludes, then add what the rest implies (recursively)."""
    for excluded in {e for name in found for e in technologies[name].excludes}:
        found.pop(excluded, None)
    pending = list(found)
    while pending:
        for implied in technologies[pending.pop()].implies:
            if implied in technologies and implied not in found:
                found[implied] = [None]
                pending.append(implied)


def _most_specific(versions: list[str | None]) -> str | None:
    """The version with the most numeric parts, then the highest; None if there is none."""
    given = [v for v in versions if v]
    if not given:
        return None

    def key(version: str) -> tuple[int, list[int], str]:
        parts = [int(p) for p in re.findall(r"\d+", version)]
        return len(parts), parts, version

    return max(given, key=key)


def extract_components(html: str, response_headers: Mapping[str, str], request_urls: Iterable[str] = (),
                       cookie_names: Iterable[str] = (), *, page_url: str | None = None,
                       fingerprints: str | None = None) -> list[ComponentRecord]:
    """Technologies a page uses, from its HTML, response headers, requested URLs and cookies.

    `page_url` feeds the data set's ``url`` patterns; `fingerprints` names a Wappalyzer-schema
    data set (default: the bundled one). Sorted by category, label, version."""
    technologies = _load(fingerprints or str(BUNDLED_FINGERPRINTS))
    page = _page(html, response_headers, request_urls, cookie_names, page_url)
    found: dict[str, list[str | None]] = {}
    unconditional = [t for t in technologies.values() if not (t.requires or t.requires_category)]
    for tech in unconditional:
        if versions := _detect(tech, page):
            found[tech.name] = versions
    _resolve(found, technologies)
    found_categories = {c for name in found for c in technologies[name].categories}
    conditional = [t for t in technologies.values() if t.requires or t.requires_category]
    for tech in conditional:
        required = any(r in found for r in tech.requires) or any(
            c in found_categories for c in tech.requires_category)
        if required and (versions := _detect(tech, page)):
            found[tech.name] = versions
    _resolve(found, technologies)
    return sorted(
        ComponentRecord(technologies[name].categories[0], name, _most_specific(versions))
        for name, versions in found.items()
    )
