"""Tracker IDs from page HTML and request URLs (extractors.trackers)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hostpairs.extractors.records import TrackerRecord
from hostpairs.extractors.trackers import TRACKER_TYPES, extract_trackers
from tests.virtual_sites import TRACKED_PAGE

FIXTURES = Path(__file__).parent / "fixtures" / "trackers"


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def pairs(html: str, request_urls: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    return [(r.attribute_type, r.attribute_value) for r in extract_trackers(html, request_urls)]


# --- vendor snippets, as sites paste them -----------------------------------------------


def test_gtag_snippet_with_ga4_universal_analytics_and_google_ads() -> None:
    assert pairs(fixture("gtag.html")) == [
        ("GoogleAdsId", "AW-987654321"),
        ("GoogleAnalyticsAccountNumber", "UA-48291734"),
        ("GoogleAnalyticsMeasurementId", "G-8RTX3WQ5ZP"),
        ("GoogleAnalyticsTrackingId", "UA-48291734-1"),
    ]


def test_analytics_js_create_calls_including_named_and_object_forms() -> None:
    assert pairs(fixture("analytics_js.html")) == [
        ("GoogleAnalyticsAccountNumber", "UA-1122334"),
        ("GoogleAnalyticsAccountNumber", "UA-77001234"),
        ("GoogleAnalyticsTrackingId", "UA-1122334-5"),
        ("GoogleAnalyticsTrackingId", "UA-1122334-9"),
        ("GoogleAnalyticsTrackingId", "UA-77001234-2"),
    ]


def test_ga_js_set_account_and_legacy_get_tracker() -> None:
    assert pairs(fixture("ga_js.html")) == [
        ("GoogleAnalyticsAccountNumber", "UA-2345678"),
        ("GoogleAnalyticsAccountNumber", "UA-3456789"),
        ("GoogleAnalyticsTrackingId", "UA-2345678-1"),
        ("GoogleAnalyticsTrackingId", "UA-3456789-2"),
    ]


def test_urchin_uacct() -> None:
    html = ('<script src="http://www.google-analytics.com/urchin.js"></script>'
            '<script>_uacct = "UA-98765-1"; urchinTracker();</script>')
    assert pairs(html) == [("GoogleAnalyticsAccountNumber", "UA-98765"), ("GoogleAnalyticsTrackingId", "UA-98765-1")]


def test_gtm_snippet_and_noscript_iframes() -> None:
    assert pairs(fixture("gtm.html")) == [
        ("GoogleTagManagerId", "GTM-5NSQ7RT"),
        ("GoogleTagManagerId", "GTM-K9X2QPL"),
    ]


def test_facebook_pixel_snippet_with_noscript_image_reported_once() -> None:
    assert pairs(fixture("facebook_pixel.html")) == [("FacebookId", "704512398761234")]


def test_facebook_noscript_pixel_alone_even_with_wordpress_escaped_ampersands() -> None:
    html = ('<noscript><img height="1" width="1" style="display:none" '
            'src="https://www.facebook.com/tr?ev=PageView&#038;id=556677889900112&#038;noscript=1" /></noscript>')
    assert pairs(html) == [("FacebookId", "556677889900112")]


def test_new_relic_application_id_from_both_loader_forms_not_account_or_agent() -> None:
    assert pairs(fixture("new_relic.html")) == [("NewRelicId", "12345678"), ("NewRelicId", "601234567")]


def test_yandex_metrica_ym_init_watch_pixel_and_legacy_constructor() -> None:
    assert pairs(fixture("yandex_metrica.html")) == [
        ("YandexMetricaCounterId", "24681357"),
        ("YandexMetricaCounterId", "93456781"),
    ]


def test_hotjar_settings() -> None:
    assert pairs(fixture("hotjar.html")) == [("HotjarId", "3456712")]


def test_mixpanel_init() -> None:
    html = ('<script type="text/javascript">'
            '(function(f,b){if(!b.__SV){var e,g,i,h;window.mixpanel=b;}})(document,window.mixpanel||[]);'
            'mixpanel.init("0123456789abcdef0123456789abcdef", {debug: false, track_pageview: true});</script>')
    assert pairs(html) == [("MixpanelId", "0123456789abcdef0123456789abcdef")]


def test_optimizely_snippet() -> None:
    html = '<script src="https://cdn.optimizely.com/js/20184830321.js"></script>'
    assert pairs(html) == [("OptimizelyId", "20184830321")]


def test_clicky_classic_snippet_and_noscript() -> None:
    html = ('<script>var clicky_site_ids = clicky_site_ids || []; clicky_site_ids.push(100812345);</script>'
            '<script async src="//static.getclicky.com/js"></script>'
            '<noscript><p><img alt="Clicky" width="1" height="1" src="//in.getclicky.com/100812345ns.gif" /></p></noscript>')
    assert pairs(html) == [("ClickyId", "100812345")]


@pytest.mark.parametrize("html", [
    '<script async data-id="101398765" src="//static.getclicky.com/js"></script>',
    '<script async src="https://static.getclicky.com/js" data-id="101398765"></script>',
    '<script src="//static.getclicky.com/101398765.js" type="text/javascript"></script>',
])
def test_clicky_data_id_and_per_site_script(html: str) -> None:
    assert pairs(html) == [("ClickyId", "101398765")]


def test_addthis_widget_pubid_and_config() -> None:
    html = ('<script>var addthis_config = {"data_track_addressbar": false, pubid: "ra-4f0000aa11bb22cc"};</script>'
            '<script type="text/javascript" src="//s7.addthis.com/js/300/addthis_widget.js#pubid=ra-5a1b2c3d4e5f6789"></script>')
    assert pairs(html) == [("AddThisPubId", "ra-4f0000aa11bb22cc"), ("AddThisPubId", "ra-5a1b2c3d4e5f6789")]


def test_whos_amung_us_current_and_older_widgets() -> None:
    html = ('<script id="_wau7qx">var _wau = _wau || []; _wau.push(["small", "k3v9qz8w2m1p", "7qx"]);</script>'
            '<script async src="//waust.at/s.js"></script>'
            '<script type="text/javascript" src="http://widgets.amung.us/tab.js"></script>'
            "<script type=\"text/javascript\">WAU_tab('x4e8rt6yb2nd', 'left-middle')</script>"
            '<a href="http://whos.amung.us/stats/p7wq3zk9d5ha/"><img src="http://whos.amung.us/widget/p7wq3zk9d5ha.png" alt="" /></a>')
    assert pairs(html) == [
        ("WhosAmungUsId", "k3v9qz8w2m1p"),
        ("WhosAmungUsId", "p7wq3zk9d5ha"),
        ("WhosAmungUsId", "x4e8rt6yb2nd"),
    ]


def test_snippets_inside_json_strings() -> None:
    html = ('<script id="__NEXT_DATA__" type="application/json">{"props":{"head":"<script async '
            'src=\\"https:\\/\\/www.googletagmanager.com\\/gtag\\/js?id=G-JSON123456\\"><\\/script>'
            '<script>gtag(\\"config\\", \\"UA-4455667-3\\");<\\/script>"}}</script>')
    assert pairs(html) == [
        ("GoogleAnalyticsAccountNumber", "UA-4455667"),
        ("GoogleAnalyticsMeasurementId", "G-JSON123456"),
        ("GoogleAnalyticsTrackingId", "UA-4455667-3"),
    ]


def test_the_crawl_tests_tracked_page() -> None:
    assert extract_trackers(TRACKED_PAGE) == [
        TrackerRecord("FacebookId", "1234567890123456"),
        TrackerRecord("GoogleAnalyticsAccountNumber", "UA-7654321"),
        TrackerRecord("GoogleAnalyticsMeasurementId", "G-TRK4EXAMPLE"),
        TrackerRecord("GoogleAnalyticsTrackingId", "UA-7654321-2"),
        TrackerRecord("GoogleTagManagerId", "GTM-TRK4EX"),
    ]


# --- request URLs -----------------------------------------------------------------------

REQUEST_URLS = (
    "https://www.googletagmanager.com/gtag/js?id=G-REQ1234567&l=dataLayer&cx=c",
    "https://region1.google-analytics.com/g/collect?v=2&tid=G-REQ7654321&gtm=45je4a20v&_p=1712&cid=1.2"
    "&ul=en-us&sr=1920x1080&dl=https%3A%2F%2Fshop.example%2F%3Ftid%3DG-ENCODED999&dt=Home&en=page_view",
    "https://www.google-analytics.com/collect?v=1&_v=j101&a=1&t=pageview&_s=1&dl=https%3A%2F%2Fshop.example%2F"
    "&ul=en-us&de=UTF-8&dt=Home&sd=24-bit&sr=1920x1080&vp=1920x947&je=0&_u=IEBAAEABAAAAAC~&jid=&gjid="
    "&cid=1.2&tid=UA-55555-3&_gid=1.2&z=1",
    "https://ssl.google-analytics.com/__utm.gif?utmwv=5.7.2&utms=1&utmn=123&utmhn=shop.example&utmac=UA-66666-1&utmcc=x",
    "https://www.googletagmanager.com/gtag/js?id=AW-123456789",
    "https://www.googletagmanager.com/gtm.js?id=GTM-REQ99AB&l=dataLayer",
    "https://www.facebook.com/tr/?id=987654321098765&ev=PageView&dl=https%3A%2F%2Fshop.example%2F",
    "https://connect.facebook.net/signals/config/987654321098765?v=2.9.140&r=stable",
    "https://mc.yandex.ru/watch/44556677?wmode=7&page-url=https%3A%2F%2Fshop.example%2F",
    "https://static.hotjar.com/c/hotjar-3344556.js?sv=6",
    "https://bam.nr-data.net/1/NRJS-0123456789abcdef012?a=601234999&sa=1&v=1.247.0&t=Unnamed%20Transaction",
    "https://cdn.optimizely.com/js/20184830999.js",
    "https://in.getclicky.com/in.php?site_id=101234567&res=1920x1080&lang=en",
    "https://whos.amung.us/pingjs/?k=qs7w67bs34sy&t=Home&c=s&y=&a=0&r=1234",
    "https://decide.mixpanel.com/decide/?verbose=1&version=3&lib=web&token=fedcba9876543210fedcba9876543210",
    "https://s7.addthis.com/js/300/addthis_widget.js#pubid=ra-5f1234567890abcd",
)


def test_every_kind_is_found_from_request_urls_alone() -> None:
    assert pairs("", REQUEST_URLS) == [
        ("AddThisPubId", "ra-5f1234567890abcd"),
        ("ClickyId", "101234567"),
        ("FacebookId", "987654321098765"),
        ("GoogleAdsId", "AW-123456789"),
        ("GoogleAnalyticsAccountNumber", "UA-55555"),
        ("GoogleAnalyticsAccountNumber", "UA-66666"),
        ("GoogleAnalyticsMeasurementId", "G-REQ1234567"),
        ("GoogleAnalyticsMeasurementId", "G-REQ7654321"),
        ("GoogleAnalyticsTrackingId", "UA-55555-3"),
        ("GoogleAnalyticsTrackingId", "UA-66666-1"),
        ("GoogleTagManagerId", "GTM-REQ99AB"),
        ("HotjarId", "3344556"),
        ("MixpanelId", "fedcba9876543210fedcba9876543210"),
        ("NewRelicId", "601234999"),
        ("OptimizelyId", "20184830999"),
        ("WhosAmungUsId", "qs7w67bs34sy"),
        ("YandexMetricaCounterId", "44556677"),
    ]


def test_html_and_request_urls_are_merged_and_deduplicated() -> None:
    urls = ("https://www.googletagmanager.com/gtag/js?id=G-8RTX3WQ5ZP",
            "https://www.google-analytics.com/g/collect?v=2&tid=G-8RTX3WQ5ZP&en=page_view",
            "https://www.google-analytics.com/g/collect?v=2&tid=G-SECOND1234&en=page_view")
    records = extract_trackers(fixture("gtag.html"), urls)
    assert [r.attribute_value for r in records if r.attribute_type == "GoogleAnalyticsMeasurementId"] == [
        "G-8RTX3WQ5ZP", "G-SECOND1234"]
    assert records == sorted(set(records))


# --- look-alikes that are not trackers ----------------------------------------------------


def test_look_alikes_in_prose_css_user_agents_placeholders_and_docs_are_not_trackers() -> None:
    assert pairs(fixture("lookalikes.html")) == []


@pytest.mark.parametrize("url", [
    "https://shop.example/search?q=UA-12345-1&tid=UA-12345-1&id=GTM-ABCD123",  # not a vendor endpoint
    "https://www.google-analytics.com/g/collect?v=2&tid=G-XXXXXXXXXX",  # placeholder
    "https://region1.google-analytics.com/g/collect?v=2&dl=https%3A%2F%2Fx.example%2F%3Ftid%3DG-AAAA1111BB",
    "https://www.facebook.com/sharer/sharer.php?u=https%3A%2F%2Fx.example&id=123456789012345",
    "https://mc.yandex.ru/metrika/",
    "https://www.googletagmanager.com/gtag/js?id=G-XXXXXXXXXX",
    "https://www.google-analytics.com/collect?v=1&tid=UA-12345-123456",  # never truncated to UA-12345-1234
    "https://www.googletagmanager.com/gtm.js?id=GTM-TOOLONG12345",
    "https://cdn.example/js/tracking.js?ua=Mozilla%2F5.0%20UA-1234-1",
])
def test_look_alike_request_urls_are_not_trackers(url: str) -> None:
    assert extract_trackers("", [url]) == []


def test_empty_page() -> None:
    assert extract_trackers("") == []


def test_tracker_types_are_the_passivetotal_names_plus_three_new_ones() -> None:
    assert set(TRACKER_TYPES) == {
        "GoogleAnalyticsTrackingId", "GoogleAnalyticsAccountNumber", "GoogleTagManagerId", "FacebookId",
        "NewRelicId", "YandexMetricaCounterId", "MixpanelId", "OptimizelyId", "ClickyId", "AddThisPubId",
        "WhosAmungUsId", "GoogleAnalyticsMeasurementId", "GoogleAdsId", "HotjarId",
    }
