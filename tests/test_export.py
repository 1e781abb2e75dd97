"""`hostpairs export` and `GET /api/v1/export/{dataset}`: every data set in every format, on SQLite
and PostgreSQL, through the real CLI and the served API. STIX bundles are parsed back with stix2
(ids unique, every reference inside the bundle), MISP events loaded back with PyMISP; an export
reads one snapshot of a database being written; 50,000 pairs export in the memory 5,000 take."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import stix2
from pymisp import MISPEvent
from stix2 import v21

from hostpairs.api.exports import FIELDS, export_chunks, export_request
from hostpairs.crawler.recording import record_visit
from hostpairs.extractors.observations import PageCapture, RequestObservation
from hostpairs.storage.db import open_database, session_factory
from tests.conftest import ROOT, cli_environment, run_cli, served_api, sqlite_url

PAGE = "https://help.shop-a.com/"
PAGE_HTML = "<html><head><script>gtag('config', 'UA-61048133-2');</script></head><body></body></html>"
FIRST = int(datetime(2026, 11, 1, 10, tzinfo=timezone.utc).timestamp())
SECOND = FIRST + 2 * 86400 - 3600
CDN = RequestObservation("https://cdn.shop-a.com/app.js", "script", frame_chain=(PAGE,), remote_ip="2001:db8::5")
SKIMMER = RequestObservation("https://skimmer.evil-cdn.net/s.js", "script", frame_chain=(PAGE,), remote_ip="192.0.2.66")
BY_IP = RequestObservation("http://198.51.100.20/t.js", "script", frame_chain=(PAGE,), remote_ip="198.51.100.20")


def pt(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def capture(started_at: int, *scripts: RequestObservation) -> PageCapture:
    return PageCapture(PAGE, PAGE, "browser", started_at, started_at + 5, html=PAGE_HTML, requests=[
        RequestObservation(PAGE, "document", frame_chain=("",), is_main_frame=True, status=200,
                           remote_ip="198.51.100.7"),
        RequestObservation("https://js.stripe-pay.com/v3/", "script", frame_chain=(PAGE,), remote_ip="203.0.113.9"),
        *scripts])


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store of two visits of one page: the second drops a script host and adds two, one of
    them an IP address, each raising an alert."""
    url = sqlite_url(tmp_path) if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    sessions = session_factory(open_database(url))
    record_visit(sessions, capture(FIRST, CDN))
    record_visit(sessions, capture(SECOND, SKIMMER, BY_IP))
    return url


def pair(child: str, first: int, last: int) -> dict[str, str]:
    return {"parent": "help.shop-a.com", "child": child, "cause": "script.src", "firstSeen": pt(first),
            "lastSeen": pt(last)}


PAIRS = [pair("js.stripe-pay.com", FIRST, SECOND), pair("cdn.shop-a.com", FIRST, FIRST),
         pair("skimmer.evil-cdn.net", SECOND, SECOND), pair("198.51.100.20", SECOND, SECOND)]
RESOLUTIONS = [{"hostname": hostname, "ip": ip, "firstSeen": pt(first), "lastSeen": pt(last)}
               for hostname, ip, first, last in (("help.shop-a.com", "198.51.100.7", FIRST, SECOND),
                                                 ("js.stripe-pay.com", "203.0.113.9", FIRST, SECOND),
                                                 ("cdn.shop-a.com", "2001:db8::5", FIRST, FIRST),
                                                 ("skimmer.evil-cdn.net", "192.0.2.66", SECOND, SECOND),
                                                 ("198.51.100.20", "198.51.100.20", SECOND, SECOND))]
TRACKERS = [{"hostname": "help.shop-a.com", "attributeType": kind, "attributeValue": value, "firstSeen": pt(FIRST),
             "lastSeen": pt(SECOND)} for kind, value in (("GoogleAnalyticsAccountNumber", "UA-61048133"),
                                                         ("GoogleAnalyticsTrackingId", "UA-61048133-2"))]


def key(record: dict[str, Any]) -> str:
    return json.dumps(record, sort_keys=True)


def exported(*args: str) -> str:
    result = run_cli("export", *args)
    assert result.returncode == 0 and not result.stderr, result.stderr
    return result.stdout


