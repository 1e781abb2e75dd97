"""Tracker IDs (analytics, tag-manager and pixel accounts) found in a page and its requests.

Type names are PassiveTotal's ``attributeType`` names (shared/passivetotal-reference.md).
PassiveTotal predates GA4 and had no type for Google Ads or Hotjar, so hostpairs adds three in
the same style:

* ``GoogleAnalyticsMeasurementId``: a GA4 measurement ID, ``G-XXXXXXXXXX``;
* ``GoogleAdsId``: a Google Ads tag ID, ``AW-123456789``;
* ``HotjarId``: a Hotjar site ID.

Values: ``GoogleAnalyticsTrackingId`` is a Universal Analytics ID (``UA-12345-1``) and
``GoogleAnalyticsAccountNumber`` its account part (``UA-12345``), derived from it.
``FacebookId`` is the Meta pixel ID. ``NewRelicId`` is the browser agent's ``applicationID``:
the licence key is shared by every application of an account, the application ID names the site.

Precision: an ID is reported only in a context the vendor's own snippet or endpoint puts it in
(a ``gtag('config', ...)`` call, a ``collect`` hit's ``tid`` parameter, a pixel URL, ...), never
because text merely looks like one: "UA-123 certified", a ``g-container`` class or a product code
``G-1234ABCD`` in prose are not trackers. Placeholder IDs (``G-XXXXXXXXXX``, ``GTM-XXXX``) left in
unconfigured themes are ignored. The whole HTML is scanned (inline scripts, ``<noscript>`` pixels,
attributes, and commented-out snippets, whose IDs still name the site's accounts) after undoing
the escapes IDs hide behind (``&amp;``, ``&#038;``, ``\\/``, ``\\u0026``, backslash-escaped
quotes); request URLs are scanned as they are.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from hostpairs.extractors.records import TrackerRecord


# --- building blocks of the contexts ----------------------------------------------------

_Q = r"""\\?['"]"""  # a quote, possibly backslash-escaped inside a JS/JSON string
_OPTIONAL_Q = rf"(?:{_Q})?"
_END = r"(?![\w-])"  # an ID ends where the token does
_OTHER_PARAMS = r"""(?:[^\s"'<>]*&)?"""  # URL parameters before the one of interest
_PARAMS = rf"\?{_OTHER_PARAMS}"
_NOT_PLACEHOLDER = rf"(?!X+{_END})"

_UA = rf"(UA-\d{{4,10}}-\d{{1,4}}){_END}"
_GA4 = rf"(G-{_NOT_PLACEHOLDER}[A-Z0-9]{{6,14}}){_END}"
_AW = rf"(AW-\d{{6,12}}){_END}"
_GTM = rf"(GTM-{_NOT_PLACEHOLDER}[A-Z0-9]{{4,10}}){_END}"
_NUMBER = r"(\d{3,20})(?!\d)"  # numeric site/counter/pixel IDs


def _gtag(tag_id: str) -> tuple[str, ...]:
    """A Google tag ID (UA-, G-, AW-) configured through gtag.js, or loading gtag.js."""
    return (
        rf"gtag\(\s*{_Q}config{_Q}\s*,\s*{_Q}{tag_id}{_Q}",
        rf"googletagmanager\.com/gtag/js{_PARAMS}id={tag_id}",
    )


def _collect(tag_id: str) -> str:
    """A Google Analytics hit (Measurement Protocol v1 or v2) carrying the ID in ``tid``."""
    hosts = r"(?:google-analytics\.com|analytics\.google\.com|stats\.g\.doubleclick\.net)"
    return rf"{hosts}/(?:[gjr]/)?collect{_PARAMS}tid={tag_id}"


# One entry per tracker kind: its type and the contexts its ID appears in. Every pattern has
# exactly one capture group, the ID.
_KINDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("GoogleAnalyticsTrackingId", (
        *_gtag(_UA),
        _collect(_UA),
        rf"\(\s*{_Q}create{_Q}\s*,\s*{_Q}{_UA}{_Q}",  # analytics.js: ga('create', 'UA-…', 'auto')
        rf"\(\s*{_Q}create{_Q}\s*,\s*\{{[^}}]*?trackingId{_OPTIONAL_Q}\s*:\s*{_Q}{_UA}{_Q}",
        rf"_setAccount{_Q}\s*,\s*{_Q}{_UA}{_Q}",  # ga.js: _gaq.push(['_setAccount', 'UA-…'])
        rf"_gat\._(?:get|create)Tracker\(\s*{_Q}{_UA}{_Q}",  # older ga.js
        rf"_uacct\s*=\s*{_Q}{_UA}{_Q}",  # urchin.js
        rf"/__utm\.gif{_PARAMS}utmac={_UA}",  # ga.js hit
    )),
    ("GoogleAnalyticsMeasurementId", (*_gtag(_GA4), _collect(_GA4))),
    ("GoogleAdsId", (
        *_gtag(_AW),
        # gtag('event', 'conversion', {'send_to': 'AW-…/label'})
        rf"send_to{_OPTIONAL_Q}\s*:\s*{_Q}{_AW}(?:/[\w-]+)?{_Q}",
    )),
    ("GoogleTagManagerId", (
        rf"googletagmanager\.com/(?:gtm\.js|ns\.html){_PARAMS}id={_GTM}",  # script and noscript iframe
        rf"\(\s*window\s*,\s*document\s*,\s*{_Q}script{_Q}\s*,\s*{_Q}[\w$]+{_Q}\s*,\s*{_Q}{_GTM}{_Q}\s*\)",
    )),
    ("FacebookId", (
        rf"fbq\(\s*{_Q}init{_Q}\s*,\s*{_OPTIONAL_Q}{_NUMBER}",
        rf"facebook\.com/tr/?{_PARAMS}id={_NUMBER}",  # noscript pixel
        rf"connect\.facebook\.net/signals/config/{_NUMBER}",  # fetched by fbevents.js
    )),
    ("NewRelicId", (
        rf"NREUM\.(?:info|loader_config)\s*=\s*\{{[^}}]*?\bapplicationID{_OPTIONAL_Q}\s*:\s*{_OPTIONAL_Q}{_NUMBER}",
        rf"bam[\w.-]*\.nr-data\.net/(?:[a-z]+/)?\d+/[\w-]+{_PARAMS}a={_NUMBER}",  # beacon hits
    )),
    ("YandexMetricaCounterId", (
        rf"ym\(\s*{_NUMBER}\s*,\s*{_Q}init{_Q}",
        rf"new Ya\.Metrika2?\(\s*\{{\s*{_OPTIONAL_Q}id{_OPTIONAL_Q}\s*:\s*{_NUMBER}",
        rf"mc\.yandex\.[a-z.]+/(?:watch|webvisor)/{_NUMBER}",
        rf"mc\.yandex\.[a-z.]+/metrika/tag\.js{_PARAMS}id={_NUMBER}",
    )),
    ("MixpanelId", (
        rf"mixpanel\.init\(\s*{_Q}([0-9a-f]{{32}}){_Q}",
        rf"mixpanel\.com/decide/?{_PARAMS}token=([0-9a-f]{{32}}){_END}",
    )),
    ("OptimizelyId", (rf"cdn\.optimizely\.com/js/{_NUMBER}\.js",)),
    ("ClickyId", (
        rf"clicky_site_ids\.push\(\s*{_OPTIONAL_Q}{_NUMBER}",
        rf"clicky\.init\(\s*{_OPTIONAL_Q}{_NUMBER}",
        rf"static\.getclicky\.com/(?:js/)?{_NUMBER}\.js",
        rf"in\.getclicky\.com/{_NUMBER}ns\.gif",
        rf"in\.getclicky\.com/in\.php{_PARAMS}site_id={_NUMBER}",
        # <script async data-id="101" src="//static.getclicky.com/js">, in either attribute order
        rf"""<script\b[^>]*?\sdata-id=["']{_NUMBER}["'][^>]*?\ssrc=["'](?:https?:)?//static\.getclicky\.com/js["']""",
        rf"""<script\b[^>]*?\ssrc=["'](?:https?:)?//static\.getclicky\.com/js["'][^>]*?\sdata-id=["']{_NUMBER}["']""",
    )),
    ("AddThisPubId", (
        rf"addthis_widget\.js[#?]{_OTHER_PARAMS}pubid=([\w-]+)",  # pubid in the fragment or query
        rf"addthis_config\s*=\s*\{{[^}}]*?\bpubid{_OPTIONAL_Q}\s*:\s*{_Q}([\w-]+){_Q}",
    )),
    ("WhosAmungUsId", (
        rf"_wau\.push\(\s*\[\s*{_Q}\w+{_Q}\s*,\s*{_Q}([a-z0-9]{{6,16}}){_Q}",  # current snippet
        rf"WAU_\w+\(\s*{_Q}([a-z0-9]{{6,16}}){_Q}",  # older WAU_small('…'), WAU_tab('…', …)
        rf"whos\.amung\.us/(?:show|s?widget|stats)/([a-z0-9]{{6,16}}){_END}",
        rf"maps\.amung\.us/ping/([a-z0-9]{{6,16}}){_END}",
        rf"whos\.amung\.us/pingjs/{_PARAMS}k=([a-z0-9]{{6,16}}){_END}",
    )),
    ("HotjarId", (
        rf"hjid{_OPTIONAL_Q}\s*:\s*{_OPTIONAL_Q}{_NUMBER}",  # h._hjSettings={hjid:1234567,hjsv:6}
        rf"static\.hotjar\.com/c/hotjar-{_NUMBER}\.js",
    )),
)

