"""Web-technology fingerprinting (extractors.components)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from hostpairs.extractors.components import (
    BUNDLED_FINGERPRINTS,
    FingerprintError,
    extract_components,
)
from hostpairs.extractors.records import ComponentRecord
from tests.virtual_sites import TRACKED_PAGE


def components(html: str = "", headers: dict[str, str] | None = None, urls: tuple[str, ...] = (),
               cookies: tuple[str, ...] = (), page_url: str | None = None) -> list[tuple[str, str, str | None]]:
    return [(c.category, c.label, c.version)
            for c in extract_components(html, headers or {}, urls, cookies, page_url=page_url)]


# --- headers ----------------------------------------------------------------------------


@pytest.mark.parametrize(("headers", "expected"), [
    ({"Server": "nginx/1.24.0"}, [("Server", "nginx", "1.24.0")]),
    ({"server": "nginx"}, [("Server", "nginx", None)]),
    ({"Server": "Apache/2.4.57 (Debian)", "X-Powered-By": "PHP/8.2.12"},
     [("Framework", "PHP", "8.2.12"), ("Server", "Apache", "2.4.57")]),
    ({"Server": "Apache-Coyote/1.1"}, []),
    ({"Server": "Microsoft-IIS/10.0", "X-Powered-By": "ASP.NET"}, [("Server", "Microsoft-IIS", "10.0")]),
    ({"Server": "cloudflare", "CF-RAY": "8a1b2c3d4e5f6a7b-FRA", "X-Powered-By": "Express"},
     [("CDN", "Cloudflare", None), ("Framework", "Express", None), ("Framework", "Node.js", None)]),
    ({"Via": "1.1 3f2e1d0c.cloudfront.net (CloudFront)", "X-Amz-Cf-Pop": "FRA56-P1"},
     [("CDN", "Amazon CloudFront", None)]),
    ({"Via": "1.1 varnish (Varnish/7.4)", "X-Varnish": "32770 3"}, [("Caching", "Varnish", "7.4")]),
    ({"X-Served-By": "cache-iad-kiad7000076-IAD, cache-fra-eddf8230028-FRA", "Via": "1.1 varnish, 1.1 varnish"},
     [("CDN", "Fastly", None), ("Caching", "Varnish", None)]),
    ({"Server": "AkamaiGHost"}, [("CDN", "Akamai", None)]),
])
def test_headers_only(headers: dict[str, str], expected: list[tuple[str, str, str | None]]) -> None:
    assert components(headers=headers) == expected


# --- meta generator ---------------------------------------------------------------------


@pytest.mark.parametrize(("generator", "expected"), [
    ("WordPress 6.4.2", [("CMS", "WordPress", "6.4.2"), ("Framework", "PHP", None)]),
    ("Drupal 10 (https://www.drupal.org)", [("CMS", "Drupal", "10"), ("Framework", "PHP", None)]),
    ("Joomla! - Open Source Content Management", [("CMS", "Joomla", None), ("Framework", "PHP", None)]),
    ("Hugo 0.120.4", []),
])
def test_meta_generator(generator: str, expected: list[tuple[str, str, str | None]]) -> None:
    assert components(f'<head><meta name="generator" content="{generator}" /></head>') == expected


@pytest.mark.parametrize(("html", "headers", "expected"), [
    ('<form class="search-form" data-drupal-selector="search-block-form" action="/search/node" method="get">',
     {}, [("CMS", "Drupal", None), ("Framework", "PHP", None)]),
    ('<script>jQuery.extend(Drupal.settings, {"basePath":"\\/","pathPrefix":""});</script>',
     {"X-Generator": "Drupal 7 (http://drupal.org)"}, [("CMS", "Drupal", "7"), ("Framework", "PHP", None)]),
    ('<script type="application/json" class="joomla-script-options new">{"csrf.token":"5f2c"}</script>',
     {}, [("CMS", "Joomla", None), ("Framework", "PHP", None)]),
    ('<script type="text/x-magento-init">{"*": {"Magento_Ui/js/core/app": {}}}</script>'
     '<script src="https://shop.example/static/version1700000000/frontend/Magento/luma/en_US/requirejs/require.js"></script>',
     {}, [("Ecommerce", "Magento", None), ("Framework", "PHP", None)]),
    ('<script>var Shopify = Shopify || {};\nShopify.shop = "outdoor-gear.myshopify.com";\nShopify.locale = "en";</script>',
     {}, [("Ecommerce", "Shopify", None)]),
    ('<script src="//cdn.shopify.com/s/files/1/0123/4567/t/5/assets/theme.js?v=1234"></script>',
     {}, [("Ecommerce", "Shopify", None)]),
    ("", {"Link": '<https://blog.example/wp-json/>; rel="https://api.w.org/"'},
     [("CMS", "WordPress", None), ("Framework", "PHP", None)]),
])
def test_cms_and_shops_from_markup_and_headers(html: str, headers: dict[str, str],
                                               expected: list[tuple[str, str, str | None]]) -> None:
    assert components(html, headers) == expected


def test_implied_version_gives_way_to_a_detected_one() -> None:
    html = "<meta content='WordPress 6.4.2' name='generator'>"
    assert components(html, {"X-Powered-By": "PHP/8.1.27"}) == [
        ("CMS", "WordPress", "6.4.2"), ("Framework", "PHP", "8.1.27")]


# --- script sources ---------------------------------------------------------------------


@pytest.mark.parametrize(("src", "expected"), [
    ("https://code.jquery.com/jquery-3.6.0.min.js", "3.6.0"),
    ("https://ajax.googleapis.com/ajax/libs/jquery/3.7.1/jquery.min.js", "3.7.1"),
    ("https://cdn.jsdelivr.net/npm/jquery@3.5.1/dist/jquery.slim.min.js", "3.5.1"),
    ("/assets/js/jquery.min.js", None),
])
def test_jquery_version_from_script_src(src: str, expected: str | None) -> None:
    assert components(f'<script src="{src}"></script>') == [("JavaScript Library", "jQuery", expected)]


def test_wordpress_page_with_core_scripts_and_plugins() -> None:
    html = """<head>
