"""Throughput of `hostpairs crawl` against a bare Playwright loop, side by side in one run.

Both visit the same generated web (bench/generated_web.py: 500 ordinary pages on 50 sites and 20
long articles, served on loopback and reached through host rules) in the same Chromium: the bare
loop opens a fresh context per page, loads it, runs the same user simulation (scroll, mouse, the
same dwell: crawler/browsing.py) and closes the context — no capture, no extraction, no database.
Each runs as a process of its own, timed from its start to its exit. First a sweep of
concurrencies on a sample of the pages picks each one's best; then both crawl every page at their
best, alternating, and the ratio of pages per minute is printed (the goal: 0.90 or more).

    python bench/bench_throughput.py [--dwell S] [--concurrencies 2,4,6] [--sample N] [--repetitions N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.generated_web import generated_web  # noqa: E402
from hostpairs.demoweb.server import VirtualWeb  # noqa: E402


async def bare_loop(urls: list[str], host_rules: str, concurrency: int, dwell: float) -> None:
    """Visit `urls` with `concurrency` pages at once: fresh context, load, user simulation, close."""
    from playwright.async_api import async_playwright

    from hostpairs.crawler import settings
    from hostpairs.crawler.browsing import simulate_user

    queue: asyncio.Queue[str] = asyncio.Queue()
    for url in urls:
        queue.put_nowait(url)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=settings.HOSTPAIRS_CHROMIUM, headless=True, chromium_sandbox=False,
            args=[*settings.HOSTPAIRS_CHROMIUM_ARGS, f"--host-resolver-rules={host_rules}"])

        async def visit_all() -> None:
            while not queue.empty():
                url = queue.get_nowait()
                context = await browser.new_context(ignore_https_errors=True, accept_downloads=False,
                                                    service_workers="block", viewport={"width": 1366, "height": 768},
                                                    user_agent=settings.HOSTPAIRS_USER_AGENT)
                page = await context.new_page()
                await page.goto(url, wait_until="load", timeout=30_000)
                await simulate_user(page, dwell)
                await context.close()

        await asyncio.gather(*(visit_all() for _ in range(concurrency)))
        await browser.close()


def timed(command: list[str]) -> float:
    """Seconds `command` takes, start to exit; a failure stops the benchmark."""
    started = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True,
                            text=True)
    elapsed = time.perf_counter() - started
    if result.returncode != 0 or ("pages:" in result.stdout and "errors: 0" not in result.stdout):
        raise SystemExit(f"{command[2]} failed: {(result.stderr or result.stdout).strip()[-2000:]}")
    return elapsed


def pages_per_minute(kind: str, urls: list[str], host_rules: str, concurrency: int, dwell: float) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        targets = Path(tmp) / "urls.txt"
        targets.write_text("\n".join(urls) + "\n")
        if kind == "hostpairs":
            command = [sys.executable, "-m", "hostpairs", "crawl", str(targets), "--dwell", str(dwell),
                       "--concurrency", str(concurrency), "--db", f"sqlite:///{tmp}/bench.db", "--host-rules", host_rules]
        else:
            command = [sys.executable, __file__, "--bare-loop", str(targets), "--concurrency", str(concurrency),
                       "--dwell", str(dwell), "--host-rules", host_rules]
        return len(urls) / timed(command) * 60


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dwell", type=float, default=1.0)
    parser.add_argument("--concurrencies", default="2,4,6")
    parser.add_argument("--sample", type=int, default=120, help="Pages of the concurrency sweep.")
    parser.add_argument("--repetitions", type=int, default=2, help="Alternating full runs of each (0: the sweep only).")
    parser.add_argument("--bare-loop", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--host-rules", help=argparse.SUPPRESS)
    parser.add_argument("--concurrency", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare_loop:
        asyncio.run(bare_loop(args.bare_loop.read_text().split(), args.host_rules, args.concurrency, args.dwell))
        return
    sites, urls = generated_web()
    sample = urls[:: max(1, len(urls) // args.sample)][: args.sample]
    concurrencies = [int(c) for c in args.concurrencies.split(",")]
    with VirtualWeb(sites) as web:
        print(f"{len(urls)} pages on {len({u.split('/')[2] for u in urls})} sites, dwell {args.dwell:g} s; "
              f"sweep on {len(sample)} pages")
        best: dict[str, int] = {}
        top: dict[str, float] = {}
        for kind in ("bare", "hostpairs"):
            sweep = {c: pages_per_minute(kind, sample, web.host_rules, c, args.dwell) for c in concurrencies}
            best[kind] = max(sweep, key=sweep.get)
            top[kind] = sweep[best[kind]]
            print(f"  {kind:9} " + "  ".join(f"concurrency {c}: {rate:6.1f} pages/min" for c, rate in sweep.items()),
                  flush=True)
        print(f"sweep: hostpairs / bare loop at their best: {top['hostpairs'] / top['bare']:.2f}", flush=True)
        if args.repetitions < 1:
            return
        rates: dict[str, list[float]] = {"bare": [], "hostpairs": []}
        for _ in range(args.repetitions):
            for kind in ("bare", "hostpairs"):
                rates[kind].append(pages_per_minute(kind, urls, web.host_rules, best[kind], args.dwell))
    for kind, runs in rates.items():
        print(f"{kind:9} at concurrency {best[kind]}: {max(runs):6.1f} pages/min "
              f"(runs: {', '.join(f'{r:.1f}' for r in runs)})")
    print(f"hostpairs / bare loop: {max(rates['hostpairs']) / max(rates['bare']):.2f} (best runs), "
          f"{sum(rates['hostpairs']) / sum(rates['bare']):.2f} (all runs)")


if __name__ == "__main__":
    main()