_ACCOUNT_NUMBER = "GoogleAnalyticsAccountNumber"
_TRACKING_ID = "GoogleAnalyticsTrackingId"

_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (attribute_type, re.compile(pattern)) for attribute_type, patterns in _KINDS for pattern in patterns
)

TRACKER_TYPES: tuple[str, ...] = tuple(sorted({t for t, _ in _KINDS} | {_ACCOUNT_NUMBER}))
"""Every attributeType extract_trackers can report."""

_AMPERSAND = re.compile(r"&(?:amp|#0*38|#x0*26);|\\u0026|\\x26", re.IGNORECASE)


def _unescape(html: str) -> str:
    """Undo the escapes that hide URL parameters and paths in markup and JS strings."""
    return _AMPERSAND.sub("&", html.replace("\\/", "/"))


def _scan(text: str) -> set[TrackerRecord]:
    return {
        TrackerRecord(attribute_type, match.group(1))
        for attribute_type, pattern in _PATTERNS
        for match in pattern.finditer(text)
    }


def extract_trackers(html: str, request_urls: Iterable[str] = ()) -> list[TrackerRecord]:
    """Tracker IDs in a page's HTML (final DOM or response body) and in the URLs it requested.

    Deduplicated and sorted by type, then value."""
    found = _scan(_unescape(html)) | _scan("\n".join(request_urls))
    found |= {
        TrackerRecord(_ACCOUNT_NUMBER, record.attribute_value.rsplit("-", 1)[0])
        for record in found
        if record.attribute_type == _TRACKING_ID
    }
    return sorted(found)