<link rel='stylesheet' id='wp-block-library-css' href='https://blog.example/wp-includes/css/dist/block-library/style.min.css?ver=6.4.2' media='all' />
<script src="https://blog.example/wp-includes/js/jquery/jquery.min.js?ver=3.7.1" id="jquery-core-js"></script>
<script src="https://blog.example/wp-includes/js/jquery/jquery-migrate.min.js?ver=3.4.1" id="jquery-migrate-js"></script>
<script src="https://blog.example/wp-includes/js/jquery/ui/core.min.js?ver=1.13.2" id="jquery-ui-core-js"></script>
<script src="https://blog.example/wp-includes/js/dist/vendor/lodash.min.js?ver=4.17.21" id="lodash-js"></script>
<script src='https://blog.example/wp-includes/js/comment-reply.min.js?ver=6.4.2' id='comment-reply-js' async='async'></script>
</head>"""
    assert components(html) == [
        ("CMS", "WordPress", "6.4.2"),
        ("Framework", "PHP", None),
        ("JavaScript Library", "Lodash", "4.17.21"),
        ("JavaScript Library", "jQuery", "3.7.1"),
        ("JavaScript Library", "jQuery UI", "1.13.2"),
    ]


def test_most_specific_version_is_kept() -> None:
    html = ('<script src="/js/jquery.js"></script>'
            '<script src="https://code.jquery.com/jquery-1.12.4.min.js"></script>'
            '<script src="https://code.jquery.com/jquery-3.6.js"></script>')
    assert components(html) == [("JavaScript Library", "jQuery", "1.12.4")]


def test_jquery_ui_implies_jquery() -> None:
    html = '<script src="https://code.jquery.com/ui/1.13.2/jquery-ui.min.js"></script>'
    assert components(html) == [("JavaScript Library", "jQuery", None), ("JavaScript Library", "jQuery UI", "1.13.2")]


def test_frameworks_from_script_sources_and_markup() -> None:
    html = """<html><head>
<link rel="stylesheet" href="https://cdn.jsdelivr.net/npm/bootstrap@5.3.2/dist/css/bootstrap.min.css">
<link rel="stylesheet" href="https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.4.0/css/all.min.css">
<link href="https://fonts.googleapis.com/css2?family=Roboto:wght@400;700&amp;display=swap" rel="stylesheet">
<script src="https://unpkg.com/react@18.2.0/umd/react.production.min.js" crossorigin></script>
<script src="https://unpkg.com/vue@3.3.4/dist/vue.global.prod.js"></script>
<script src="/vendor/modernizr-2.8.3.min.js"></script>
</head><body><app-root _nghost-ng-c123="" ng-version="17.0.8"></app-root></body></html>"""
    assert components(html) == [
        ("Font Script", "Font Awesome", "6.4.0"),
        ("Font Script", "Google Font API", None),
        ("Framework", "Angular", "17.0.8"),
        ("Framework", "Bootstrap", "5.3.2"),
        ("Framework", "React", "18.2.0"),
        ("Framework", "Vue.js", "3.3.4"),
        ("JavaScript Library", "Modernizr", "2.8.3"),
    ]


def test_services_from_snippets_script_sources_and_request_urls() -> None:
    html = """<script src="https://js.stripe.com/v3"></script>
