"""Static-mode extraction of references from HTML and CSS (extractors.static_html)."""

from __future__ import annotations

from html import escape

import pytest

from hostpairs.extractors.css import extract_css_references
from hostpairs.extractors.decoding import decode_html
from hostpairs.extractors.static_html import extract_html_references, refresh_url, srcset_urls
from hostpairs.extractors.static_reference import StaticReference
from hostpairs.extractors.urls import resolve_url

PAGE = "https://www.page.example/dir/index.html"


def refs(html: str, page_url: str = PAGE) -> list[tuple[str, str]]:
    return [(r.url, r.cause) for r in extract_html_references(html, page_url)]


# --- one test per cause -----------------------------------------------------------------


def test_iframe_and_frame_are_iframe_src_documents() -> None:
    html = '<iframe src="https://ads.example/f.html"></iframe><frameset><frame src="/left.html"></frameset>'
    assert extract_html_references(html, PAGE) == [
        StaticReference("https://ads.example/f.html", "iframe.src", "document", "iframe"),
        StaticReference("https://www.page.example/left.html", "iframe.src", "document", "frame"),
    ]


def test_script_src_whatever_its_type_but_data_blocks() -> None:
    html = (
        '<script src="a.js"></script>'
        '<script type="module" src="m.js"></script>'
        '<script type="text/javascript; charset=utf-8" src="p.js"></script>'
        '<script language="JavaScript1.2" src="l.js"></script>'
        '<script type="text/plain" data-consent="stats" src="https://gated.example/t.js"></script>'
        '<script type="9c1f0e5a8b7d6c4e3f2a1b0c-text/javascript" src="https://rocket.example/r.js"></script>'
        '<script type="Application/Deferred" src="https://later.example/d.js"></script>'
        '<script language="vbscript" src="old.vbs"></script>'
        '<script type="application/ld+json" src="https://data.example/ld.json"></script>'
        '<script type="application/json" src="https://data.example/j.json"></script>'
        '<script type="application/manifest+json" src="https://data.example/m.json"></script>'
        '<script type="importmap" src="https://data.example/map.json"></script>'
        '<script type="speculationrules" src="https://data.example/rules.json"></script>'
        "<script>var s = '<img src=https://in-script.example/x.png>';</script>"
    )
    assert [(r.url, r.cause, r.declared_type) for r in extract_html_references(html, PAGE)] == [
        ("https://www.page.example/dir/a.js", "script.src", None),
        ("https://www.page.example/dir/m.js", "script.src", None),
        ("https://www.page.example/dir/p.js", "script.src", None),
        ("https://www.page.example/dir/l.js", "script.src", None),
        ("https://gated.example/t.js", "script.src", "text/plain"),
        ("https://rocket.example/r.js", "script.src", "9c1f0e5a8b7d6c4e3f2a1b0c-text/javascript"),
        ("https://later.example/d.js", "script.src", "application/deferred"),
        ("https://www.page.example/dir/old.vbs", "script.src", "text/vbscript"),
    ]


def test_images_of_every_kind_are_img_src() -> None:
    html = (
        '<img src="a.png" srcset="a-480.png 480w, a-800.png 800w">'
        '<picture><source type="image/webp" srcset="b.webp 1x, //img.example/b@2x.webp 2x"><img src="b.jpg"></picture>'
        '<input type="IMAGE" src="go.gif"><input type="text" src="not-an-image.gif">'
        '<object data="chart.svg"></object><object type="image/png" data="/render?id=1"></object>'
        '<video poster="poster.jpg"></video>'
        '<table background="tile.gif"><tr><td background="cell.gif">x</td></tr></table>'
    )
    assert extract_html_references(html, PAGE) == [
        StaticReference("https://www.page.example/dir/a.png", "img.src", "image", "img"),
        StaticReference("https://www.page.example/dir/a-480.png", "img.src", "image", "img"),
        StaticReference("https://www.page.example/dir/a-800.png", "img.src", "image", "img"),
        StaticReference("https://www.page.example/dir/b.webp", "img.src", "image", "source"),
        StaticReference("https://img.example/b@2x.webp", "img.src", "image", "source"),
        StaticReference("https://www.page.example/dir/b.jpg", "img.src", "image", "img"),
        StaticReference("https://www.page.example/dir/go.gif", "img.src", "image", "input"),
        StaticReference("https://www.page.example/dir/chart.svg", "img.src", "image", "object"),
        StaticReference("https://www.page.example/render?id=1", "img.src", "image", "object"),
        StaticReference("https://www.page.example/dir/poster.jpg", "img.src", "image", "video"),
        StaticReference("https://www.page.example/dir/tile.gif", "img.src", "image", "table"),
        StaticReference("https://www.page.example/dir/cell.gif", "img.src", "image", "td"),
    ]


