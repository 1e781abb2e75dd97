"""The distributed crawl: `crawl --frontier` queues, `worker` visits, `frontier status` tells."""

from __future__ import annotations

import dataclasses
import json

import typer

from hostpairs.cli.common import DbOption, JsonOption, err, fail, out, sessions_for
from hostpairs.cli.crawling import (
    AlertFileOption,
    AllowPrivateOption,
    ConcurrencyOption,
    DbRetryOption,
    HostRulesOption,
    Mode,
    ModeOption,
    KeepCapturesOption,
    ScreenshotsOption,
    PageTimeoutOption,
    VerboseOption,
    WebhookOption,
    crawl_options,
    print_summary,
)
from hostpairs.crawler import settings as defaults

app = typer.Typer()
frontier_app = typer.Typer(no_args_is_help=True, help="The distributed crawl's Redis frontier.")
FrontierOption = typer.Option(..., "--frontier", help="The frontier: redis://HOST:PORT/DB.")


def opened(url: str):  # noqa: ANN201 (a crawler.frontier.Frontier; redis imported on use)
    """The frontier at `url`, reachable now, or a one-line error."""
    import redis

    from hostpairs.crawler.frontier import Frontier

    try:
        frontier = Frontier(url, defaults.HOSTPAIRS_FRONTIER_LEASE)
        frontier.check()
    except (ValueError, redis.RedisError) as exc:
        fail(f"--frontier: {' '.join(str(exc).split()) or type(exc).__name__}")
    return frontier


def queue_visits(url: str, urls: list[str], groups: list, due_at, options) -> None:  # noqa: ANN001
    """`crawl --frontier`: the targets as one new run's visits, and each seed group (SeedGroup) as a
    run of its own recorded in the database, all with the options that travel (CrawlOptions)."""
    from hostpairs.crawler.frontier import Visit, new_run, travelling
    from hostpairs.crawler.frontier_runs import queue_group_runs

    frontier = opened(url)
    options_of_visits = travelling(options.settings())
    if urls:
        run = new_run()
        queued, _ = frontier.enqueue(Visit(u, run, None, 0, options.depth, options.max_pages, options_of_visits) for u in urls)
        out.print(f"queued {queued} visit{'s' * (queued != 1)} (run {run}) on {url}"
                  + (f"; {len(urls) - queued} given twice" if len(urls) > queued else ""), markup=False)
    if groups:
        for name, queued in queue_group_runs(frontier, sessions_for(options.db), groups, due_at, options_of_visits).items():
            out.print(f"queued {queued} visit{'s' * (queued != 1)} of seed group {name} on {url}", markup=False)


@app.command()
def worker(
    frontier: str = FrontierOption,
    concurrency: str | None = ConcurrencyOption,
    exit_when_idle: float = typer.Option(0.0, "--exit-when-idle", min=0.0, help=(
        "Stop once the frontier has had nothing queued or leased by any worker this many seconds (0: never).")),
    lease: float = typer.Option(defaults.HOSTPAIRS_FRONTIER_LEASE, "--lease", min=2.0, max=3600.0, help=(
        "Seconds a visit stays leased to a worker that stopped renewing it; then another worker takes it over.")),
    db: str | None = DbOption,
    db_retry: float = DbRetryOption,
    dwell: float | None = typer.Option(None, "--dwell", min=0.0, help=(
        "Seconds to stay on each page after load (default: as queued, else 5).")),
    page_timeout: float = PageTimeoutOption,
    load_wait: float | None = typer.Option(None, "--load-wait", min=0.0, help=(
        "Seconds to wait for the load event after DOMContentLoaded (default: as queued, else 10).")),
    page_time: float | None = typer.Option(None, "--page-time", min=0.0, max=3600.0, help=(
        "Seconds of the page's timers to fast-forward after the user simulation (default: as queued, else 0: off).")),
    host_rules: str = HostRulesOption,
    allow_private: bool = AllowPrivateOption,
    mode: Mode = ModeOption,
    alert_file: str | None = AlertFileOption,
    webhook: list[str] = WebhookOption,
    screenshots: bool = ScreenshotsOption,
    keep_captures: bool = KeepCapturesOption,
    verbose: bool = VerboseOption,
) -> None:
    """Visit what the frontier holds and store it; any number of workers share one crawl."""
    from hostpairs.crawler.frontier import TRAVELLING
    from hostpairs.crawler.run import run_crawl

    opened(frontier).close()
    options = crawl_options(db, db_retry, defaults.HOSTPAIRS_DEPTH, defaults.HOSTPAIRS_MAX_PAGES,
                            defaults.HOSTPAIRS_DWELL if dwell is None else dwell, page_timeout,
                            defaults.HOSTPAIRS_LOAD_WAIT if load_wait is None else load_wait,
                            defaults.HOSTPAIRS_PAGE_TIME if page_time is None else page_time, host_rules,
                            allow_private, mode, alert_file, webhook, verbose, concurrency, screenshots,
                            keep_captures)
    own = tuple(name for name, value in zip(TRAVELLING, (dwell, load_wait, page_time), strict=True) if value is not None)
    options = dataclasses.replace(options, frontier=frontier, frontier_lease=lease, exit_when_idle=exit_when_idle,
                                  worker_options=own)
    sessions_for(db)  # fail early on a database that does not connect
    print_summary(run_crawl([], options, err))


@frontier_app.command("status")
def status(frontier: str = FrontierOption, json_: bool = JsonOption) -> None:
    """Queued, leased, done and failed visits, workers alive, pages stored in the last minute."""
    figures = dataclasses.asdict(opened(frontier).status())
    if json_:
        out.print(json.dumps(figures), markup=False)
        return
    out.print("  ".join(f"{name.replace('_', ' ')}: {value}" for name, value in figures.items()), markup=False)
