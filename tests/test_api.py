"""The API server (`hostpairs serve`, uvicorn) as the clients analysts already have use it: the
real `passivetotal` library, its analyzer and `pt-client` over HTTPS with a test certificate,
plus raw HTTP for errors, limits, paging and hostpairs' own /api/v1."""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import os
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pytest
from passivetotal.libs.account import AccountClient
from passivetotal.libs.attributes import AttributeRequest
from passivetotal.libs.cards import CardsRequest
from passivetotal.libs.cookies import CookiesRequest
from passivetotal.libs.dns import DnsRequest
from passivetotal.libs.enrichment import EnrichmentRequest
from passivetotal.libs.trackers import TrackerRequest

from hostpairs.crawler.recording import record_visit
from hostpairs.demoweb.server import write_self_signed
from hostpairs.extractors.observations import CookieObservation, PageCapture, RequestObservation
from hostpairs.storage.api_users import add_user
from hostpairs.storage.db import open_database, session_factory
from tests.conftest import served_api, sqlite_url

PAGE = "https://help.shop-a.com/"
PAGE_HTML = """<html><head><script>gtag('config', 'UA-61048133-2');</script>
<meta name="generator" content="WordPress 6.4.2"></head><body></body></html>"""
USER = "analyst@example.com"
FIRST = int(time.time()) - 10 * 86400  # within the analyzer's default window (the last 90 days)
SECOND = FIRST + 2 * 86400 - 3600


def pt(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def capture(started_at: float) -> PageCapture:
    return PageCapture(
        PAGE, PAGE, "browser", started_at, started_at + 5, html=PAGE_HTML,
        response_headers={"server": "nginx/1.24.0"},
        requests=[
            RequestObservation(PAGE, "document", frame_chain=("",), is_main_frame=True, status=200, remote_ip="198.51.100.7"),
            RequestObservation("https://js.stripe-pay.com/v3/", "script", frame_chain=(PAGE,), remote_ip="203.0.113.9"),
            RequestObservation("https://cdn.shop-a.com/app.js", "script", frame_chain=(PAGE,), remote_ip="2001:db8::5"),
        ],
        cookies=[CookieObservation("_ga", ".shop-a.com"), CookieObservation("uid", "tracker-b.net")],
    )


@dataclass(frozen=True)
class Api:
    base: str  # https://127.0.0.1:PORT
    key: str
    cert: Path
    log: list[str]

    @property
    def server(self) -> str:
        return self.base.removeprefix("https://")


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    directory = tmp_path_factory.mktemp("api")
    db = sqlite_url(directory)
    sessions = session_factory(open_database(db))
    record_visit(sessions, capture(FIRST))
    record_visit(sessions, capture(SECOND))
    with sessions.begin() as session:
        key = add_user(session, USER)
    cert, private_key = write_self_signed(directory, ("localhost", "127.0.0.1", "::1"))
    log: list[str] = []
    with served_api("--db", db, "--cert", str(cert), "--key", str(private_key), "--rate-limit", "0", log=log) as base:
        yield Api(base, key, cert, log)


def client(cls: type, api: Api, key: str | None = None):  # noqa: ANN201
    """A library client pointed at the server (the library turns TLS verification off for 127.0.0.1)."""
    return cls(USER, key or api.key, server=api.server)


def get(api: Api, path: str, auth: str | None = "", method: str = "GET", body: bytes | None = None,
        headers: dict[str, str] | None = None) -> tuple[int, dict, dict[str, str]]:
    """Status, JSON body and headers of a request (auth "": the test user's key; None: none)."""
    request = urllib.request.Request(api.base + path, method=method, data=body, headers=headers or {})
    credentials = f"{USER}:{api.key}" if auth == "" else auth
    if credentials:
        request.add_header("Authorization", "Basic " + base64.b64encode(credentials.encode()).decode())
    context = ssl.create_default_context(cafile=str(api.cert))
    try:
        with urllib.request.urlopen(request, context=context) as response:
            return response.status, json.loads(response.read()), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read()), dict(exc.headers)


# --- the passivetotal library's request classes -----------------------------------------------------