def test_link_href_only_for_rels_that_load() -> None:
    html = """
        <link rel="stylesheet" href="s.css">
        <link rel="alternate stylesheet" title="big" href="big.css">
        <link rel="stylesheet" href="off.css" disabled>
        <link rel="shortcut icon" href="/favicon.ico">
        <link rel="apple-touch-icon" href="/touch.png">
        <link rel="manifest" href="/site.webmanifest">
        <link rel="preload" as="font" href="https://fonts.example/f.woff2" crossorigin>
        <link rel="preload" as="image" href="hero.jpg" imagesrcset="hero-1x.jpg 1x, hero-2x.jpg 2x">
        <link rel="preload" href="no-as.js">
        <link rel="preload" as="bogus" href="bogus.js">
        <link rel="modulepreload" href="mod.mjs">
        <link rel="prefetch" href="next.html">
        <link rel="canonical" href="https://canonical.example/">
        <link rel="alternate" hreflang="de" href="https://de.page.example/">
        <link rel="author" href="https://author.example/">
        <link rel="preconnect" href="https://preconnect.example">
        <link rel="dns-prefetch" href="//dns.example">
        <link rel="next" href="page2.html">
    """
    base = "https://www.page.example"
    assert [(r.url, r.cause, r.resource_type, r.hint) for r in extract_html_references(html, PAGE)] == [
        (f"{base}/dir/s.css", "link.href", "stylesheet", None),
        (f"{base}/dir/big.css", "link.href", "stylesheet", None),
        (f"{base}/favicon.ico", "link.href", "image", None),
        (f"{base}/touch.png", "link.href", "image", None),
        (f"{base}/site.webmanifest", "link.href", "manifest", None),
        ("https://fonts.example/f.woff2", "link.href", "font", "preload"),
        (f"{base}/dir/hero.jpg", "link.href", "image", "preload"),
        (f"{base}/dir/hero-1x.jpg", "link.href", "image", "preload"),
        (f"{base}/dir/hero-2x.jpg", "link.href", "image", "preload"),
        (f"{base}/dir/mod.mjs", "link.href", "script", "modulepreload"),
        (f"{base}/dir/next.html", "link.href", "prefetch", "prefetch"),
        ("https://preconnect.example/", "link.href", "other", "preconnect"),
        ("https://dns.example/", "link.href", "other", "dns-prefetch"),
    ]


def test_anchors_and_areas_are_a_href() -> None:
    html = '<a href="https://other.example/x">x</a><map><area href="/y" coords="0,0,1,1"></map><a name="no-href">n</a>'
    assert extract_html_references(html, PAGE) == [
        StaticReference("https://other.example/x", "a.href", "document", "a"),
        StaticReference("https://www.page.example/y", "a.href", "document", "area"),
    ]


def test_media_is_unknown() -> None:
    html = (
        '<video src="v.mp4"><source src="v.webm"><track src="subs.vtt"></video>'
        '<audio src="https://audio.example/a.mp3"></audio><embed src="flash.swf"><object data="doc.pdf"></object>'
    )
    assert [(r.url, r.cause, r.resource_type) for r in extract_html_references(html, PAGE)] == [
        ("https://www.page.example/dir/v.mp4", "unknown", "media"),
        ("https://www.page.example/dir/v.webm", "unknown", "media"),
        ("https://www.page.example/dir/subs.vtt", "unknown", "texttrack"),
        ("https://audio.example/a.mp3", "unknown", "media"),
        ("https://www.page.example/dir/flash.swf", "unknown", "other"),
        ("https://www.page.example/dir/doc.pdf", "unknown", "other"),
    ]


def test_srcdoc_requests_are_iframe_write_and_win_over_src() -> None:
    html = (
        '<iframe src="https://ignored.example/" srcdoc="'
        "&lt;script src='https://inner.example/s.js'&gt;&lt;/script&gt;"
        "&lt;img src='pixel.gif'&gt;&lt;a href='https://link.example/'&gt;l&lt;/a&gt;"
        "&lt;div style='background:url(https://bg.example/b.png)'&gt;&lt;/div&gt;"
        '"></iframe>'
    )
    assert refs(html) == [
        ("https://inner.example/s.js", "iframe.write"),
        ("https://www.page.example/dir/pixel.gif", "iframe.write"),
        ("https://link.example/", "a.href"),
        ("https://bg.example/b.png", "iframe.write"),
    ]


