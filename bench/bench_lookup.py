"""Look-ups at scale on SQLite and PostgreSQL, side by side in one run: N host pairs (default
10,000,000) over H hosts (default 1,000,000) with a Zipf-like skew, imported with `hostpairs
import`, then p50/p99 of five query kinds, in-process and through the HTTP API with concurrent
clients.

    python bench/bench_lookup.py [--pairs N] [--hosts H] [--queries Q] [--clients C]
                                 [--databases sqlite,postgresql] [--workdir DIR]

Hosts are ranked; a parent's children are drawn with probability ~ 1/(rank+1), so rank 0
(www.googletagmanager.com) is a child of most parents and most hosts are rare. Resolutions map
every host to an IP drawn with the same skew over H/10 addresses; trackers give every other host
a Google Analytics ID drawn with the skew over H/20 IDs. Query kinds: children of a random host;
parents of a random registrable domain, subdomains included; parents of the most popular child
(first page); tracker search by a random value; resolutions of a random IP. Through HTTP: 200 of
each one request at a time, then all of them from concurrent clients (closed loop: each client
sends its next request when the last one is answered, so a client's latency is the server's
queue, clients / throughput, on top of the query). PostgreSQL is
vacuumed and analysed after the import (autovacuum would get there; index-only scans need the
visibility map). Prints import rates, bytes per million pairs, each kind's p50/p99, and the
ratios; figures go to bench/RESULTS.md."""

from __future__ import annotations

import argparse
import bisect
import csv
import gc
import itertools
import json
import multiprocessing
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from sqlalchemy import func, or_, select, text
from sqlalchemy.orm import Session

from hostpairs.api import pt_routes
from hostpairs.storage.db import open_database, session_factory
from hostpairs.storage.models import HostPair, IpResolutionSummary, Resolution
from hostpairs.storage.queries import host_filter

POSTGRES_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
POPULAR = "www.googletagmanager.com"
CHILDREN_PER_PARENT = 10
KINDS = ("children of a host", "parents of a domain", "parents of the top child", "tracker search", "resolutions of an IP")


def host(rank: int) -> str:
    """Rank 0 is the tag manager; the others come three to a registrable domain."""
    if rank == 0:
        return POPULAR
    return f"{('www', 'cdn', 'api')[rank % 3]}.site-{rank // 3}.com"


def domain(rank: int) -> str:
    return "googletagmanager.com" if rank == 0 else f"site-{rank // 3}.com"


class Skew:
    """Draws ranks 0..n-1 with probability ~ 1/(rank+1)."""

    def __init__(self, n: int, rng: random.Random):
        self.rng, self.cumulative = rng, list(itertools.accumulate(1 / (r + 1) for r in range(n)))

    def draw(self) -> int:
        return bisect.bisect_left(self.cumulative, self.rng.random() * self.cumulative[-1])


def seen(rng: random.Random) -> tuple[str, str]:
    first = 1_735_689_600 + rng.randrange(300 * 86_400)  # 2025
    last = first + rng.randrange(60 * 86_400)
    return (time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(first)), time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(last)))