def jsonl(*args: str) -> list[dict[str, Any]]:
    return sorted((json.loads(line) for line in exported(*args, "--format", "jsonl").splitlines()), key=key)


def table(*args: str) -> tuple[list[str], list[dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(exported(*args, "--format", "csv"), newline=""))
    return list(reader.fieldnames or ()), sorted(reader, key=key)


# --- CSV and JSON lines -----------------------------------------------------------------------------

def test_csv_and_json_lines_hold_passivetotal_records(db: str) -> None:
    for dataset, expected in (("pairs", PAIRS), ("resolutions", RESOLUTIONS), ("trackers", TRACKERS)):
        assert jsonl(dataset, "--db", db) == sorted(expected, key=key), dataset
        assert table(dataset, "--db", db) == (list(FIELDS[dataset]), sorted(expected, key=key)), dataset
    events = jsonl("alerts", "--db", db)
    assert [(e["kind"], e["child_host"], e["child_url"], e["page_host"]) for e in events] == [
        ("new_script_host", "198.51.100.20", "http://198.51.100.20/t.js", "help.shop-a.com"),
        ("new_script_host", "skimmer.evil-cdn.net", "https://skimmer.evil-cdn.net/s.js", "help.shop-a.com")]
    header, rows = table("alerts", "--db", db)
    assert header == list(FIELDS["alerts"]) == list(events[0])
    assert [json.loads(r["signals"]) for r in rows] == [e["signals"] for e in events]  # lists as JSON
    assert [json.loads(r["evidence"]) for r in rows] == [e["evidence"] for e in events]
    assert {r["acknowledged"] for r in rows} == {"false"} and {r["seed_group"] for r in rows} == {""}


def test_query_direction_and_since_choose_the_records(db: str) -> None:
    assert jsonl("pairs", "--query", "SHOP-A.com", "--db", db) == sorted(PAIRS, key=key)  # children by default
    assert jsonl("pairs", "--query", "evil-cdn.net", "--direction", "parents", "--db", db) == [PAIRS[2]]
    assert jsonl("pairs", "--query", "evil-cdn.net", "--db", db) == []
    assert jsonl("pairs", "--since", pt(SECOND - 3600), "--db", db) == sorted(
        [PAIRS[0], PAIRS[2], PAIRS[3]], key=key)  # cdn.shop-a.com was last seen before
    assert jsonl("resolutions", "--query", "shop-a.com", "--db", db) == sorted(
        [RESOLUTIONS[0], RESOLUTIONS[2]], key=key)  # the host and its subdomains
    assert jsonl("resolutions", "--query", "203.0.113.9", "--db", db) == [RESOLUTIONS[1]]
    assert jsonl("trackers", "--query", "www.shop-a.com", "--db", db) == []
    assert len(jsonl("trackers", "--query", "help.shop-a.com", "--since", pt(SECOND), "--db", db)) == 2
    assert len(jsonl("alerts", "--since", pt(SECOND), "--db", db)) == 2
    assert jsonl("alerts", "--since", pt(SECOND + 60), "--db", db) == []


def test_exported_pairs_and_trackers_import_again(db: str, tmp_path: Path) -> None:
    """The CSV of pairs and trackers is what `hostpairs import` reads: into a fresh store and out
    again, the same records."""
    again = sqlite_url(tmp_path, "again.db")
    for dataset in ("pairs", "trackers"):
        path = tmp_path / f"{dataset}.csv"
        exported(dataset, "--format", "csv", "--output", str(path), "--db", db)
        assert path.read_bytes().startswith(b",".join(name.encode() for name in FIELDS[dataset]) + b"\r\n")
        assert run_cli("import", str(path), "--db", again).returncode == 0
        assert table(dataset, "--db", again) == table(dataset, "--db", db)


# --- STIX 2.1 ------------------------------------------------------------------------------------

def stix_objects(text: str) -> dict[str, list[dict[str, Any]]]:
    """A bundle parsed by stix2 (no custom content allowed), its ids unique and every reference
    pointing inside it; its objects by type."""
    bundle = stix2.parse(text, allow_custom=False)
    assert isinstance(bundle, v21.Bundle)
    objects = json.loads(text)["objects"]
    ids = [o["id"] for o in objects]
    assert len(ids) == len(set(ids))
    references = [value for o in objects for name, value in o.items() if name.endswith("_ref")]
    references += [ref for o in objects for name, value in o.items() if name.endswith("_refs") for ref in value]
    assert set(references) <= set(ids)
    by_type: dict[str, list[dict[str, Any]]] = {}
    for o in objects:
        by_type.setdefault(o["type"], []).append(o)
    (identity,) = by_type.pop("identity")
    assert identity["name"] == "hostpairs"
    assert all(o["created_by_ref"] == identity["id"] for t in ("relationship", "note", "indicator", "observed-data",
                                                                "sighting") for o in by_type.get(t, []))
    return by_type


def sco(value: str) -> str:
    """The id STIX gives the observable of a host or an address."""
    kind = v21.IPv6Address if ":" in value else v21.IPv4Address if value[0].isdigit() else v21.DomainName
    return kind(value=value).id


def stix_time(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_stix_pairs_are_relationships_between_host_observables(db: str) -> None:
    objects = stix_objects(exported("pairs", "--format", "stix", "--db", db))
    assert sorted(o["value"] for o in objects["domain-name"]) == [
        "cdn.shop-a.com", "help.shop-a.com", "js.stripe-pay.com", "skimmer.evil-cdn.net"]
    assert [o["value"] for o in objects["ipv4-addr"]] == ["198.51.100.20"]
    relationships = {r["target_ref"]: r for r in objects.pop("relationship")}
    assert set(objects) == {"domain-name", "ipv4-addr"}
    assert set(relationships) == {sco(p["child"]) for p in PAIRS}
    stripe = relationships[sco("js.stripe-pay.com")]
    assert (stripe["relationship_type"], stripe["source_ref"]) == ("related-to", sco("help.shop-a.com"))
    assert stripe["description"].startswith("script.src: help.shop-a.com references js.stripe-pay.com")
    assert (stripe["start_time"], stripe["stop_time"]) == (stix_time(FIRST), stix_time(SECOND))
    once = relationships[sco("cdn.shop-a.com")]  # seen once: STIX wants a stop_time later than the start
    assert once["start_time"] == stix_time(FIRST) and "stop_time" not in once
    assert pt(FIRST) in once["description"]


def test_stix_resolutions_trackers_and_alerts(db: str) -> None:
    objects = stix_objects(exported("resolutions", "--format", "stix", "--db", db))
    resolved = {(r["source_ref"], r["target_ref"]) for r in objects["relationship"]}
    assert resolved == {(sco(r["hostname"]), sco(r["ip"])) for r in RESOLUTIONS}
    assert {r["relationship_type"] for r in objects["relationship"]} == {"resolves-to"}
    assert {o["value"] for o in objects["ipv6-addr"]} == {"2001:db8::5"}

    objects = stix_objects(exported("trackers", "--format", "stix", "--db", db))
    assert [o["value"] for o in objects["domain-name"]] == ["help.shop-a.com"]
    notes = {n["abstract"]: n for n in objects["note"]}
    assert set(notes) == {"GoogleAnalyticsAccountNumber UA-61048133", "GoogleAnalyticsTrackingId UA-61048133-2"}
    assert {tuple(n["object_refs"]) for n in notes.values()} == {(sco("help.shop-a.com"),)}

    objects = stix_objects(exported("alerts", "--format", "stix", "--db", db))
    indicators = {i["pattern"]: i for i in objects["indicator"]}
    assert set(indicators) == {"[domain-name:value = 'skimmer.evil-cdn.net']", "[ipv4-addr:value = '198.51.100.20']"}
    skimmer = indicators["[domain-name:value = 'skimmer.evil-cdn.net']"]
    assert skimmer["labels"] == ["new_script_host", "high"] and skimmer["valid_from"] == stix_time(SECOND + 5)
    assert PAGE in skimmer["description"]
    sighting = next(s for s in objects["sighting"] if s["sighting_of_ref"] == skimmer["id"])
    (observed,) = [o for o in objects["observed-data"] if o["id"] in sighting["observed_data_refs"]]
    assert sco("help.shop-a.com") in observed["object_refs"]  # the page's domain
    assert {u["value"] for u in objects["url"]} == {PAGE, SKIMMER.url, BY_IP.url}


# --- MISP ----------------------------------------------------------------------------------------

def misp_event(*args: str) -> MISPEvent:
    event = MISPEvent()
    event.load(exported(*args, "--format", "misp"))
    return event


def values(misp_object: Any) -> dict[str, str]:
    return {a.object_relation: a.value for a in misp_object.attributes}


def test_misp_events_load_back(db: str) -> None:
    event = misp_event("pairs", "--db", db)
    assert event.info == "hostpairs pairs" and {o.name for o in event.objects} == {"domain-ip"}
    by_uuid = {o.uuid: o for o in event.objects}
    references = [(values(o), r) for o in event.objects for r in o.references]
    assert len(event.objects) == 8 and len(references) == 4
    found = {(parent["domain"], *values(by_uuid[r.referenced_uuid]).values(), r.relationship_type, r.comment)
             for parent, r in references}
    assert found == {(p["parent"], p["child"], "parent-of", "script.src") for p in PAIRS}
    stripe = next(o for o in event.objects if values(o) == {"domain": "js.stripe-pay.com"})
    assert (stripe.first_seen, stripe.last_seen) == (datetime.fromtimestamp(FIRST, timezone.utc),
                                                      datetime.fromtimestamp(SECOND, timezone.utc))
    assert stripe.attributes[0].first_seen == stripe.first_seen and not stripe.attributes[0].to_ids

    event = misp_event("resolutions", "--query", "shop-a.com", "--db", db)
    assert event.info == "hostpairs resolutions of shop-a.com"
    assert sorted((values(o)["domain"], values(o)["ip"]) for o in event.objects) == [
        ("cdn.shop-a.com", "2001:db8::5"), ("help.shop-a.com", "198.51.100.7")]

    event = misp_event("trackers", "--db", db)
    assert sorted(values(o)["id"] for o in event.objects) == ["UA-61048133", "UA-61048133-2"]
    assert {(o.name, values(o)["hostname"]) for o in event.objects} == {("tracking-id", "help.shop-a.com")}

    event = misp_event("alerts", "--db", db)
    urls = {o.uuid: values(o) for o in event.objects}
    links = {(urls[o.uuid]["url"], urls[r.referenced_uuid]["url"], r.relationship_type)
             for o in event.objects for r in o.references}
    assert links == {(SKIMMER.url, PAGE, "found-on"), (BY_IP.url, PAGE, "found-on")}
    skimmer = next(u for u in urls.values() if u["url"] == SKIMMER.url)
    assert skimmer["host"] == "skimmer.evil-cdn.net" and "new_script_host (high)" in skimmer["text"]


# --- the API -------------------------------------------------------------------------------------

def fetch(url: str) -> tuple[int, str, dict[str, str]]:
    try:
        with urllib.request.urlopen(url) as response:
            return response.status, response.read().decode(), {k.lower(): v for k, v in response.headers.items()}
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(), dict(exc.headers)


def test_the_api_streams_what_the_cli_writes(db: str) -> None:
    with served_api("--db", db) as base:
        for dataset in ("pairs", "resolutions", "trackers", "alerts"):
            for export_format in ("csv", "jsonl", "misp"):
                status, body, headers = fetch(f"{base}/api/v1/export/{dataset}?format={export_format}")
                cli = exported(dataset, "--format", export_format, "--db", db)  # (read with universal newlines)
                assert status == 200 and body.replace("\r\n", "\n") == cli
                assert headers["transfer-encoding"] == "chunked" and "content-length" not in headers
        status, body, headers = fetch(f"{base}/api/v1/export/pairs?format=stix&query=evil-cdn.net&direction=parents"
                                      f"&since={pt(SECOND).replace(' ', 'T')}")
        assert status == 200 and headers["content-type"] == "application/stix+json;version=2.1"
        assert headers["content-disposition"] == 'attachment; filename="hostpairs-pairs.json"'
        cli = exported("pairs", "--format", "stix", "--query", "evil-cdn.net", "--direction", "parents", "--db", db)
        assert [o["id"] for o in json.loads(body)["objects"]] == [o["id"] for o in json.loads(cli)["objects"]]
        assert len(stix_objects(body)["relationship"]) == 1
        for path, status in (("pairs?format=xml", 400), ("pairs", 400), ("visits?format=csv", 404),
                             ("alerts?format=csv&query=shop-a.com", 400), ("pairs?format=csv&since=yesterday", 400),
                             ("trackers?format=csv&direction=parents", 400), ("pairs?format=csv&query=a..b", 400)):
            answer = fetch(f"{base}/api/v1/export/{path}")
            assert answer[0] == status and list(json.loads(answer[1])) == ["message"], (path, answer)


def test_the_export_endpoint_holds_under_schemathesis(tmp_path: Path) -> None:
    db = sqlite_url(tmp_path)
    sessions = session_factory(open_database(db))
    record_visit(sessions, capture(FIRST, CDN))
    record_visit(sessions, capture(SECOND, SKIMMER))
    with served_api("--db", db) as base:
        result = subprocess.run(
            [str(Path(sys.executable).with_name("schemathesis")), "run", f"{base}/openapi.json", "--include-path",
             "/api/v1/export/{dataset}", "--max-examples", "30", "--checks", "all", "--exclude-checks",
             "positive_data_acceptance", "--seed", "1"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-4000:]


# --- bad input -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("args", "message"), [
    (("visits", "--format", "csv"), "'visits' is not one of"),
    (("pairs", "--format", "xml"), "'xml' is not one of"),
    (("pairs",), "Missing option '--format'"),
    (("alerts", "--format", "csv", "--query", "shop-a.com"), "query: alerts are exported whole"),
    (("trackers", "--format", "csv", "--direction", "parents"), "direction: only for pairs with a query"),
    (("pairs", "--format", "csv", "--since", "yesterday"), "since: not a date: 'yesterday'"),
    (("pairs", "--format", "csv", "--query", "a..b"), "not a host name"),
    (("pairs", "--format", "csv", "--output", "/nonexistent-hostpairs-dir/pairs.csv"), "cannot write"),
])
def test_bad_input_is_one_line(args: tuple[str, ...], message: str, tmp_path: Path) -> None:
    result = run_cli("export", *args, "--db", sqlite_url(tmp_path))
    assert result.returncode == (1 if "--output" in args else 2), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and message in result.stderr, result.stderr
    assert not result.stdout


# --- one snapshot --------------------------------------------------------------------------------

def test_an_export_reads_one_snapshot_while_a_crawl_writes(db: str) -> None:
    """Pairs stored after an export has read its hosts are not in it: every reference still
    points inside the bundle."""
    sessions = session_factory(open_database(db))
    chunks = export_chunks(sessions, export_request("pairs", "stix", None, None, None))
    read = [next(chunks), next(chunks)]  # the bundle's start, then the first hosts
    assert '"domain-name"' in read[1]
    page = "https://new.site-b.org/"
    record_visit(sessions, PageCapture(page, page, "browser", SECOND, SECOND + 5, requests=[
        RequestObservation("https://fresh.child-c.net/x.js", "script", frame_chain=(page,))]))
    objects = stix_objects("".join([*read, *chunks]))
    assert len(objects["relationship"]) == len(PAIRS)
    assert "fresh.child-c.net" in exported("pairs", "--format", "csv", "--db", db)  # stored all the same


# --- large exports -------------------------------------------------------------------------------

def generated_pairs(path: Path, count: int) -> Path:
    """`count` pairs in PassiveTotal's CSV: 10 children a parent, every child a host of its own."""
    with path.open("w") as out:
        out.write("parent,child,cause,firstSeen,lastSeen\n")
        for i in range(count):
            out.write(f"site{i // 10}.example.org,c{i}.cdn{i % 97}.example.net,script.src,2026-01-01 00:00:00,"
                      f"2026-02-{1 + i % 27:02d} 00:00:00\n")
    return path


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory,
           postgres_databases: Callable[[], str]) -> dict[tuple[str, int], str]:
    """5,000 and 50,000 generated pairs, in SQLite and in PostgreSQL."""
    directory = tmp_path_factory.mktemp("large")
    made = {}
    for count in (5_000, 50_000):
        source = generated_pairs(directory / f"pairs-{count}.csv", count)
        for database in ("sqlite", "postgresql"):
            url = sqlite_url(directory, f"{count}.db") if database == "sqlite" else postgres_databases()
            assert run_cli("import", str(source), "--db", url).returncode == 0
            made[database, count] = url
    return made