def test_template_content_is_inert_noscript_content_counts() -> None:
    html = (
        '<template><img src="https://template.example/t.png"><base href="https://tb.example/"></template>'
        '<noscript><img src="https://pixel.example/tr?id=1&amp;ev=PageView"></noscript>'
    )
    assert refs(html) == [("https://pixel.example/tr?id=1&ev=PageView", "img.src")]


# --- meta refresh -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("5; url=https://next.example/a", "https://next.example/a"),
        ("0;URL='https://next.example/q'", "https://next.example/q"),
        ('0; Url = "https://next.example/dq" ', "https://next.example/dq"),
        ("3 ;  uRl  =  /relative?x=1", "https://www.page.example/relative?x=1"),
        ("0,https://comma.example/", "https://comma.example/"),
        ("1; https://no-url-prefix.example/", "https://no-url-prefix.example/"),
        ("0;url='https://quoted.example/x' trailing", "https://quoted.example/x"),
        ("  .5  ;  url=next.html", "https://www.page.example/dir/next.html"),
        ("0; ur", "https://www.page.example/dir/ur"),
    ],
)
def test_meta_refresh_variants(content: str, expected: str) -> None:
    http_equiv = "REFRESH" if '"' in content else "Refresh"
    html = f'<meta http-equiv="{http_equiv}" content="{escape(content)}">'
    assert extract_html_references(html, PAGE) == [StaticReference(expected, "meta.refresh", "document", "meta")]


@pytest.mark.parametrize(
    "content", ["5", "", "x; url=https://bad-time.example/", "5x; url=https://bad.example/", "0; url="]
)
def test_meta_refresh_without_target(content: str) -> None:
    assert refs(f'<meta http-equiv="refresh" content="{content}">') == []


def test_only_first_valid_meta_refresh_counts() -> None:
    html = (
        '<meta http-equiv="refresh" content="soon; url=https://invalid.example/">'
        '<meta http-equiv="refresh" content="1; url=https://first.example/">'
        '<meta http-equiv="refresh" content="0; url=https://second.example/">'
        '<meta name="refresh" content="0; url=https://not-http-equiv.example/">'
    )
    assert refs(html) == [("https://first.example/", "meta.refresh")]


def test_refresh_url_parser() -> None:
    assert refresh_url("5") == (True, None)
    assert refresh_url("5;") == (True, None)
    assert refresh_url("abc") == (False, None)
    assert refresh_url('1; URL="a b" c') == (True, "a b")
    assert refresh_url("1; urn:x") == (True, "urn:x")


# --- URL resolution and normalisation ---------------------------------------------------


def test_base_href_first_wins_and_is_resolved_against_the_page() -> None:
    html = (
        '<head><base href="/assets/v2/"><base href="https://second-base.example/"></head>'
        '<img src="a.png"><a href="../up.html">u</a><script src="/root.js"></script><a href="https://abs.example/">a</a>'
    )
    assert refs(html) == [
        ("https://www.page.example/assets/v2/a.png", "img.src"),
        ("https://www.page.example/assets/up.html", "a.href"),
        ("https://www.page.example/root.js", "script.src"),
        ("https://abs.example/", "a.href"),
    ]


def test_base_href_applies_to_earlier_elements_and_inline_css() -> None:
    html = '<img src="early.png"><style>b{background:url(bg.png)}</style><base href="https://cdn.example/x/">'
    assert refs(html) == [
        ("https://cdn.example/x/early.png", "img.src"),
        ("https://cdn.example/x/bg.png", "css.import"),
    ]


def test_unusable_base_href_falls_back_to_the_page() -> None:
    assert refs('<base href="javascript:void(0)"><img src="a.png">') == [
        ("https://www.page.example/dir/a.png", "img.src")
    ]


