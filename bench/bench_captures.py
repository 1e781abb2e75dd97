"""What keeping each visit's capture costs, side by side in one run, and what `reprocess` does with it.

`hostpairs crawl` visits a sample of the generated web (bench/generated_web.py) with captures kept
and without (`--no-keep-captures`), alternating; the ratio of pages per minute is printed. Then
the kept captures are measured (compressed bytes: median, 95th percentile, largest; how much
zlib saved) and `hostpairs reprocess` re-derives every visit from them, timed.

    python bench/bench_captures.py [--sample N] [--dwell S] [--concurrency N] [--repetitions N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.generated_web import generated_web  # noqa: E402
from hostpairs.demoweb.server import VirtualWeb  # noqa: E402


def crawl(urls: list[str], db: str, host_rules: str, keep: bool, dwell: float, concurrency: int) -> float:
    """Pages per minute of one crawl into `db`."""
    with tempfile.TemporaryDirectory() as tmp:
        targets = Path(tmp) / "urls.txt"
        targets.write_text("\n".join(urls) + "\n")
        command = [sys.executable, "-m", "hostpairs", "crawl", str(targets), "--dwell", str(dwell), "--concurrency",
                   str(concurrency), "--db", db, "--host-rules", host_rules,
                   "--keep-captures" if keep else "--no-keep-captures"]
        started = time.perf_counter()
        result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
        elapsed = time.perf_counter() - started
    if result.returncode != 0 or "errors: 0" not in result.stdout:
        raise SystemExit(f"crawl failed: {(result.stderr or result.stdout).strip()[-2000:]}")
    return len(urls) / elapsed * 60


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=120)
    parser.add_argument("--dwell", type=float, default=1.0)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--repetitions", type=int, default=2)
    args = parser.parse_args()
    from sqlalchemy import select

    from hostpairs.storage.db import open_database, session_factory
    from hostpairs.storage.models import KeptCapture

    sites, urls = generated_web()
    sample = urls[:: max(1, len(urls) // args.sample)][: args.sample]
    rates: dict[bool, list[float]] = {True: [], False: []}
    with tempfile.TemporaryDirectory() as tmp, VirtualWeb(sites) as web:
        print(f"{len(sample)} pages of the generated web, dwell {args.dwell:g} s, concurrency {args.concurrency}")
        kept_db = f"sqlite:///{tmp}/kept.db"
        for repetition in range(args.repetitions):
            for keep in (True, False):
                db = kept_db if keep and repetition == 0 else f"sqlite:///{tmp}/run-{repetition}-{keep}.db"
                rates[keep].append(crawl(sample, db, web.host_rules, keep, args.dwell, args.concurrency))
                print(f"  {'kept' if keep else 'not kept'}: {rates[keep][-1]:.1f} pages/min", flush=True)
        with session_factory(open_database(kept_db))() as session:
            stored = [(len(data), len(zlib.decompress(data))) for data in session.scalars(select(KeptCapture.data))]
        sizes = sorted(compressed for compressed, _ in stored)
        started = time.perf_counter()
        result = subprocess.run([sys.executable, "-m", "hostpairs", "reprocess", "--db", kept_db], cwd=ROOT,
                                capture_output=True, text=True)
        reprocess = time.perf_counter() - started
    print(f"pages/min kept / not kept: {statistics.mean(rates[True]) / statistics.mean(rates[False]):.2f} "
          f"(kept {', '.join(f'{r:.1f}' for r in rates[True])}; not kept {', '.join(f'{r:.1f}' for r in rates[False])})")
    print(f"kept captures: {len(sizes)}, compressed median {statistics.median(sizes) / 1024:.1f} KB, "
          f"p95 {sizes[int(0.95 * (len(sizes) - 1))] / 1024:.1f} KB, largest {sizes[-1] / 1024:.1f} KB; "
          f"zlib kept {sum(sizes) / sum(raw for _, raw in stored):.0%} of the JSON")
    print(json.dumps({"reprocess_seconds": round(reprocess, 2), "visits": len(sizes),
                      "visits_per_second": round(len(sizes) / reprocess, 1), "output": result.stdout.strip()}))


if __name__ == "__main__":
    main()
