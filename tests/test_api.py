"""The HTTP API, queried with PassiveTotal's official client as analysts' tools do."""

from __future__ import annotations

import hashlib
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from passivetotal.libs.attributes import AttributeRequest
from passivetotal.libs.dns import DnsRequest

from hostpairs.api.server import make_server
from hostpairs.extractors.observations import CookieObservation, PageCapture, RequestObservation
from hostpairs.storage.db import open_database, session_factory
from hostpairs.crawler.recording import record_visit
from tests.conftest import sqlite_url

PAGE = "https://help.shop-a.com/"
PAGE_HTML = """<html><head><script>gtag('config', 'UA-61048133-2');</script>
<meta name="generator" content="WordPress 6.4.2"></head><body></body></html>"""


def capture(started_at: float) -> PageCapture:
    return PageCapture(
        PAGE, PAGE, "browser", started_at, started_at + 5, html=PAGE_HTML,
        response_headers={"server": "nginx/1.24.0"},
        requests=[
            RequestObservation(PAGE, "document", frame_chain=("",), is_main_frame=True, status=200, remote_ip="198.51.100.7"),
            RequestObservation("https://js.stripe-pay.com/v3/", "script", frame_chain=(PAGE,), remote_ip="203.0.113.9"),
        ],
        cookies=[CookieObservation("_ga", ".shop-a.com"), CookieObservation("uid", "tracker-b.net")],
    )


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    sessions = session_factory(open_database(sqlite_url(tmp_path_factory.mktemp("api"))))
    record_visit(sessions, capture(1_471_667_634))  # 2016-08-20 04:33:54
    record_visit(sessions, capture(1_471_839_390))
    server = make_server(sessions, "127.0.0.1", 0, {"analyst@example.com": "s3cret"})
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def client(cls: type, base: str, key: str = "s3cret"):  # noqa: ANN201
    c = cls("analyst@example.com", key)
    c.api_base = f"{base}/v2"
    return c


def test_host_pairs_with_the_official_client(api: str) -> None:
    response = client(AttributeRequest, api).get_host_attribute_pairs(query="stripe-pay.com", direction="parents")
    assert response == {"totalRecords": 1, "success": True, "facets": [], "results": [
        {"parent": "help.shop-a.com", "child": "js.stripe-pay.com", "cause": "script.src",
         "firstSeen": "2016-08-20 04:33:54", "lastSeen": "2016-08-22 04:16:30"}]}
    children = client(AttributeRequest, api).get_host_attribute_pairs(query="shop-a.com", direction="children",
                                                                      start="2016-08-23")
    assert children["totalRecords"] == 0


def test_trackers_components_cookies_and_search(api: str) -> None:
    c = client(AttributeRequest, api)
    trackers = c.get_host_attribute_trackers(query="help.shop-a.com")
    assert {(r["attributeType"], r["attributeValue"]) for r in trackers["results"]} == {
        ("GoogleAnalyticsTrackingId", "UA-61048133-2"), ("GoogleAnalyticsAccountNumber", "UA-61048133")}
    assert trackers["totalRecords"] == 2 and len(trackers["results"]) == 2 and trackers["facets"] == []
    search = c.search_trackers(query="UA-61048133-2", type="GoogleAnalyticsTrackingId")
    assert search == {"totalRecords": 1, "success": True, "results": [
        {"entity": "help.shop-a.com", "firstSeen": "2016-08-20 04:33:54", "lastSeen": "2016-08-22 04:16:30"}]}
    components = c.get_host_attribute_components(query="shop-a.com")["results"]
    assert {("Server", "nginx", "1.24.0"), ("CMS", "WordPress", "6.4.2")} <= {
        (r["category"], r["label"], r["version"]) for r in components}
    cookies = c.get_host_attribute_cookies(query="shop-a.com")["results"]
    assert sorted((r["cookieName"], r["cookieDomain"]) for r in cookies) == [("_ga", "shop-a.com"), ("uid", "tracker-b.net")]