def test_srcset_candidates_with_descriptors() -> None:
    assert srcset_urls(" a.png 1x,b.png   2x ,\n c.png 300w, d,e.png 1.5x, f.png") == [
        "a.png",
        "b.png",
        "c.png",
        "d,e.png",
        "f.png",
    ]
    assert srcset_urls("x.png (1x, 2x), y.png 2x") == ["x.png", "y.png"]
    assert srcset_urls("trailing.png,, other.png") == ["trailing.png", "other.png"]
    assert srcset_urls(" , ") == []
    assert srcset_urls("data:image/png;base64,AAAA 1x, real.png 2x") == ["data:image/png;base64,AAAA", "real.png"]
    assert refs('<img srcset="data:image/png;base64,AAAA 1x, real.png 2x">') == [
        ("https://www.page.example/dir/real.png", "img.src")
    ]


def test_protocol_relative_takes_the_page_scheme() -> None:
    html = '<script src="//cdn.example/x.js"></script><img src="\\\\slashes.example\\i.png">'
    assert refs(html, "http://plain.example/") == [
        ("http://cdn.example/x.js", "script.src"),
        ("http://slashes.example/i.png", "img.src"),
    ]


def test_hosts_are_normalised() -> None:
    html = """
        <a href="HTTPS://WWW.Example.COM/Path/Keep?Q=Case">1</a>
        <a href="https://trailing.example./x">2</a>
        <a href="https://bücher.example/straße">3</a>
        <a href="http://例え.jp/">4</a>
        <a href="https://ports.example:8443/p">5</a>
        <a href="http://default.example:80/p">6</a>
        <a href="https://user:secret@creds.example/">7</a>
        <a href="http://[2001:DB8::1]:8080/v6">8</a>
        <a href="https://frag.example/p#section">9</a>
        <a href="https://frag.example/p#other">10</a>
    """
    assert [url for url, _ in refs(html)] == [
        "https://www.example.com/Path/Keep?Q=Case",
        "https://trailing.example/x",
        "https://xn--bcher-kva.example/stra%C3%9Fe",
        "http://xn--r8jz45g.jp/",
        "https://ports.example:8443/p",
        "http://default.example/p",
        "https://creds.example/",
        "http://[2001:db8::1]:8080/v6",
        "https://frag.example/p",
    ]


def test_whitespace_inside_attribute_values_is_removed_like_browsers() -> None:
    html = '<img src="  \n https://ws.example/a\n/b.png\t "><a href="\thttps://ws.example/c d">x</a>'
    assert refs(html) == [("https://ws.example/a/b.png", "img.src"), ("https://ws.example/c%20d", "a.href")]


def test_only_http_urls_are_returned() -> None:
    html = """
        <a href="javascript:alert(1)">j</a><a href="JavaScript:void(0)">j</a><a href="mailto:a@b.example">m</a>
        <a href="tel:+100">t</a><a href="#top">f</a><a href="">e</a><a href="   ">w</a>
        <img src="data:image/gif;base64,R0lGOD"><iframe src="about:blank"></iframe><iframe src=""></iframe>
        <img src="blob:https://www.page.example/uuid"><a href="ftp://files.example/">ftp</a>
        <a href="localhost:8080/x">scheme-like</a><a href="https://kept.example/">ok</a>
    """
    assert refs(html) == [("https://kept.example/", "a.href")]


@pytest.mark.parametrize(
    "url",
    ["http://[bad", "http://[bad]/", "http://exa mple.com/", "http://a.example:99999/", "http://a.example:port/",
     "http://", "https:///", "http://exa<mple.com/", "http://host%20name.example/"],
)  # fmt: skip
def test_malformed_urls_are_skipped(url: str) -> None:
    assert resolve_url(url, PAGE) is None
    assert refs(f'<a href="{url}">x</a><img src="https://fine.example/i.png">') == [
        ("https://fine.example/i.png", "img.src")
    ]


def test_resolve_url_follows_the_url_standard() -> None:
    assert resolve_url("../../../up.js", PAGE) == "https://www.page.example/up.js"
    assert resolve_url("/a/./b/../c", PAGE) == "https://www.page.example/a/c"
    assert resolve_url("?page=2", PAGE) == "https://www.page.example/dir/index.html?page=2"
    assert resolve_url("///triple.example/x", PAGE) == "https://triple.example/x"
    assert resolve_url("http:other.example/x", PAGE) == "http://other.example/x"
    assert resolve_url("https:same-scheme.js", PAGE) == "https://www.page.example/dir/same-scheme.js"
    assert resolve_url("https://pct%2Eexample/", PAGE) == "https://pct.example/"
    assert resolve_url("https://q.example/?a='b c'", PAGE) == "https://q.example/?a=%27b%20c%27"
    assert resolve_url("relative.js", "about:blank") is None


