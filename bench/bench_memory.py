"""Memory of a long browser crawl: pages stored against the memory of the crawler and all its
Chromium processes (proportional set size, crawler/memory.py), sampled every second.

`hostpairs crawl` visits 1,000 generated pages (bench/generated_web.py: 100 sites of 10 pages)
at its default concurrency; the curve is printed every 100 pages (the mean of the samples taken
since the last mark), then the growth between page 100 and the last mark (the goal: 20% or less).

    python bench/bench_memory.py [--pages N] [--dwell S] [--concurrency N] [-- extra crawl options]
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.generated_web import generated_web  # noqa: E402
from hostpairs.crawler.memory import KINDS, tree_memory  # noqa: E402
from hostpairs.demoweb.server import VirtualWeb  # noqa: E402

MB = 2**20


def stored_pages(database: Path) -> int:
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=1) as connection:
            return connection.execute("SELECT count(*) FROM visits").fetchone()[0]
    except sqlite3.Error:
        return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--dwell", type=float, default=1.0)
    parser.add_argument("--concurrency", default=None)
    parser.add_argument("extra", nargs="*", help="More `hostpairs crawl` options (after --).")
    args = parser.parse_args()
    sites, urls = generated_web(sites=-(-args.pages // 10), pages_per_site=10, long_pages=0)
    urls = urls[: args.pages]
    samples: list[tuple[int, dict[str, int]]] = []
    with VirtualWeb(sites) as web, tempfile.TemporaryDirectory() as tmp:
        targets, database = Path(tmp) / "urls.txt", Path(tmp) / "bench.db"
        targets.write_text("\n".join(urls) + "\n")
        command = [sys.executable, "-m", "hostpairs", "crawl", str(targets), "--dwell", str(args.dwell),
                   "--db", f"sqlite:///{database}", "--host-rules", web.host_rules, *args.extra]
        if args.concurrency:
            command += ["--concurrency", args.concurrency]
        started = time.monotonic()
        crawl = subprocess.Popen(command, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        while crawl.poll() is None:
            samples.append((stored_pages(database), tree_memory(crawl.pid)))
            time.sleep(1.0)
        stdout, stderr = crawl.communicate()
        elapsed = time.monotonic() - started
    if crawl.returncode != 0:
        raise SystemExit(f"crawl failed: {(stderr or stdout).strip()[-2000:]}")
    print(f"{args.pages} pages in {elapsed:.0f} s ({args.pages / elapsed * 60:.0f} pages/min): {stdout.strip()}")
    print(f"{'pages':>6} " + " ".join(f"{kind[:10]:>10}" for kind in KINDS) + f" {'total MB':>9}")
    curve: dict[int, float] = {}
    for mark in range(100, args.pages + 1, 100):
        window = [memory for pages, memory in samples if mark - 100 < pages <= mark]
        if not window:
            continue
        means = {kind: statistics.mean(m[kind] for m in window) / MB for kind in KINDS}
        curve[mark] = sum(means.values())
        print(f"{mark:>6} " + " ".join(f"{means[kind]:>10.0f}" for kind in KINDS) + f" {curve[mark]:>9.0f}")
    if 100 in curve and len(curve) > 1:
        last = max(curve)
        print(f"growth from page 100 to page {last}: {(curve[last] / curve[100] - 1) * 100:+.1f}% "
              f"(peak sample {max(sum(m.values()) for _, m in samples) / MB:.0f} MB)")


if __name__ == "__main__":
    main()
