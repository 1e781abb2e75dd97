"""Plain BeautifulSoup (html.parser) version of extractors.static_html, for the benchmark only.

Straightforward code applying the same rules: one find_all over the soup, the same URL,
srcset, meta refresh and CSS helpers. bench_static.py checks both agree on every page.
"""

from __future__ import annotations

from bs4 import BeautifulSoup, Tag

from hostpairs.extractors.css import IMAGE_EXTENSIONS, extract_css_references
from hostpairs.extractors.static_html import (
    CONNECTION_HINTS,
    is_never_loaded,
    link_resource_type,
    refresh_url,
    resource_hint,
    script_type,
    srcset_urls,
)
from hostpairs.extractors.static_reference import StaticReference
from hostpairs.extractors.urls import resolve_url

BACKGROUND_TAGS = {"body", "table", "thead", "tbody", "tfoot", "tr", "td", "th"}


def attr(element: Tag, name: str) -> str | None:
    """An attribute as a string (the soups are built with multi_valued_attributes=None)."""
    value = element.get(name)
    return value if value is None or isinstance(value, str) else " ".join(value)


def object_is_image(data: str, declared: str) -> bool:
    name = data.split("#")[0].split("?")[0].split("/")[-1]
    extension = name.rsplit(".", 1)[1].lower() if "." in name else ""
    return declared.startswith("image/") or (not declared and extension in IMAGE_EXTENSIONS)


def document_references(soup: BeautifulSoup, fallback_base: str, depth: int) -> list[StaticReference]:
    for template in soup.find_all("template"):
        template.decompose()
    base = fallback_base
    base_tag = soup.find("base", href=True)
    base_href = attr(base_tag, "href") if isinstance(base_tag, Tag) else None
    if base_href is not None:
        base = resolve_url(base_href, fallback_base) or fallback_base
    write = depth > 0
    found: list[StaticReference] = []

    def add(raw: str | None, cause: str, resource_type: str, tag: str) -> None:
        if raw:
            url = resolve_url(raw, base)
            if url is not None:
                if write and cause != "a.href":
                    cause = "iframe.write"
                found.append(StaticReference(url, cause, resource_type, tag))

    def add_css(css: str | None, tag: str) -> None:
        if css:
            cause = "iframe.write" if write else "css.import"
            for reference in extract_css_references(css, base):
                found.append(StaticReference(reference.url, cause, reference.resource_type, tag))

    refreshed = False
    for element in soup.find_all(True):
        name = element.name
        srcdoc = attr(element, "srcdoc") if name == "iframe" else None
        if srcdoc is not None:
            if depth < 3:
                inner = BeautifulSoup(
                    srcdoc, "html.parser", multi_valued_attributes=None, on_duplicate_attribute="ignore"
                )
                found.extend(document_references(inner, base, depth + 1))
        elif name in ("iframe", "frame"):
            add(attr(element, "src"), "iframe.src", "document", name)
        elif name == "script":
            declared = script_type(element)
            if declared is None or not is_never_loaded(declared):
                add(attr(element, "src"), "script.src", "script", name)
        elif name == "img":
            add(attr(element, "src"), "img.src", "image", name)
            for url in srcset_urls(attr(element, "srcset") or ""):
                add(url, "img.src", "image", name)
        elif name == "source":
            for url in srcset_urls(attr(element, "srcset") or ""):
                add(url, "img.src", "image", name)
            add(attr(element, "src"), "unknown", "media", name)
        elif name == "input":
            if (attr(element, "type") or "").lower() == "image":
                add(attr(element, "src"), "img.src", "image", name)
        elif name == "object":
            data = attr(element, "data")
            if data:
                if object_is_image(data, (attr(element, "type") or "").strip(" \t\n\f\r").lower()):
                    add(data, "img.src", "image", name)
                else:
                    add(data, "unknown", "other", name)
        elif name == "video":
            add(attr(element, "poster"), "img.src", "image", name)
            add(attr(element, "src"), "unknown", "media", name)
        elif name in ("audio", "track", "embed"):
            add(attr(element, "src"), "unknown", {"audio": "media", "track": "texttrack", "embed": "other"}[name], name)
        elif name == "link":
            resource_type = link_resource_type(element)
            if resource_type is not None:
                add(attr(element, "href"), "link.href", resource_type, name)
                if resource_type == "image":
                    for url in srcset_urls(attr(element, "imagesrcset") or ""):
                        add(url, "link.href", "image", name)
            elif resource_hint(attr(element, "rel")) in CONNECTION_HINTS and not write:
                add(attr(element, "href"), "link.href", "other", name)
        elif name in ("a", "area"):
            add(attr(element, "href"), "a.href", "document", name)
        elif name == "meta":
            content = attr(element, "content")
            if not refreshed and (attr(element, "http-equiv") or "").lower() == "refresh" and content is not None:
                valid, target = refresh_url(content)
                if valid:
                    refreshed = True
                    add(target, "meta.refresh", "document", name)
        elif name == "style":
            add_css(element.string, name)
        elif name in BACKGROUND_TAGS:
            add(attr(element, "background"), "img.src", "image", name)
        add_css(attr(element, "style"), name)
    return found


def extract_html_references_bs4(html: str, page_url: str) -> list[StaticReference]:
    """Same output as extractors.static_html.extract_html_references, the plain way."""
    soup = BeautifulSoup(html, "html.parser", multi_valued_attributes=None, on_duplicate_attribute="ignore")
    seen: dict[tuple[str, str], StaticReference] = {}
    for reference in document_references(soup, page_url, 0):
        seen.setdefault((reference.url, reference.cause), reference)
    return list(seen.values())