def test_duplicates_keep_the_first_occurrence_per_cause() -> None:
    html = (
        '<link rel="preload" as="script" href="https://d.example/x.js">'
        '<script src="https://D.example/x.js"></script><script src="//d.example/x.js"></script>'
        '<a href="https://d.example/x.js#frag">a</a><a href="https://d.example/x.js">b</a>'
    )
    assert refs(html) == [
        ("https://d.example/x.js", "link.href"),
        ("https://d.example/x.js", "script.src"),
        ("https://d.example/x.js", "a.href"),
    ]


# --- CSS --------------------------------------------------------------------------------


def test_css_import_forms_and_url_types() -> None:
    css = """
        @charset "utf-8";
        @import url("theme.css");
        @import url(plain.css) screen;
        @import 'print.css' print;
        @IMPORT "https://cdn.example/reset.css";
        @font-face { font-family: I; src: url(icons.svg#icons) format("svg"), url('/f/icons.woff2?v=4') format("woff2"); }
        .hero { background: URL( "img/hero.JPG" ) no-repeat, url(data:image/png;base64,AAAA); }
        .x { cursor: url(https://cur.example/c.cur), auto; mask: url(#svg-mask); content: url(); }
        .y { background-image: url(/api/image?id=3) }
        /* .old { background: url(commented.png) } */
        .z { --myurl: myurl(not-a-url.png); background: url(\\2f escaped.png); }
    """
    assert extract_css_references(css, "https://static.example/css/site.css") == [
        StaticReference("https://static.example/css/theme.css", "css.import", "stylesheet", None),
        StaticReference("https://static.example/css/plain.css", "css.import", "stylesheet", None),
        StaticReference("https://static.example/css/print.css", "css.import", "stylesheet", None),
        StaticReference("https://cdn.example/reset.css", "css.import", "stylesheet", None),
        StaticReference("https://static.example/css/icons.svg", "css.import", "font", None),
        StaticReference("https://static.example/f/icons.woff2?v=4", "css.import", "font", None),
        StaticReference("https://static.example/css/img/hero.JPG", "css.import", "image", None),
        StaticReference("https://cur.example/c.cur", "css.import", "image", None),
        StaticReference("https://static.example/api/image?id=3", "css.import", "other", None),
        StaticReference("https://static.example/escaped.png", "css.import", "image", None),
    ]


def test_inline_style_blocks_and_attributes_are_css_import() -> None:
    html = (
        "<style>@import 'https://fonts.example/css?family=X';"
        " body { background: url(/bg.png) }</style>"
        '<div style="background-image:url(&quot;https://banner.example/b.gif&quot;)"></div>'
        "<span style='background: url(tile.webp)'></span>"
        '<style>@import "no-parens.css";</style><p style="color: red">plain</p>'
    )
    assert extract_html_references(html, PAGE) == [
        StaticReference("https://fonts.example/css?family=X", "css.import", "stylesheet", "style"),
        StaticReference("https://www.page.example/bg.png", "css.import", "image", "style"),
        StaticReference("https://banner.example/b.gif", "css.import", "image", "div"),
        StaticReference("https://www.page.example/dir/tile.webp", "css.import", "image", "span"),
        StaticReference("https://www.page.example/dir/no-parens.css", "css.import", "stylesheet", "style"),
    ]


# --- robustness -------------------------------------------------------------------------


def test_broken_markup_is_read_like_a_browser() -> None:
    html = (
        '<html><head><title>t</title></head><body><p>unclosed <b><i>tags<div><img src="a.png" alt=unquoted>'
        '<a href=https://unquoted.example/x>u</a><a href="https://never-closed.example/y">'
        "<table><td><img src='/in-table.png'></td></table><<>></p></div></span></body>"
        '<iframe src="https://frame.example/"><img src="https://iframe-text.example/not-parsed.png"></iframe>'
        '<textarea><img src="https://textarea.example/no.png"></textarea>'
        '<img src="https://attr-first.example/1.png" src="https://attr-second.example/2.png">'
        '<img src="https://last.example/z.png"'
    )
    assert refs(html) == [
        ("https://www.page.example/dir/a.png", "img.src"),
        ("https://unquoted.example/x", "a.href"),
        ("https://never-closed.example/y", "a.href"),
        ("https://www.page.example/in-table.png", "img.src"),
        ("https://frame.example/", "iframe.src"),
        ("https://attr-first.example/1.png", "img.src"),
    ]