MEASURED = """import resource, subprocess, sys
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"""
"""Runs a command and prints its peak resident memory (KB): from a small process of its own, as a
child's peak counts the memory of the process it was forked from (pytest's, here)."""


def peak_memory_mb(*args: str) -> float:
    """The peak resident memory of `hostpairs ARGS` run to the end, in MB."""
    result = subprocess.run([sys.executable, "-c", MEASURED, sys.executable, "-m", "hostpairs", *args], cwd=ROOT,
                            env=cli_environment(), capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    return int(result.stdout) / 1024


def checked_export(path: Path, export_format: str) -> int:
    """How many pairs an export file holds, its structure checked."""
    if export_format == "csv":
        with path.open(newline="") as source:
            return sum(1 for _ in csv.DictReader(source))
    document = json.loads(path.read_text())
    if export_format == "misp":
        return len([o for o in document["Event"]["Object"] if o.get("ObjectReference")])
    ids = [o["id"] for o in document["objects"]]
    assert len(ids) == len(set(ids))
    assert {o["target_ref"] for o in document["objects"] if o["type"] == "relationship"} <= set(ids)
    return sum(o["type"] == "relationship" for o in document["objects"])


@pytest.mark.parametrize(("database", "export_format"), [("sqlite", "csv"), ("sqlite", "misp"), ("postgresql", "stix")])
def test_large_exports_stream_in_flat_memory(stores: dict[tuple[str, int], str], database: str, export_format: str,
                                             tmp_path: Path) -> None:
    """Ten times the pairs, the same memory: the rows come in batches (a server-side cursor on
    PostgreSQL) and leave as they come; STIX's hosts are deduplicated by the database."""
    peaks = {}
    for count in (5_000, 50_000):
        output = tmp_path / f"{count}.{export_format}"
        peaks[count] = peak_memory_mb("export", "pairs", "--format", export_format, "--output", str(output),
                                      "--db", stores[database, count])
        assert checked_export(output, export_format) == count
    size = output.stat().st_size / 2**20
    print(f"{database} {export_format}: peak {peaks[5_000]:.1f} MB at 5,000 pairs, {peaks[50_000]:.1f} MB at 50,000 "
          f"({size:.1f} MB written)")
    assert peaks[50_000] - peaks[5_000] < 12, peaks


def server_peak_mb(db: str) -> float:
    """The peak resident memory so far of the `hostpairs serve` serving `db`, in MB."""
    (pid,) = [int(entry.name) for entry in Path("/proc").iterdir()
              if entry.name.isdigit() and command_line(entry)[-5:] == ["serve", "--port", "0", "--db", db]]
    status = (Path("/proc") / str(pid) / "status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))) / 1024


def command_line(entry: Path) -> list[str]:
    try:
        return (entry / "cmdline").read_bytes().decode().split("\0")[:-1]
    except OSError:
        return []


def test_the_api_streams_a_large_export_in_flat_memory(stores: dict[tuple[str, int], str]) -> None:
    """Nothing holds the whole export on its way out (the response cache does not keep exports)."""
    db = stores["sqlite", 50_000]
    with served_api("--db", db) as base:
        assert fetch(f"{base}/api/v1/export/pairs?format=jsonl&query=site1.example.org")[0] == 200
        before = server_peak_mb(db)
        with urllib.request.urlopen(f"{base}/api/v1/export/pairs?format=jsonl") as response:
            lines = sum(1 for _ in response)
        after = server_peak_mb(db)
    print(f"server peak: {before:.1f} MB before, {after:.1f} MB after streaming 50,000 pairs")
    assert lines == 50_000 and after - before < 10

