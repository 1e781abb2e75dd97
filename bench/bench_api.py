"""The HTTP API under concurrent clients: `hostpairs serve` (uvicorn) on a generated SQLite store,
C clients (default 50) each sending its next request as soon as the last is answered, over
keep-alive connections, for S seconds (default 30); p50/p99/max latency and requests/s, for

- a repeated pairs query (the same question many times: answered from the response cache),
- pairs queries of random hosts with the cache off (every answer a database query),

each against one client alone in the same run, side by side. The clients run in a process of
their own (asyncio, raw HTTP/1.1), on the same machine as the server.

    python bench/bench_api.py [--pairs N] [--hosts H] [--clients C] [--seconds S] [--workers W]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_lookup import POPULAR, generate, host, imported, percentiles  # noqa: E402


async def _client(port: int, paths: list[str], until: float, latencies: list[float]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    index = 0
    while time.perf_counter() < until:
        path = paths[index % len(paths)]
        index += 1
        started = time.perf_counter()
        writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        head = await reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            raise SystemExit(f"{path}: {head.splitlines()[0].decode()}")
        length = int(re.search(rb"content-length: (\d+)", head, re.IGNORECASE).group(1))
        await reader.readexactly(length)
        latencies.append((time.perf_counter() - started) * 1000)
    writer.close()


def _load(port: int, paths: list[str], clients: int, seconds: float, results: multiprocessing.Queue) -> None:
    """The load generator's process: `clients` connections for `seconds`."""
    latencies: list[float] = []

    async def run() -> None:
        until = time.perf_counter() + seconds
        await asyncio.gather(*(_client(port, paths[n:] + paths[:n], until, latencies) for n in range(clients)))

    asyncio.run(run())
    results.put(latencies)


def load(port: int, paths: list[str], clients: int, seconds: float) -> tuple[float, float, float, float]:
    """p50, p99, max (ms) and requests/s of `clients` clients sending `paths` for `seconds`."""
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    process = context.Process(target=_load, args=(port, paths, clients, seconds, results))
    process.start()
    latencies = results.get()
    process.join()
    p50, p99 = percentiles(latencies)
    return p50, p99, max(latencies), len(latencies) / seconds


def serve(db: str, workers: int, cache_seconds: float) -> tuple[subprocess.Popen, int]:
    server = subprocess.Popen([sys.executable, "-m", "hostpairs", "serve", "--db", db, "--port", "0", "--rate-limit", "0",
                               "--cache-seconds", str(cache_seconds), "--workers", str(workers)],
                              cwd=ROOT, stderr=subprocess.PIPE, text=True)
    lines = []
    while not any("startup complete" in line for line in lines):
        lines.append(server.stderr.readline())
        if not lines[-1]:
            raise SystemExit("".join(lines))
    port = int(re.search(r"http://[^/]+:(\d+)/", "".join(lines)).group(1))
    subprocess.Popen(["cat"], stdin=server.stderr, stdout=subprocess.DEVNULL)  # the access log, drained
    return server, port


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=200_000)
    parser.add_argument("--hosts", type=int, default=20_000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        db = f"sqlite:///{tmp}/api.db"
        imported(db, generate(Path(tmp), args.pairs, args.hosts, rng))
        repeated = [f"/v2/host-attributes/pairs?query={host(5)}&direction=parents&limit=100"]
        varied = [f"/v2/host-attributes/pairs?query={host(rng.randrange(1, args.hosts))}&direction=children"
                  for _ in range(5000)]
        print(f"{args.pairs:,} pairs over {args.hosts:,} hosts; {args.workers} server process(es); "
              f"{args.clients} clients for {args.seconds:g} s; the top child is {POPULAR}")
        for label, paths, cache in (("repeated pairs query, cached", repeated, 5.0),
                                    ("pairs of random hosts, no cache", varied, 0.0)):
            server, port = serve(db, args.workers, cache)
            try:
                load(port, paths, 4, 2)  # warm-up
                alone = load(port, paths, 1, args.seconds / 3)
                many = load(port, paths, args.clients, args.seconds)
            finally:
                server.terminate()
                server.wait()
            print(f"  {label:34} 1 client: p50 {alone[0]:6.2f} ms p99 {alone[1]:6.2f} ms max {alone[2]:7.1f} ms "
                  f"{alone[3]:7.0f} req/s | {args.clients} clients: p50 {many[0]:6.2f} ms p99 {many[1]:6.2f} ms "
                  f"max {many[2]:7.1f} ms {many[3]:7.0f} req/s")


if __name__ == "__main__":
    main()