def test_unclosed_raw_text_elements_swallow_the_rest_like_browsers() -> None:
    assert refs('<title>t<img src="https://in-title.example/x.png">') == []
    assert refs('<script src="https://s.example/s.js"><img src="https://in-script.example/x.png">') == [
        ("https://s.example/s.js", "script.src")
    ]


def test_nul_bytes_lone_surrogates_and_empty_input() -> None:
    html = '<img src="https://nul.example/a\x00b.png">\x00\x00<a href="https://sur.example/\ud800x">s</a><img src=\x00>'
    assert refs(html) == [
        ("https://nul.example/a%EF%BF%BDb.png", "img.src"),
        ("https://sur.example/%EF%BF%BDx", "a.href"),
        ("https://www.page.example/dir/%EF%BF%BD", "img.src"),  # a NUL attribute is U+FFFD, as in browsers
    ]
    for empty in ("", "   ", "\x00", "<", "<!--", "<?xml version='1.0'?>"):
        assert refs(empty) == []


def test_huge_attributes_and_deep_nesting_do_not_hide_later_references() -> None:
    huge = (
        '<img src="data:image/png;base64,'
        + "A" * 12_000_000
        + '"><script src="https://after-huge.example/s.js"></script>'
    )
    assert refs(huge) == [("https://after-huge.example/s.js", "script.src")]
    deep = (
        "<div>" * 5000 + '<img src="https://deep.example/a.png"><template><img src="https://tpl.example/"></template>'
        "<style>b{background:url(https://deep-css.example/b.png)}</style>"
        + "</div>" * 5000
        + '<a href="https://after-deep.example/">x</a>'
    )
    assert refs(deep) == [
        ("https://deep.example/a.png", "img.src"),
        ("https://deep-css.example/b.png", "css.import"),
        ("https://after-deep.example/", "a.href"),
    ]


# --- decoding ---------------------------------------------------------------------------

SHIFT_JIS_PAGE = (
    '<html><head><meta charset="Shift_JIS"><title>日本語</title></head><a href="http://例え.jp/">リンク</a></html>'
)
CP1251_PAGE = '<meta http-equiv="Content-Type" content="text/html; charset=windows-1251"><p>Привет, мир</p>'


def test_decode_html_uses_meta_charset() -> None:
    assert decode_html(SHIFT_JIS_PAGE.encode("shift_jis"), None) == SHIFT_JIS_PAGE
    assert decode_html(SHIFT_JIS_PAGE.encode("shift_jis"), "text/html") == SHIFT_JIS_PAGE
    assert decode_html(CP1251_PAGE.encode("cp1251"), "text/html; charset=x-unknown") == CP1251_PAGE
    assert refs(decode_html(SHIFT_JIS_PAGE.encode("shift_jis"), None)) == [("http://xn--r8jz45g.jp/", "a.href")]


def test_decode_html_header_wins_over_meta_like_browsers() -> None:
    assert decode_html("<p>Grüße</p>".encode(), "text/html; charset=ISO-8859-1") == "<p>GrÃ¼ÃŸe</p>"
    wrong = decode_html(CP1251_PAGE.encode("cp1251"), "text/html; charset=utf-8")
    assert wrong.startswith('<meta http-equiv="Content-Type"') and "\ufffd" in wrong


def test_decode_html_bom_and_detection() -> None:
    assert decode_html(b"\xef\xbb\xbf<p>bom</p>", "text/html; charset=iso-8859-1") == "<p>bom</p>"
    assert decode_html("<p>Grüße</p>".encode(), None) == "<p>Grüße</p>"
    russian = "<p>Привет, как дела? Это страница на русском языке без объявления кодировки.</p>"
    assert decode_html(russian.encode("cp1251"), None) == russian


@pytest.mark.parametrize(
    ("body", "header"),
    [(b"", None), (b"\x00\xff\xfe", "text/html; charset=idna"), (b"<p>x</p>", "text/html; charset=zlib"),
     (b'<meta charset="rot13">\xff', None), (b'<meta charset="hex">x', "text/html; charset=base64"),
     (b"\xff" * 10, ";;=")],
)  # fmt: skip
def test_decode_html_never_raises(body: bytes, header: str | None) -> None:
    assert isinstance(decode_html(body, header), str)
    assert decode_html(b"<p>x</p>", "text/html; charset=zlib") == "<p>x</p>"