def test_host_attributes_with_the_official_library(api: Api) -> None:
    attributes = client(AttributeRequest, api)
    parents = attributes.get_host_attribute_pairs(query="stripe-pay.com", direction="parents")
    assert parents == {"totalRecords": 1, "success": True, "facets": [], "results": [
        {"parent": "help.shop-a.com", "child": "js.stripe-pay.com", "cause": "script.src",
         "firstSeen": pt(FIRST), "lastSeen": pt(SECOND)}]}
    assert attributes.get_host_attribute_pairs(query="shop-a.com", direction="children",
                                               start=pt(SECOND + 60))["totalRecords"] == 0
    trackers = attributes.get_host_attribute_trackers(query="help.shop-a.com")
    assert {(r["attributeType"], r["attributeValue"]) for r in trackers["results"]} == {
        ("GoogleAnalyticsTrackingId", "UA-61048133-2"), ("GoogleAnalyticsAccountNumber", "UA-61048133")}
    assert trackers["totalRecords"] == 2 and trackers["facets"] == []
    components = attributes.get_host_attribute_components(query="shop-a.com")["results"]
    assert {("Server", "nginx", "1.24.0"), ("CMS", "WordPress", "6.4.2")} <= {
        (r["category"], r["label"], r["version"]) for r in components}
    cookies = attributes.get_host_attribute_cookies(query="shop-a.com")["results"]
    assert sorted((r["cookieName"], r["cookieDomain"]) for r in cookies) == [("_ga", "shop-a.com"), ("uid", "tracker-b.net")]
    search = attributes.search_trackers(query="UA-61048133-2", type="GoogleAnalyticsTrackingId")
    assert search == {"totalRecords": 1, "success": True, "results": [
        {"entity": "help.shop-a.com", "firstSeen": pt(FIRST), "lastSeen": pt(SECOND)}]}


def test_passive_dns_with_the_official_library(api: Api) -> None:
    dns = client(DnsRequest, api)
    passive = dns.get_passive_dns(query="shop-a.com")
    assert passive["queryValue"] == "shop-a.com" and passive["totalRecords"] == 2
    record = next(r for r in passive["results"] if r["value"] == "help.shop-a.com")
    assert (record["resolve"], record["recordType"], record["source"]) == ("198.51.100.7", "A", ["hostpairs"])
    assert record["recordHash"] == hashlib.sha256(b"help.shop-a.com|198.51.100.7").hexdigest()
    by_ip = dns.get_passive_dns(query="203.0.113.9")
    assert by_ip["queryType"] == "ip" and [r["resolve"] for r in by_ip["results"]] == ["js.stripe-pay.com"]
    v6 = dns.get_passive_dns(query="2001:0db8:0::5")  # normalised
    assert v6["queryValue"] == "2001:db8::5" and [(r["resolve"], r["recordType"]) for r in v6["results"]] == [
        ("cdn.shop-a.com", "AAAA")]
    unique = dns.get_unique_resolutions(query="stripe-pay.com")
    assert unique["results"] == ["203.0.113.9"] and unique["frequency"] == [["203.0.113.9", 2]] and unique["total"] == 1


def test_trackers_and_cookies_shared_between_hosts_with_the_official_library(api: Api) -> None:
    trackers = client(TrackerRequest, api)
    hosts = trackers.search_trackers("UA-61048133-2", "GoogleAnalyticsTrackingId", result_type="hosts")
    assert hosts == {"totalRecords": 1, "success": True,
                     "results": [{"entity": "help.shop-a.com", "firstSeen": pt(FIRST), "lastSeen": pt(SECOND)}]}
    addresses = trackers.search_trackers("ua-61048133-2", "GoogleAnalyticsTrackingId", sort="firstSeen", order="asc")
    assert [r["entity"] for r in addresses["results"]] == ["198.51.100.7"]  # the IPs the sharing hosts resolved to
    assert trackers.search_trackers("UA-61048133-2", "SomeTypeHostpairsNeverRecords")["totalRecords"] == 0
    cookies = client(CookiesRequest, api)
    assert [r["entity"] for r in cookies.get_hosts_by_name("_ga")["results"]] == ["help.shop-a.com"]
    assert [r["entity"] for r in cookies.get_addresses_by_name("uid")["results"]] == ["198.51.100.7"]
    assert [r["entity"] for r in cookies.get_hosts_by_domain("tracker-b.net", sort="lastSeen")["results"]] == [
        "help.shop-a.com"]
    assert cookies.get_addresses_by_domain("nowhere-zz.com")["totalRecords"] == 0