def generate(directory: Path, pairs: int, hosts: int, rng: random.Random) -> dict[str, Path]:
    """CSV files in PassiveTotal's field names: pairs, resolutions, trackers."""
    files = {name: directory / f"{name}.csv" for name in ("pairs", "resolutions", "trackers")}
    skew = Skew(hosts, rng)
    parents = max(1, pairs // CHILDREN_PER_PARENT)
    causes = ("script.src", "img.src", "iframe.src", "link.href", "xmlhttprequest")
    with files["pairs"].open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["parent", "child", "cause", "firstSeen", "lastSeen"])
        for n in range(parents):  # every host but the top child is a parent (more pairs: subdomains of them)
            rank, round_ = n % (hosts - 1) + 1, n // (hosts - 1)
            parent = host(rank) if round_ == 0 else f"p{round_}.{host(rank)}"
            children = set()
            while len(children) < CHILDREN_PER_PARENT:
                child = skew.draw()
                if child != rank:
                    children.add(child)
            for child in children:
                out.writerow([parent, host(child), causes[child % len(causes)], *seen(rng)])
    ips = Skew(max(1, hosts // 10), rng)
    with files["resolutions"].open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["value", "resolve", "resolveType", "recordType", "firstSeen", "lastSeen"])
        for rank in range(hosts):
            ip = ips.draw()
            out.writerow([host(rank), f"10.{ip >> 16 & 255}.{ip >> 8 & 255}.{ip & 255}", "ip", "A", *seen(rng)])
    values = Skew(max(1, hosts // 20), rng)
    with files["trackers"].open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["hostname", "attributeType", "attributeValue", "firstSeen", "lastSeen"])
        for rank in range(0, hosts, 2):
            out.writerow([host(rank), "GoogleAnalyticsTrackingId", f"UA-{values.draw() + 1000}-1", *seen(rng)])
    return files


def hostpairs(*args: str) -> str:
    result = subprocess.run([sys.executable, "-m", "hostpairs", *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"hostpairs {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout.strip()


def imported(url: str, files: dict[str, Path]) -> dict[str, float]:
    """Import each file with the CLI (`--bulk`: a first import into an empty store); records/s of each."""
    rates = {}
    for name, path in files.items():
        started = time.perf_counter()
        printed = hostpairs("import", str(path), "--bulk", "--db", url)
        records = int(printed.split()[1].replace(",", ""))
        rates[name] = records / (time.perf_counter() - started)
        print(f"    {name}: {printed}", flush=True)
    return rates


def size_per_million_pairs(url: str, pairs: int) -> tuple[float, float]:
    """(MB per million pairs for the host_pairs table with its indexes, MB per million pairs for the whole database)."""
    engine = open_database(url)
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            table = connection.execute(text("SELECT pg_total_relation_size('host_pairs')")).scalar()
            whole = connection.execute(text("SELECT pg_database_size(current_database())")).scalar()
        else:
            table = connection.execute(text(
                "SELECT sum(pgsize) FROM dbstat WHERE name = 'host_pairs' OR name IN "
                "(SELECT name FROM sqlite_schema WHERE tbl_name = 'host_pairs' AND type = 'index')")).scalar()
            whole = Path(url.removeprefix("sqlite:///")).stat().st_size
    engine.dispose()
    return table / pairs, whole / pairs


def queries_of(rng: random.Random, count: int, hosts: int, pairs: int) -> dict[str, list[tuple[str, dict[str, str]]]]:
    """(API path, parameters) of each query kind."""
    values, ips = Skew(max(1, hosts // 20), rng), Skew(max(1, hosts // 10), rng)

    def ip() -> str:
        n = ips.draw()
        return f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"

    parents = "/v2/host-attributes/pairs"
    return {
        KINDS[0]: [(parents, {"query": host(rng.randrange(1, hosts)), "direction": "children"}) for _ in range(count)],
        KINDS[1]: [(parents, {"query": domain(rng.randrange(3, hosts)), "direction": "parents"}) for _ in range(count)],
        KINDS[2]: [(parents, {"query": POPULAR, "direction": "parents"}) for _ in range(count)],
        KINDS[3]: [("/v2/trackers/search", {"query": f"UA-{values.draw() + 1000}-1"}) for _ in range(count)],
        KINDS[4]: [("/v2/dns/passive", {"query": ip()}) for _ in range(count)],
    }


def percentiles(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


def api_answer(session: Session, path: str, params: dict[str, str]) -> Any:
    """What the API's endpoint for `path` answers to `params` (its function called directly)."""
    listed = pt_routes.listing(params.get("page"), params.get("limit"), params.get("start"), params.get("end"))
    if path == "/v2/host-attributes/pairs":
        return pt_routes.host_pairs(session, listed, params["query"], params["direction"])
    if path == "/v2/trackers/search":
        return pt_routes.tracker_search(session, listed, params["query"], params.get("type"), None)
    return pt_routes.passive_dns(session, listed, params["query"])


def in_process(url: str, workload: dict[str, list[tuple[str, dict[str, str]]]]) -> dict[str, list[float]]:
    """Milliseconds of each query as the API computes it (parameters, query, response shape), one
    session per query, kinds interleaved."""
    sessions = session_factory(open_database(url))
    times: dict[str, list[float]] = {kind: [] for kind in workload}
    for batch in zip(*workload.values()):
        for kind, (path, params) in zip(workload, batch):
            started = time.perf_counter()
            with sessions() as session:
                api_answer(session, path, params)
            times[kind].append((time.perf_counter() - started) * 1000)
    return times


def _client(base: str, requests: list[tuple[int, str, str]], threads: int, results: Any) -> None:
    """One client process: its requests, one thread per concurrent client."""
    out: list[tuple[int, float, int]] = []
    lock = threading.Lock()

    def run(mine: list[tuple[int, str, str]]) -> None:
        for index, path, query in mine:
            started = time.perf_counter()
            with urllib.request.urlopen(f"{base}{path}?{query}", timeout=60) as response:
                body = response.read()
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                out.append((index, elapsed, len(json.loads(body).get("results", []))))

    running = [threading.Thread(target=run, args=(requests[n::threads],)) for n in range(threads)]
    for thread in running:
        thread.start()
    for thread in running:
        thread.join()
    results.put(out)


THREADS_PER_PROCESS = 8


def through_http(url: str, workload: dict[str, list[tuple[str, dict[str, str]]]], clients: int) -> tuple[dict[str, list[float]], float]:
    """Milliseconds of each query through `hostpairs serve`, `clients` at a time (processes of
    THREADS_PER_PROCESS threads each), and the requests per second."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "hostpairs", "serve", "--db", url, "--port", str(port),
                               "--rate-limit", "0"], stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{base}/", timeout=1).read()
                break
            except OSError:
                time.sleep(0.1)
        kinds = list(workload)
        requests = [(i * len(kinds) + k, path, urllib.parse.urlencode(params))
                    for i, batch in enumerate(zip(*workload.values())) for k, (path, params) in enumerate(batch)]
        threads = min(THREADS_PER_PROCESS, clients)
        processes = max(1, clients // threads)
        results: Any = multiprocessing.get_context("fork").Queue()
        started = time.perf_counter()
        workers = [multiprocessing.get_context("fork").Process(target=_client,
                                                               args=(base, requests[n::processes], threads, results))
                   for n in range(processes)]
        for worker in workers:
            worker.start()
        measured = [item for _ in workers for item in results.get()]
        for worker in workers:
            worker.join()
        rate = len(measured) / (time.perf_counter() - started)
    finally:
        server.terminate()
        server.wait()
    times: dict[str, list[float]] = {kind: [] for kind in kinds}
    for index, elapsed, _ in measured:
        times[kinds[index % len(kinds)]].append(elapsed)
    return times, rate


def like_ratio(url: str, rng: random.Random, hosts: int, count: int) -> tuple[float, float]:
    """p50 of the leading-wildcard LIKE the range replaced, and of the range, for parents of a domain."""
    engine = open_database(url)
    domains = [domain(rng.randrange(3, hosts)) for _ in range(count)]
    like, ranged = [], []
    with Session(engine) as session:
        for name in domains:
            started = time.perf_counter()
            session.scalars(select(HostPair.parent).where(or_(HostPair.child == name, HostPair.child.like(f"%.{name}")))).all()
            like.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            session.scalars(select(HostPair.parent).where(host_filter(HostPair.child_reversed, name))).all()
            ranged.append((time.perf_counter() - started) * 1000)
    engine.dispose()
    return statistics.median(like), statistics.median(ranged)


def summary_ratio(url: str, ips: list[str]) -> tuple[float, float]:
    """p99 of an IP's total and first/last seen counted from its resolutions (as before
    ip_resolution_summaries), and read from its summary row, over the same IPs."""
    engine = open_database(url)
    counted, summed = [], []
    with Session(engine) as session:
        for ip in ips:
            started = time.perf_counter()
            session.execute(select(func.count(), func.min(Resolution.first_seen), func.max(Resolution.last_seen))
                            .where(Resolution.ip == ip)).one()
            counted.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            session.execute(select(IpResolutionSummary.hostnames, IpResolutionSummary.first_seen,
                                   IpResolutionSummary.last_seen).where(IpResolutionSummary.ip == ip)).one_or_none()
            summed.append((time.perf_counter() - started) * 1000)
    engine.dispose()
    return percentiles(counted)[1], percentiles(summed)[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=10_000_000)
    parser.add_argument("--hosts", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--workdir", type=Path, default=None, help="Where the files and the SQLite database go (default: a temporary directory).")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench-lookup-"))
    workdir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(7)
    started = time.perf_counter()
    files = generate(workdir, args.pairs, args.hosts, rng)
    print(f"generated {args.pairs:,} pairs over {args.hosts:,} hosts in {time.perf_counter() - started:.0f} s "
          f"({files['pairs'].stat().st_size / 1e6:,.0f} MB of CSV)", flush=True)
    workload = queries_of(random.Random(11), args.queries, args.hosts, args.pairs)
    report: dict[str, dict[str, Any]] = {}
    for kind in args.databases.split(","):
        if kind == "sqlite":
            url = f"sqlite:///{workdir / 'bench.db'}"
        else:
            import psycopg

            database = f"bench_lookup_{os.getpid()}"
            with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{database}"')
                admin.execute(f'CREATE DATABASE "{database}"')
            url = POSTGRES_ADMIN.rsplit("/", 1)[0] + f"/{database}"
        print(f"{kind}: importing", flush=True)
        rates = imported(url, files)
        engine = open_database(url)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE" if kind == "postgresql" else "ANALYZE"))
        with Session(engine) as session:
            stored_pairs = session.scalar(text("SELECT count(*) FROM host_pairs"))
            top = session.scalar(text("SELECT count(*) FROM host_pairs WHERE child_reversed >= 'com.googletagmanager.' "
                                      "AND child_reversed < 'com.googletagmanager/'"))
        engine.dispose()
        table_bytes, database_bytes = size_per_million_pairs(url, stored_pairs)
        print(f"  {stored_pairs:,} pairs stored; the top child has {top:,} parents; "
              f"{table_bytes:,.0f} bytes a pair (host_pairs with its indexes), {database_bytes:,.0f} for the whole database",
              flush=True)
        in_process(url, {k: v[:20] for k, v in workload.items()})  # warm the caches
        gc.freeze()  # as `hostpairs serve` does once started
        local = in_process(url, workload)
        alone, _ = through_http(url, {k: v[:200] for k, v in workload.items()}, 1)
        remote, rate = through_http(url, workload, args.clients)
        like, ranged = like_ratio(url, random.Random(3), args.hosts, 10) if kind == "sqlite" else (None, None)
        counted, summed = summary_ratio(url, [parameters["query"] for _, parameters in workload[KINDS[4]]])
        report[kind] = {"rates": rates, "pairs": stored_pairs, "top": top, "bytes": (table_bytes, database_bytes),
                        "local": {k: percentiles(v) for k, v in local.items()},
                        "http": {k: percentiles(v) for k, v in remote.items()}, "rate": rate, "like": (like, ranged),
                        "alone": {k: percentiles(v) for k, v in alone.items()}}
        for name, (p50, p99) in report[kind]["local"].items():
            h50, h99 = report[kind]["http"][name]
            a50, a99 = report[kind]["alone"][name]
            print(f"  {name:>26}: in-process p50 {p50:7.2f} ms p99 {p99:7.2f} ms | HTTP, 1 client p50 {a50:7.2f} ms "
                  f"p99 {a99:7.2f} ms | HTTP, {args.clients} clients p50 {h50:7.2f} ms p99 {h99:7.2f} ms", flush=True)
        print(f"  HTTP: {rate:,.0f} requests/s with {args.clients} clients", flush=True)
        print(f"  an IP's total and first/last seen, p99: counted from its resolutions {counted:.2f} ms, "
              f"read from its summary row {summed:.2f} ms: {counted / summed:,.1f}x", flush=True)
        if like is not None:
            print(f"  parents of a domain, LIKE '%.domain' p50 {like:.1f} ms vs range p50 {ranged:.2f} ms: "
                  f"{like / ranged:,.0f}x", flush=True)
        if kind == "postgresql":
            with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{database}"')
    if len(report) == 2:
        sqlite, postgres = report["sqlite"], report["postgresql"]
        print("ratios PostgreSQL / SQLite:")
        for name in KINDS:
            print(f"  {name:>26}: p50 in-process {postgres['local'][name][0] / sqlite['local'][name][0]:5.2f}x, "
                  f"p99 in-process {postgres['local'][name][1] / sqlite['local'][name][1]:5.2f}x, "
                  f"p99 HTTP {postgres['http'][name][1] / sqlite['http'][name][1]:5.2f}x")
        print(f"  import pairs/s: {postgres['rates']['pairs'] / sqlite['rates']['pairs']:.2f}x; "
              f"bytes a pair: {postgres['bytes'][0] / sqlite['bytes'][0]:.2f}x")
    if args.workdir is None:
        shutil.rmtree(workdir)


if __name__ == "__main__":
    main()