<script src="https://www.google.com/recaptcha/api.js" async defer></script>
<div class="g-recaptcha" data-sitekey="6Lc_aX0UAAAAABx"></div>
<div class="form h-captcha" data-sitekey="10000000-ffff-ffff-ffff-000000000001"></div>"""
    urls = ("https://www.googletagmanager.com/gtm.js?id=GTM-K9X2QPL",  # inserted by the GTM snippet
            "https://static.hotjar.com/c/hotjar-3456712.js?sv=6",
            "https://connect.facebook.net/en_US/fbevents.js")
    assert components(html, urls=urls) == [
        ("Analytics Service", "Hotjar", None),
        ("CAPTCHA", "hCaptcha", None),
        ("CAPTCHA", "reCAPTCHA", None),
        ("Payment Processor", "Stripe", "3"),
        ("Tag Mgmt", "Google Tag Manager", None),
        ("Tracking Pixel", "Facebook Pixel", None),
    ]


def test_cookie_names_and_page_url() -> None:
    assert components(cookies=("PHPSESSID", "_ga", "_shopify_y")) == [
        ("Analytics Service", "Google Analytics", None),
        ("Ecommerce", "Shopify", None),
        ("Framework", "PHP", None),
    ]
    assert components(page_url="https://outdoor-gear.myshopify.com/products/tent") == [("Ecommerce", "Shopify", None)]
    assert components(page_url="https://shop.example/myshopify.com") == []


def test_the_crawl_tests_tracked_page() -> None:
    urls = ("https://tracked-nn.com/", "https://www.googletagmanager.com/gtag/js?id=G-TRK4EXAMPLE",
            "https://cdn-jq.net/jquery-3.6.0.min.js")
    assert extract_components(TRACKED_PAGE, {"Server": "nginx/1.24.0", "X-Powered-By": "PHP/8.2.1"}, urls,
                              ["session_id", "visited", "uid"]) == [
        ComponentRecord("Analytics Service", "Google Analytics", None),
        ComponentRecord("CMS", "WordPress", "6.4.2"),
        ComponentRecord("Framework", "PHP", "8.2.1"),
        ComponentRecord("JavaScript Library", "jQuery", "3.6.0"),
        ComponentRecord("Server", "nginx", "1.24.0"),
        ComponentRecord("Tag Mgmt", "Google Tag Manager", None),
        ComponentRecord("Tracking Pixel", "Facebook Pixel", None),
    ]


def test_look_alikes_and_commented_out_tags_are_not_components() -> None:
    html = """<p>We migrated from WordPress to a static site; jquery-3.6.0.min.js is no longer used.</p>