def test_account_subdomains_and_summary_with_the_official_library(api: Api) -> None:
    assert client(AccountClient, api).get_account_details()["username"] == USER
    subdomains = client(EnrichmentRequest, api).get_subdomains(query="*.shop-a.com")
    assert (subdomains["primaryDomain"], subdomains["subdomains"]) == ("shop-a.com", ["cdn", "help"])
    card = client(CardsRequest, api).get_summary(query="shop-a.com")
    assert card["name"] == "shop-a.com" and card["type"] == "hostname"
    counts = {name: entry["count"] for name, entry in card["data_summary"].items()}
    # host pairs: 2 children of the domain's hosts + 1 parent (help → cdn counts on both sides)
    assert counts["resolutions"] == 2 and counts["host_pairs"] == 3 and counts["trackers"] == 2
    assert counts["cookies"] == 2 and counts["certificates"] == 0


# --- the analyzer ----------------------------------------------------------------------------------

ANALYZER = """
import json, sys
from passivetotal import analyzer
analyzer.init(username=sys.argv[1], api_key=sys.argv[2], server=sys.argv[3])
host = analyzer.Hostname("help.shop-a.com")
tracker = analyzer.Tracker("GoogleAnalyticsTrackingId", "UA-61048133-2")
print(json.dumps(default=str, obj={
    "children": sorted((str(r.parent), str(r.child), r.cause) for r in host.hostpair_children),
    "parents": [(str(r.parent), str(r.child), r.cause) for r in analyzer.Hostname("js.stripe-pay.com").hostpair_parents],
    "trackers": sorted(r.value for r in host.trackers),
    "components": sorted(r.label for r in host.components),
    "cookies": sorted(r.name for r in host.cookies),
    "resolutions": [r.ip for r in host.resolutions],
    "ip_resolutions": [r.hostname for r in analyzer.IPAddress("203.0.113.9").resolutions],
    "by_hostname": [r.entity for r in tracker.observations_by_hostname],
    "by_ip": [r.entity for r in tracker.observations_by_ip],
    "references": len(host.tracker_references),
    "summary": host.summary.available,
    "summary_links": sorted(host.summary.links),
    "subdomains": [str(s) for s in analyzer.Hostname("shop-a.com").subdomains],
}))
"""