def test_passive_dns_and_unique(api: str) -> None:
    dns = client(DnsRequest, api)
    passive = dns.get_passive_dns(query="shop-a.com")
    assert passive["queryValue"] == "shop-a.com" and passive["totalRecords"] == 1
    record = passive["results"][0]
    assert (record["value"], record["resolve"], record["recordType"]) == ("help.shop-a.com", "198.51.100.7", "A")
    assert record["recordHash"] == hashlib.sha256(b"help.shop-a.com|198.51.100.7").hexdigest()  # sha256 of host|ip
    assert record["source"] == ["hostpairs"]
    by_ip = dns.get_passive_dns(query="203.0.113.9")
    assert by_ip["queryType"] == "ip" and [r["resolve"] for r in by_ip["results"]] == ["js.stripe-pay.com"]
    unique = dns.get_unique_resolutions(query="stripe-pay.com")
    assert unique["results"] == ["203.0.113.9"] and unique["frequency"] == [["203.0.113.9", 2]] and unique["total"] == 1


def get(url: str, auth: str | None = "analyst@example.com:s3cret") -> tuple[int, dict]:
    request = urllib.request.Request(url)
    if auth:
        import base64
        request.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_errors_are_json_messages(api: str) -> None:
    assert get(f"{api}/v2/host-attributes/pairs?query=shop-a.com&direction=children", auth=None)[0] == 401
    assert get(f"{api}/v2/host-attributes/pairs?query=shop-a.com&direction=children", auth="analyst@example.com:nope")[0] == 401
    status, body = get(f"{api}/v2/host-attributes/pairs?query=shop-a.com&direction=sideways")
    assert status == 400 and "direction" in body["message"]
    assert get(f"{api}/v2/host-attributes/trackers")[0] == 400
    assert get(f"{api}/v2/trackers/search?query=UA-1-1&type=Nope")[0] == 400
    assert get(f"{api}/v2/whois")[0] == 404
    status, body = get(f"{api}/v2/host-attributes/pairs?query=shop-a.com&direction=children&page=-1")
    assert status == 400 and body["message"].startswith("page: -1 is out of range")
    status, body = get(f"{api}/v2/dns/passive?query=shop-a.com&limit=lots")
    assert status == 400 and body["message"] == "limit: not a whole number: 'lots'"


def test_pages_from_zero_with_the_total_of_all(api: str) -> None:
    """PassiveTotal's paging: `page` from 0; the total counts every page; past the end, no rows."""
    pages = [get(f"{api}/v2/host-attributes/trackers?query=shop-a.com&limit=1&page={page}")[1] for page in range(3)]
    assert [page["totalRecords"] for page in pages] == [2, 2, 2]
    assert [[r["attributeValue"] for r in page["results"]] for page in pages] == [["UA-61048133"], ["UA-61048133-2"], []]
    dns = [get(f"{api}/v2/dns/passive?query=shop-a.com&limit=1&page={page}")[1] for page in range(2)]
    assert [d["totalRecords"] for d in dns] == [1, 1] and [len(d["results"]) for d in dns] == [1, 0]
    assert dns[1]["firstSeen"] == dns[0]["firstSeen"] == "2016-08-20 04:33:54"  # of all records, not the page


def test_lookup_page_is_served(api: str) -> None:
    with urllib.request.urlopen(f"{api}/") as response:
        page = response.read().decode()
    assert "/v2/host-attributes/pairs" in page and "<form" in page


def test_lookup_page_queries_the_api_in_a_browser(api: str) -> None:
    from playwright.sync_api import sync_playwright

    from hostpairs.crawler.settings import HOSTPAIRS_CHROMIUM, HOSTPAIRS_CHROMIUM_ARGS

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=HOSTPAIRS_CHROMIUM, args=HOSTPAIRS_CHROMIUM_ARGS)
        context = browser.new_context(http_credentials={"username": "analyst@example.com", "password": "s3cret"})
        page = context.new_page()
        page.goto(f"{api}/")
        page.fill("#query", "stripe-pay.com")
        page.select_option("#dataset", "pairs:parents")
        page.click("button")
        page.wait_for_selector("#results td")
        cells = page.locator("#results td").all_inner_texts()
        browser.close()
    assert cells[:3] == ["help.shop-a.com", "js.stripe-pay.com", "script.src"]
