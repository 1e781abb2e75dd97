"""Subdomain look-ups at scale: the reversed-host index range against the leading-wildcard LIKE it
replaced, side by side on one SQLite database of N host pairs (default 1,000,000).

    python bench/bench_lookup.py [--pairs N] [--queries Q]

Children follow a Zipf-like skew over N/10 hosts (a few referenced by most parents); queries ask
for the parents of random registrable domains and their subdomains. Prints p50/p99 of each and
their ratio."""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from hostpairs.storage import queries
from hostpairs.storage.db import open_database, session_factory
from hostpairs.storage.models import HostPair
from hostpairs.storage.writer import upsert_seen

SEEN = datetime(2026, 11, 1)


def host(rank: int) -> str:
    return f"{'cdn' if rank % 3 else 'www'}.site-{rank // 3}.com"


def populate(sessions, pairs: int, rng: random.Random) -> None:  # noqa: ANN001
    hosts = max(pairs // 10, 10)
    weights = [1 / (rank + 1) for rank in range(hosts)]
    for start in range(0, pairs, 50_000):
        count = min(50_000, pairs - start)
        children = rng.choices(range(hosts), weights, k=count)
        rows = {(host(start + i), host(child), "script.src") for i, child in enumerate(children)}
        with sessions.begin() as session:
            for chunk in range(0, len(rows), 5000):
                batch = list(rows)[chunk:chunk + 5000]
                upsert_seen(session, HostPair, ("parent", "child", "cause"),
                            [{"parent": p, "child": c, "cause": k} for p, c, k in batch], SEEN)


def like_parents(session: Session, domain: str) -> list[str]:
    """The look-up as it was: the child itself or LIKE '%.domain'."""
    statement = select(HostPair.parent).where(or_(HostPair.child == domain, HostPair.child.like(f"%.{domain}")))
    return list(session.scalars(statement))


def indexed_parents(session: Session, domain: str) -> list[str]:
    return list(session.scalars(select(HostPair.parent).where(queries.host_filter(HostPair.child_reversed, domain))))


def timed(function, session: Session, domains: list[str]) -> list[float]:  # noqa: ANN001
    times = []
    for domain in domains:
        started = time.perf_counter()
        function(session, domain)
        times.append((time.perf_counter() - started) * 1000)
    return times


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as directory:
        url = f"sqlite:///{Path(directory) / 'bench.db'}"
        engine = open_database(url)
        started = time.perf_counter()
        populate(session_factory(engine), args.pairs, rng)
        print(f"{args.pairs:,} pairs generated in {time.perf_counter() - started:.0f} s")
        domains = [f"site-{rng.randrange(args.pairs // 30)}.com" for _ in range(args.queries)]
        with Session(engine) as session:
            assert all(sorted(like_parents(session, d)) == sorted(indexed_parents(session, d)) for d in domains[:20])
            rounds = {"LIKE '%.domain'": [], "reversed-host range": []}
            for _ in range(2):  # interleaved, so both see the same machine
                rounds["LIKE '%.domain'"] += timed(like_parents, session, domains)
                rounds["reversed-host range"] += timed(indexed_parents, session, domains)
        engine.dispose()
    for name, values in rounds.items():
        print(f"{name:>22}: p50 {statistics.median(values):8.2f} ms  p99 {percentile(values, 0.99):8.2f} ms")
    like, indexed = rounds.values()
    print(f"ratio (LIKE / range), p50: {statistics.median(like) / statistics.median(indexed):.0f}x")


if __name__ == "__main__":
    main()
