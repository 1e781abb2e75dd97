"""Browser mode against static mode: pages per second crawling the same pages, side by side.

Both modes crawl the same set of virtual-web pages (served on loopback, reached through host
rules) through the real `hostpairs crawl` command, alternating, several times; the medians and
their ratio are printed. Browser mode runs with --dwell 0 (no user simulation wait) so the
comparison is of the machinery, not of the dwell time; the default 5 s dwell is printed too.

Run: .venv/bin/python bench/bench_modes.py [--pages N] [--repetitions N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hostpairs.demoweb.server import PIXEL, VirtualWeb, css, html, js  # noqa: E402


def sites(pages: int) -> dict:
    """`pages` shop pages, each with scripts, styles, images and frames on other hosts."""
    page = """<!doctype html><html><head><link rel=stylesheet href="https://cdn-{i}.bench-cdn.net/s.css">
<script src="https://cdn-{i}.bench-cdn.net/app.js"></script></head><body>
<img src="https://img.bench-img.com/{i}.gif"><iframe src="https://ads.bench-ads.org/slot?{i}"></iframe>
<a href="https://partner-{i}.bench-partner.com/">partner</a>{filler}</body></html>"""
    filler = "<p>" + "lorem ipsum " * 200 + "</p>"
    web: dict = {f"shop-{i}.bench-shop.com": {"/": html(page.format(i=i, filler=filler))} for i in range(pages)}
    for i in range(pages):
        web[f"cdn-{i}.bench-cdn.net"] = {"/s.css": css("body{color:#333}"), "/app.js": js("var app = 1;")}
    web["img.bench-img.com"] = {f"/{i}.gif": PIXEL for i in range(pages)}
    web["ads.bench-ads.org"] = {"/slot": html("<p>ad</p>")}
    return web


def crawl_seconds(urls: list[str], host_rules: str, *mode_args: str) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-m", "hostpairs", "crawl", *urls, "--db", f"sqlite:///{tmp}/bench.db",
             "--host-rules", host_rules, *mode_args],
            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True,
        )
        elapsed = time.perf_counter() - started
    if result.returncode != 0 or "errors: 0" not in result.stdout:
        raise SystemExit(f"crawl failed: {result.stderr.strip() or result.stdout.strip()}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=60)
    parser.add_argument("--repetitions", type=int, default=3)
    args = parser.parse_args()
    with VirtualWeb(sites(args.pages)) as web:
        urls = [f"https://shop-{i}.bench-shop.com/" for i in range(args.pages)]
        static, browser = [], []
        for _ in range(args.repetitions):
            static.append(args.pages / crawl_seconds(urls, web.host_rules, "--mode", "static"))
            browser.append(args.pages / crawl_seconds(urls, web.host_rules, "--mode", "browser", "--dwell", "0"))
        with_dwell = args.pages / crawl_seconds(urls, web.host_rules, "--mode", "browser", "--dwell", "5")
    static_median, browser_median = statistics.median(static), statistics.median(browser)
    print(f"{args.pages} pages, {args.repetitions} alternating runs each (whole command, process start included)")
    print(f"static mode:              {static_median:7.2f} pages/s  (runs: {', '.join(f'{v:.2f}' for v in static)})")
    print(f"browser mode, dwell 0 s:  {browser_median:7.2f} pages/s  (runs: {', '.join(f'{v:.2f}' for v in browser)})")
    print(f"browser mode, dwell 5 s:  {with_dwell:7.2f} pages/s  (one run)")
    print(f"static / browser (dwell 0): {static_median / browser_median:.1f}x")
    print(f"static / browser (dwell 5): {static_median / with_dwell:.1f}x")


if __name__ == "__main__":
    main()
