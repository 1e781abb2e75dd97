"""The demo's story (`hostpairs demo`), told with the commands an analyst would type.

1. a baseline crawl of seeds/example.toml's groups, as `hostpairs watch` runs them when due;
2. the bank's own /js/view.js is tampered with: it now appends a hidden iframe;
3. the next scheduled crawl; 4. the alerts; 5. the pivot from the attacker's domain; 6. the bank
page's script inventory (its group is tagged payment)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from rich.console import Console

import hostpairs.seeds
from hostpairs.demoweb.sites import DEMO_SEEDS, demo_sites, demo_web

DEMO_DATABASE = Path("hostpairs-demo.db")
ALERT_FILE = Path("demo-alerts.jsonl")
SEEDS = Path(hostpairs.seeds.__file__).with_name("example.toml")

_say = Console(stderr=True, highlight=False)


def _hostpairs(*args: str) -> int:
    """Run `hostpairs ARGS` as the analyst would, its output going to ours; its exit status."""
    return subprocess.run([sys.executable, "-m", "hostpairs", *args]).returncode


def tell_story(db: str | None, dwell: float) -> int:
    """Run the demo on `db` (default: a fresh ./hostpairs-demo.db); the exit status."""
    ALERT_FILE.unlink(missing_ok=True)
    if db is None:  # the story starts from nothing every time
        for suffix in ("", "-wal", "-shm"):
            Path(f"{DEMO_DATABASE}{suffix}").unlink(missing_ok=True)
    db_url = db or f"sqlite:///{DEMO_DATABASE}"

    def scheduled_crawl(title: str, rules: str) -> int:
        _say.print(f"[bold]{title}[/]: hostpairs crawl --seeds {SEEDS.name} (what `hostpairs watch` runs when due)")
        return _hostpairs("crawl", "--seeds", str(SEEDS), "--db", db_url, "--dwell", str(dwell),
                          "--host-rules", rules, "--alert-file", str(ALERT_FILE))

    with demo_web(bank_injected=False) as web:
        _say.print(f"demo web: {len(web.sites)} fictional sites on 127.0.0.1:{web.port}, reached with --host-rules")
        if status := scheduled_crawl("1. baseline", web.host_rules):
            return status
        web.sites.update(demo_sites(bank_injected=True))
        _say.print("[bold]2. the bank's /js/view.js is tampered with[/]: it now appends a hidden iframe")
        if status := scheduled_crawl("3. next scheduled crawl", web.host_rules):
            return status
    bank = DEMO_SEEDS[0]
    steps = [
        (f"what {bank} references — `hostpairs lookup www.demo-bank.com`", ("lookup", "www.demo-bank.com")),
        (f"the latest visit of {bank}: its frames and dependencies — `hostpairs visit {bank}`", ("visit", bank)),
        (f"4. the alerts (also in {ALERT_FILE}) — `hostpairs alerts`", ("alerts",)),
        ("5. the pivot: who references misapor-demo.ch — `hostpairs lookup misapor-demo.ch --direction parents`",
         ("lookup", "misapor-demo.ch", "--direction", "parents")),
        (f"6. the payment page's script inventory, each script's versions — `hostpairs scripts {bank}`",
         ("scripts", bank)),
    ]
    for title, args in steps:
        _say.print(f"[bold]{title}[/]")
        if status := _hostpairs(*args, "--db", db_url):
            return status
    _say.print(f"Explore further with --db {db_url}: hostpairs trackers www.demo-bank.com, hostpairs cookies shop-a.com, "
               "hostpairs serve (the API and the web app on http://127.0.0.1:8000/)", soft_wrap=True, markup=False)
    return 0