<script src="/js/jquery-migrate-3.4.1.min.js"></script>
<!-- <script src="/js/old/jquery-1.8.3.min.js"></script> <meta name="generator" content="Joomla! 1.5"> -->
<script src="/js/app-bootstrap-loader.mjs"></script>
<a href="https://other.example/wp-content/uploads/report.pdf">report</a>"""
    assert components(html, {"Server": "gunicorn", "X-Powered-By": "Next.js"}) == []


def test_every_bundled_pattern_compiles() -> None:
    data = json.loads(BUNDLED_FINGERPRINTS.read_text(encoding="utf-8"))
    patterns = [p for spec in data["technologies"].values() for field in ("scriptSrc", "html", "url")
                for p in spec.get(field, [])]
    patterns += [p for spec in data["technologies"].values() for field in ("headers", "meta")
                 for p in spec.get(field, {}).values()]
    assert len(patterns) > 60
    for pattern in patterns:
        re.compile(pattern.split("\\;")[0])


# --- an external data set in the webappanalyzer layout ------------------------------------

CATEGORIES = {
    "1": {"name": "CMS", "priority": 1},
    "22": {"name": "Web servers", "priority": 8},
    "27": {"name": "Programming languages", "priority": 5},
    "59": {"name": "JavaScript libraries", "priority": 9},
    "87": {"name": "WordPress plugins", "priority": 10},
}
TECHNOLOGIES = {
    "n.json": {"Nginx": {"cats": [22], "website": "https://nginx.org",
                         "headers": {"Server": "nginx(?:/([\\d.]+))?\\;version:\\1"}}},
    "p.json": {"PHP": {"cats": [27], "website": "https://php.net", "cookies": {"PHPSESSID": ""}}},
    "w.json": {
        "WordPress": {"cats": [1], "website": "https://wordpress.org", "implies": "PHP\\;confidence:50",
                      "meta": {"generator": ["^WordPress(?: ([\\d.]+))?\\;version:\\1"]}},
        "Wix": {"cats": [1], "website": "https://wix.com", "excludes": "WordPress",
                "cookies": {"svSession": "", "hs": "^abc"}},
    },
    "y.json": {"Yoast SEO": {"cats": [87], "website": "https://yoast.com", "requires": "WordPress",
                             "html": "<!-- This site is optimized with the Yoast SEO plugin v([\\d.]+)\\;version:\\1"}},
    "j.json": {
        "Joomla plugin": {"cats": [87], "website": "https://example.org", "requires": "Joomla",
                          "html": "optimized with the Yoast"},
        "Legacy lib": {"cats": [59], "website": "https://example.org",
                       "scriptSrc": ["(?<bad>legacy)", "legacy(?:-([\\d.]+))?\\.js\\;version:\\1?\\1:classic"]},
    },
    "_blacklist.json": {"Withdrawn": {"cats": [59], "website": "https://example.org", "html": "<p"}},
}
EXTERNAL_PAGE = ("<head><meta name=generator content='WordPress 6.4.2'>"
                 "<!-- This site is optimized with the Yoast SEO plugin v21.7 - https://yoast.com/wordpress/plugins/seo/ -->"
                 '<script src="https://code.jquery.com/jquery-3.6.0.min.js"></script>'
                 '<script src="/js/legacy.js"></script></head><p>hello</p>')
EXTERNAL_EXPECTED = [
    ComponentRecord("CMS", "WordPress", "6.4.2"),
    ComponentRecord("Framework", "PHP", None),
    ComponentRecord("JavaScript Library", "Legacy lib", "classic"),
    ComponentRecord("Server", "Nginx", "1.25.3"),
    ComponentRecord("WordPress plugins", "Yoast SEO", "21.7"),
]


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A tiny webappanalyzer checkout: src/categories.json and src/technologies/*.json."""
    technologies = tmp_path / "webappanalyzer" / "src" / "technologies"
    technologies.mkdir(parents=True)
    (technologies.parent / "categories.json").write_text(json.dumps(CATEGORIES), encoding="utf-8")
    for name, content in TECHNOLOGIES.items():
        (technologies / name).write_text(json.dumps(content), encoding="utf-8")
    return tmp_path / "webappanalyzer"


@pytest.mark.parametrize("where", ["", "src", "src/technologies"])
def test_external_data_set_replaces_the_bundled_one(checkout: Path, where: str) -> None:
    # jQuery is only in the bundled set; Wix's cookie with a value pattern cannot match.
    assert extract_components(EXTERNAL_PAGE, {"Server": "nginx/1.25.3"}, (), ["hs"],
                              fingerprints=str(checkout / where)) == EXTERNAL_EXPECTED


def test_external_requires_and_excludes(checkout: Path) -> None:
    data_set = str(checkout)
    yoast_only = "<!-- This site is optimized with the Yoast SEO plugin v21.7 -->"
    assert extract_components(yoast_only, {}, fingerprints=data_set) == []  # requires WordPress, which is not there
    # Wix excludes WordPress, so neither WordPress's implied PHP nor the plugin requiring it is reported.
    assert extract_components(EXTERNAL_PAGE, {}, (), ["svSession"], fingerprints=data_set) == [
        ComponentRecord("CMS", "Wix", None), ComponentRecord("JavaScript Library", "Legacy lib", "classic")]


def test_external_single_file(tmp_path: Path) -> None:
    merged = {k: v for content in TECHNOLOGIES.values() for k, v in content.items() if k != "Withdrawn"}
    path = tmp_path / "technologies.json"
    path.write_text(json.dumps({"categories": CATEGORIES, "technologies": merged}), encoding="utf-8")
    assert extract_components(EXTERNAL_PAGE, {"Server": "nginx/1.25.3"}, fingerprints=str(path)) == EXTERNAL_EXPECTED


def test_unreadable_external_data_set_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FingerprintError):
        extract_components("", {}, fingerprints=str(tmp_path / "missing"))
    (tmp_path / "broken.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(FingerprintError):
        extract_components("", {}, fingerprints=str(tmp_path / "broken.json"))
    (tmp_path / "other.json").write_text('{"categories": {"1": "CMS"}, "technologies": {}}', encoding="utf-8")
    with pytest.raises(FingerprintError, match="schema"):
        extract_components("", {}, fingerprints=str(tmp_path / "other.json"))