def test_the_analyzer(api: Api) -> None:
    """The analyzer as msticpy drives it: its default 90-day window, each property it reads."""
    result = subprocess.run([sys.executable, "-W", "ignore", "-c", ANALYZER, USER, api.key, api.server],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    seen = json.loads(result.stdout)
    assert seen["children"] == [["help.shop-a.com", "cdn.shop-a.com", "script.src"],
                                ["help.shop-a.com", "js.stripe-pay.com", "script.src"]]
    assert seen["parents"] == [["help.shop-a.com", "js.stripe-pay.com", "script.src"]]
    assert seen["trackers"] == ["UA-61048133", "UA-61048133-2"]
    assert {"nginx", "WordPress"} <= set(seen["components"]) and seen["cookies"] == ["_ga", "uid"]
    assert seen["resolutions"] == ["198.51.100.7"] and seen["ip_resolutions"] == ["js.stripe-pay.com"]
    assert seen["by_hostname"] == ["help.shop-a.com"] and seen["by_ip"] == ["198.51.100.7"]
    assert seen["references"] == 0  # tracker types hostpairs does not record: 404s, which it skips
    assert set(seen["summary"]) == {"resolutions", "trackers", "components", "hostpairs", "cookies"}
    assert "resolutions" in seen["summary_links"]
    assert seen["subdomains"] == ["cdn", "help"]


# --- pt-client, over HTTPS with a certificate it checks ---------------------------------------------

def test_pt_client_over_https(api: Api, tmp_path: Path) -> None:
    """pt-client reads its server from its configuration; `localhost` (unlike 127.0.0.1) keeps
    certificate checks on, against the test certificate given as REQUESTS_CA_BUNDLE."""
    config = tmp_path / ".config" / "passivetotal" / "api_config.json"
    config.parent.mkdir(parents=True)
    config.write_text(json.dumps({"username": USER, "api_key": api.key, "api_version": "v2", "http_proxy": "",
                                  "https_proxy": "", "api_server": api.server.replace("127.0.0.1", "localhost")}))
    env = {**os.environ, "HOME": str(tmp_path), "REQUESTS_CA_BUNDLE": str(api.cert)}
    pt_client = str(Path(sys.executable).with_name("pt-client"))

    def run(*args: str) -> dict:
        result = subprocess.run([pt_client, *args], env=env, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr[-2000:]
        return json.loads(result.stdout)

    assert run("pdns", "-q", "stripe-pay.com")["results"][0]["resolve"] == "203.0.113.9"
    assert run("attribute", "-t", "tracker", "-q", "help.shop-a.com")["totalRecords"] == 2
    assert [r["entity"] for r in run("cookies", "-q", "_ga", "--hosts", "--by-name")["results"]] == ["help.shop-a.com"]
    assert run("summary", "-q", "shop-a.com")["name"] == "shop-a.com"
    unchecked = subprocess.run([pt_client, "pdns", "-q", "stripe-pay.com"], env={**env, "REQUESTS_CA_BUNDLE": ""},
                               capture_output=True, text=True, timeout=60)
    assert unchecked.returncode != 0 and "CERTIFICATE_VERIFY_FAILED" in unchecked.stderr  # the check is real


# --- HTTP: errors, limits, paging, parameters ---------------------------------------------------------

def test_every_error_is_a_json_message_with_its_status(api: Api) -> None:
    pairs = "/v2/host-attributes/pairs?query=shop-a.com&direction=children"
    status, body, headers = get(api, pairs, auth=None)
    assert status == 401 and body["message"].startswith("authentication required")
    assert headers["www-authenticate"] == 'Basic realm="hostpairs"'
    assert get(api, pairs, auth=f"{USER}:wrong")[0] == 401
    assert get(api, "/v2/no-such-endpoint", auth=None)[0] == 401  # asked without a key: no hint of what exists
    assert get(api, "/v2/no-such-endpoint")[:2] == (404, {"message": "no endpoint /v2/no-such-endpoint"})
    status, body, _ = get(api, "/v2/whois?query=shop-a.com")
    assert status == 404 and "WHOIS" in body["message"]
    status, body, headers = get(api, "/v2/dns/passive?query=shop-a.com", method="DELETE")
    assert (status, headers["allow"]) == (405, "GET") and body["message"] == "DELETE is not allowed on /v2/dns/passive"
    for query, message in ((pairs.replace("children", "sideways"), "not a direction"),
                           ("/v2/host-attributes/trackers", "query"),
                           (pairs + "&page=-1", "page: -1 is out of range"),
                           ("/v2/dns/passive?query=shop-a.com&limit=lots", "limit: not a whole number: 'lots'"),
                           ("/v2/dns/passive?query=" + "a." * 127 + "com", "longer than 253 characters"),
                           ("/v2/dns/passive?query=bad-.shop-a.com", "invalid label 'bad-'"),
                           ("/v2/dns/passive?query=shop-a.com&start=yesterday", "start: not a date"),
                           ("/v2/trackers/UA-1/hosts?sort=size", "sort: not one of"),
                           ("/v2/trackers/search?query=UA-1&type=GoogleAnalyticsTrackingId&searchType=both", "searchType")):
        status, body, _ = get(api, query)
        assert status == 400 and message in body["message"], (query, body)
    status, body, _ = get(api, "/v2/trackers/search?query=help.shop-a.com&type=DocumentBaseHost&searchType=hosts")
    assert status == 404 and "DocumentBaseHost" in body["message"]
    assert get(api, "/v2/account?q=" + "a" * 9000)[:2] == (414, {"message": "URL longer than 8192 bytes"})
    assert get(api, "/v2/account", headers={"X-Padding": "a" * 20000})[0] == 431
    connection = http.client.HTTPSConnection(api.server.split(":")[0], int(api.server.split(":")[1]),
                                             context=ssl.create_default_context(cafile=str(api.cert)))
    connection.putrequest("GET", "/v2/account")  # a body announced, never sent: refused before it is read
    connection.putheader("Authorization", "Basic " + base64.b64encode(f"{USER}:{api.key}".encode()).decode())
    connection.putheader("Content-Length", str(10**9))
    connection.endheaders()
    response = connection.getresponse()
    assert (response.status, json.loads(response.read())) == (413, {"message": "request body larger than 65536 bytes"})
    connection.close()
    assert get(api, "/v2/dns/passive", body=b"[1, 2]", headers={"Content-Type": "application/json"})[0] == 400
    access = [line for line in api.log if "hostpairs.api.access" in line]
    assert any(f'{USER} "GET /v2/no-such-endpoint" 404' in line for line in access), access[-5:]


def test_parameters_may_come_as_a_json_body_of_a_get(api: Api) -> None:
    body = json.dumps({"query": "stripe-pay.com", "direction": "parents"}).encode()
    status, answer, _ = get(api, "/v2/host-attributes/pairs", body=body, headers={"Content-Type": "application/json"})
    assert status == 200 and [r["parent"] for r in answer["results"]] == ["help.shop-a.com"]


def test_every_data_set_is_paged_and_filtered_by_time(api: Api) -> None:
    day_before, first_day = pt(FIRST - 86400)[:10], pt(FIRST)[:10]
    for path, total in (("/v2/host-attributes/pairs?query=shop-a.com&direction=children", 2),
                        ("/v2/host-attributes/trackers?query=shop-a.com", 2),
                        ("/v2/host-attributes/components?query=shop-a.com", None),
                        ("/v2/host-attributes/cookies?query=shop-a.com", 2),
                        ("/v2/dns/passive?query=shop-a.com", 2),
                        ("/v2/trackers/UA-61048133-2/hosts?type=GoogleAnalyticsTrackingId", 1),
                        ("/v2/cookies/domain/shop-a.com/hosts", 1)):
        status, whole, _ = get(api, path)
        assert status == 200, (path, whole)
        total = total or whole["totalRecords"]
        assert whole["totalRecords"] == total and len(whole["results"]) == total, path
        path += "&" if "?" in path else "?"
        pages = [get(api, f"{path}limit=1&page={page}")[1] for page in range(total + 1)]
        assert all("totalRecords" in p for p in pages), (path, pages)
        assert [p["totalRecords"] for p in pages] == [total] * (total + 1), path
        assert [r for p in pages for r in p["results"]] == whole["results"], path  # pages neither overlap nor skip
        assert get(api, f"{path}end={day_before}")[1]["totalRecords"] == 0, path
        assert get(api, f"{path}end={first_day}")[1]["totalRecords"] == total, path  # a date-only end: its whole day
        assert get(api, f"{path}start={pt(SECOND + 60).replace(' ', 'T')}%2B00:00")[1]["totalRecords"] == 0, path
    # an offset is honoured: 02:00 at +02:00 is midnight UTC
    late = pt(SECOND + 60)
    shifted = datetime.fromisoformat(late).replace(tzinfo=timezone.utc).astimezone().isoformat()
    assert get(api, "/v2/dns/passive?query=shop-a.com&start=" + urllib.request.quote(shifted))[1]["totalRecords"] == 0


def test_hostpairs_own_api(api: Api) -> None:
    status, pairs, _ = get(api, "/api/v1/pairs?host=shop-a.com&direction=children&cause=script.src&limit=1")
    assert status == 200 and len(pairs["pairs"]) == 1 and pairs["next"]
    rest = get(api, f"/api/v1/pairs?host=shop-a.com&direction=children&cause=script.src&limit=1&cursor={pairs['next']}")[1]
    assert [p["child"] for p in pairs["pairs"] + rest["pairs"]] == ["cdn.shop-a.com", "js.stripe-pay.com"]
    assert [p["visitCount"] for p in pairs["pairs"] + rest["pairs"]] == [2, 2]
    assert get(api, "/api/v1/pairs?host=shop-a.com&direction=children&cause=iframe.src")[1]["pairs"] == []
    assert get(api, "/api/v1/pairs?host=shop-a.com&direction=children&cursor=bogus")[0] == 400
    visits = get(api, "/api/v1/visits?host=help.shop-a.com")[1]["visits"]
    assert [v["started"] for v in visits] == [pt(SECOND), pt(FIRST)]
    evidence = get(api, f"/api/v1/visits/{visits[0]['id']}")[1]
    assert {d["url"] for d in evidence["dependencies"]} >= {"https://js.stripe-pay.com/v3/"}
    assert get(api, "/api/v1/visits/999999")[0] == 404
    assert get(api, "/api/v1/alerts?severity=high&open=true")[1] == {"alerts": [], "next": None}
    status, body, _ = get(api, "/api/v1/alerts/acknowledge", method="POST", body=b'{"ids": [424242]}',
                          headers={"Content-Type": "application/json"})
    assert status == 404 and "424242" in body["message"]
    assert get(api, "/api/v1/seed-groups")[1] == {"groups": [], "watcher": None}
    schema = get(api, "/openapi.json", auth=None)[1]
    assert {"/v2/host-attributes/pairs", "/v2/trackers/{value}/{result_type}", "/api/v1/alerts",
            "/api/v1/pairs"} <= set(schema["paths"])


def test_the_web_app_asks_for_a_key_and_its_code_does_not(api: Api) -> None:
    assert get(api, "/", auth=None)[0] == 401
    context = ssl.create_default_context(cafile=str(api.cert))
    request = urllib.request.Request(f"{api.base}/", headers={
        "Authorization": "Basic " + base64.b64encode(f"{USER}:{api.key}".encode()).decode()})
    with urllib.request.urlopen(request, context=context) as response:
        page = response.read().decode()
    assert '<form id="search"' in page and "/app/app.js" in page
    with urllib.request.urlopen(f"{api.base}/app/app.js", context=context) as response:
        assert response.status == 200 and b"textContent" in response.read()


def test_past_the_rate_limit_a_user_waits(api: Api, tmp_path: Path) -> None:
    db = sqlite_url(tmp_path)
    with session_factory(open_database(db)).begin() as session:
        key = add_user(session, USER)
    with served_api("--db", db, "--rate-limit", "3") as base:
        limited = Api(base, key, api.cert, [])
        assert [get(limited, "/v2/account")[0] for _ in range(3)] == [200, 200, 200]
        status, body, headers = get(limited, "/v2/account")
        assert status == 429 and "rate limit of 3 requests a minute" in body["message"]
        assert 1 <= int(headers["retry-after"]) <= 20
        assert get(limited, "/openapi.json", auth=None)[0] == 200  # the schema is not counted


def test_the_schema_holds_under_schemathesis(api: Api, tmp_path: Path) -> None:
    """schemathesis generates requests from /openapi.json (valid and invalid) and checks every
    answer: no server error, a documented status and content type, a body of the documented
    shape. Its "schema-valid request rejected" check is off: a host name's rules (labels, IDN, IP
    forms) are not a pattern the schema could state."""
    result = subprocess.run(
        [str(Path(sys.executable).with_name("schemathesis")), "run", f"{api.base}/openapi.json",
         "--max-examples", "10", "--checks", "all", "--exclude-checks", "positive_data_acceptance",
         "--tls-verify", str(api.cert), "--header", "Authorization: Basic "
         + base64.b64encode(f"{USER}:{api.key}".encode()).decode(), "--seed", "1"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300)  # (its cache directory goes there)
    assert result.returncode == 0, result.stdout[-4000:]
    assert "generated" in result.stdout and " passed" in result.stdout
